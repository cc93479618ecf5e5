"""Webhook subscriptions: who may register, see and stop them.

A provider's subscription belongs to its organisation and hears the events that name that
organisation; a coordinator's or admin's belongs to their jurisdiction and hears the events
of that jurisdiction (``MARRI``: of every participant). Someone else's subscription answers
404, as if it did not exist.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Final

import asyncpg
import msgspec

from csomatch.db import webhooks as wh_db
from csomatch.domain import COORDINATING, Principal, Role
from csomatch.errors import Forbidden, NotFound
from csomatch.i18n import _
from csomatch.notifications.signing import new_secret
from csomatch.notifications.targets import Resolver, checked_addresses, parse_target

#: Roles that may own webhooks.
OWNERS: Final[tuple[Role, ...]] = ("provider", *COORDINATING)


class Owner(msgspec.Struct, frozen=True, kw_only=True):
    """Exactly one of the two is set."""

    organization_id: uuid.UUID | None
    jurisdiction: str | None


def owner_of(principal: Principal) -> Owner:
    """The owner the caller's subscriptions belong to."""
    if principal.role == "provider" and principal.organization_id is not None:
        return Owner(organization_id=principal.organization_id, jurisdiction=None)
    if principal.is_coordinating():
        return Owner(organization_id=None, jurisdiction=principal.jurisdiction)
    raise Forbidden(_("the {role} role cannot own webhooks", role=principal.role))


async def check_target(
    url: str, *, allow_http: bool, allow_private: bool, resolver: Resolver, timeout_s: float
) -> None:
    """Refuse (InvalidInput on ``$.url``) a URL that is not absolute https on the public internet.

    http is accepted only when the server allows it, and private addresses only when the
    server allows them. Checked are its host, written as an address or a name, and every
    address the name resolves to now. A name that does not resolve yet is accepted; every
    delivery resolves and checks it again.
    """
    target = parse_target(url, allow_http=allow_http)
    if allow_private:
        return
    with contextlib.suppress(OSError):
        await checked_addresses(target, resolver, allow_private=False, timeout_s=timeout_s)


async def create_subscription(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    url: str,
    event_types: list[str],
    allow_http: bool,
    allow_private: bool = False,
    resolver: Resolver | None = None,
    timeout_s: float = 10.0,
) -> tuple[wh_db.Subscription, str]:
    """Register a webhook for the caller's organisation or jurisdiction.

    Returns the subscription and its signing secret, which is shown this once.
    """
    owner = owner_of(principal)
    await check_target(
        url,
        allow_http=allow_http,
        allow_private=allow_private,
        resolver=resolver or Resolver(),
        timeout_s=timeout_s,
    )
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
    conn: asyncpg.Connection, principal: Principal
) -> list[wh_db.Subscription]:
    """The caller's organisation's or jurisdiction's subscriptions."""
    owner = owner_of(principal)
    return await wh_db.list_subscriptions(
        conn, organization_id=owner.organization_id, jurisdiction=owner.jurisdiction
    )


async def get_subscription(
    conn: asyncpg.Connection, principal: Principal, sub_id: uuid.UUID
) -> wh_db.Subscription:
    """One of the caller's subscriptions, or NotFound."""
    sub = await wh_db.get_subscription(conn, sub_id)
    owner = owner_of(principal)
    if sub is None or (sub.organization_id, sub.jurisdiction) != (
        owner.organization_id,
        owner.jurisdiction,
    ):
        raise NotFound(_("no webhook subscription {sub_id}", sub_id=sub_id))
    return sub


async def deactivate_subscription(
    conn: asyncpg.Connection, principal: Principal, sub_id: uuid.UUID
) -> None:
    """Stop one of the caller's subscriptions; pending deliveries are not attempted."""
    await get_subscription(conn, principal, sub_id)
    await wh_db.deactivate_subscription(conn, sub_id)


async def list_deliveries(
    conn: asyncpg.Connection,
    principal: Principal,
    sub_id: uuid.UUID,
    *,
    status: str | None,
    limit: int,
    offset: int,
) -> list[wh_db.Delivery]:
    """The delivery log of one of the caller's subscriptions, newest event first."""
    await get_subscription(conn, principal, sub_id)
    return await wh_db.list_deliveries(conn, sub_id, status=status, limit=limit, offset=offset)
