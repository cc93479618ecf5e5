"""Webhook subscriptions: who may register, see and stop them.

A provider's subscription belongs to its organisation and hears the events that name that
organisation; a coordinator's or admin's belongs to their jurisdiction and hears the events
of that jurisdiction (``MARRI``: of every participant). Someone else's subscription answers
404, as if it did not exist.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
import uuid

import asyncpg
import msgspec

from csomatch.db import webhooks as wh_db
from csomatch.db.tokens import TokenRecord
from csomatch.errors import Forbidden, InvalidInput, NotFound
from csomatch.notifications.signing import new_secret

#: Roles that may own webhooks.
OWNERS = ("provider", "coordinator", "admin")


class Owner(msgspec.Struct, frozen=True, kw_only=True):
    """Exactly one of the two is set."""

    organization_id: uuid.UUID | None
    jurisdiction: str | None


def owner_of(principal: TokenRecord) -> Owner:
    """The owner the caller's subscriptions belong to."""
    if principal.role == "provider" and principal.organization_id is not None:
        return Owner(organization_id=principal.organization_id, jurisdiction=None)
    if principal.role in ("coordinator", "admin"):
        return Owner(organization_id=None, jurisdiction=principal.jurisdiction)
    raise Forbidden(f"the {principal.role} role cannot own webhooks")


def non_public(address: str) -> bool:
    """Whether an IP address is not on the public internet (loopback, private, link-local
    such as cloud metadata services, multicast, reserved or unspecified)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def check_host(host: str) -> None:
    """Refuse a host that names this machine or a private network by itself (a literal
    address or ``localhost``); a name is checked again, resolved, at every delivery."""
    name = host.rstrip(".").lower()
    literal = True
    try:
        private = non_public(name)
    except ValueError:
        literal = False
        private = name == "localhost" or name.endswith(".localhost")
    if private:
        raise InvalidInput(
            f"url points at {'address' if literal else 'host'} {host}, which is not on the"
            " public internet; webhooks go to public https endpoints"
            " (CSOMATCH_WEBHOOK_ALLOW_PRIVATE is off)",
            field="$.url",
        )


def check_url(url: str, *, allow_http: bool, allow_private: bool = False) -> None:
    """An absolute https URL with a host (http only when the server allows it), on the
    public internet (unless the server allows private addresses)."""
    parsed = urllib.parse.urlsplit(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in schemes or not parsed.hostname:
        raise InvalidInput(
            "url must be an absolute https:// URL"
            + (" (or http://)" if allow_http else " (CSOMATCH_WEBHOOK_ALLOW_HTTP is off)"),
            field="$.url",
        )
    if parsed.username or parsed.password:
        raise InvalidInput(
            "url must not carry a user or password; deliveries are signed instead",
            field="$.url",
        )
    if not allow_private:
        check_host(parsed.hostname)


async def create_subscription(
    conn: asyncpg.Connection,
    principal: TokenRecord,
    *,
    url: str,
    event_types: list[str],
    allow_http: bool,
    allow_private: bool = False,
) -> tuple[wh_db.Subscription, str]:
    """Register a webhook for the caller's organisation or jurisdiction.

    Returns the subscription and its signing secret, which is shown this once.
    """
    check_url(url, allow_http=allow_http, allow_private=allow_private)
    owner = owner_of(principal)
    secret = new_secret()
    sub = await wh_db.create_subscription(
        conn,
        wh_db.NewSubscription(
            id=uuid.uuid4(),
            organization_id=owner.organization_id,
            jurisdiction=owner.jurisdiction,
            url=url,
            event_types=sorted(set(event_types)),
            secret=secret,
            created_by=principal.id,
        ),
    )
    return sub, secret


async def list_subscriptions(
    conn: asyncpg.Connection, principal: TokenRecord
) -> list[wh_db.Subscription]:
    """The caller's organisation's or jurisdiction's subscriptions."""
    owner = owner_of(principal)
    return await wh_db.list_subscriptions(
        conn, organization_id=owner.organization_id, jurisdiction=owner.jurisdiction
    )


async def get_subscription(
    conn: asyncpg.Connection, principal: TokenRecord, sub_id: uuid.UUID
) -> wh_db.Subscription:
    """One of the caller's subscriptions, or NotFound."""
    sub = await wh_db.get_subscription(conn, sub_id)
    owner = owner_of(principal)
    if sub is None or (sub.organization_id, sub.jurisdiction) != (
        owner.organization_id,
        owner.jurisdiction,
    ):
        raise NotFound(f"no webhook subscription {sub_id}")
    return sub


async def deactivate_subscription(
    conn: asyncpg.Connection, principal: TokenRecord, sub_id: uuid.UUID
) -> None:
    """Stop one of the caller's subscriptions; pending deliveries are not attempted."""
    await get_subscription(conn, principal, sub_id)
    await wh_db.deactivate_subscription(conn, sub_id)


async def list_deliveries(
    conn: asyncpg.Connection,
    principal: TokenRecord,
    sub_id: uuid.UUID,
    *,
    status: str | None,
    limit: int,
    offset: int,
) -> list[wh_db.Delivery]:
    """The delivery log of one of the caller's subscriptions, newest event first."""
    await get_subscription(conn, principal, sub_id)
    return await wh_db.list_deliveries(conn, sub_id, status=status, limit=limit, offset=offset)
