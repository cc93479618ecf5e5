"""HTTP routes of notifications: webhook subscriptions and their delivery logs."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import asyncpg
from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta

from csomatch.api.auth import roles
from csomatch.api.schemas import In, Out
from csomatch.db import webhooks as wh_db
from csomatch.db.tokens import TokenRecord
from csomatch.notifications import subscriptions as subs
from csomatch.settings import Settings

Conn = NamedDependency[asyncpg.Connection]
Cfg = NamedDependency[Settings]
Caller = NamedDependency[TokenRecord]

EventTypePattern = Annotated[
    str,
    Meta(
        pattern=r"^([a-z_]+\.([a-z_]+|\*)|\*)$",
        max_length=80,
        description="an event type (referral.offered), all of a kind (referral.*) or *",
    ),
]


class SubscriptionIn(In, frozen=True):
    """A webhook to register: where to POST and which event types."""

    url: Annotated[str, Meta(min_length=8, max_length=2000)]
    event_types: Annotated[list[EventTypePattern], Meta(min_length=1, max_length=50)]


class SubscriptionOut(Out, frozen=True):
    """A webhook subscription; owned by an organisation or by a jurisdiction."""

    id: uuid.UUID
    url: str
    event_types: list[str]
    organization_id: uuid.UUID | None
    jurisdiction: str | None
    active: bool
    created_at: dt.datetime


class SubscriptionCreated(SubscriptionOut, frozen=True):
    """A new subscription with its signing secret: shown this once, store it."""

    secret: str
    signature_header: str


class AttemptOut(Out, frozen=True):
    """One delivery attempt: when, how long, the HTTP status or the transport error."""

    attempt: int
    attempted_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str | None


class DeliveryOut(Out, frozen=True):
    """One event's delivery to the subscription, with every attempt."""

    id: uuid.UUID
    event_id: int
    event_type: str
    object_type: str
    object_id: uuid.UUID
    state: str | None
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    delivered_at: dt.datetime | None
    attempt_log: list[AttemptOut]


def _sub_out(sub: wh_db.Subscription) -> SubscriptionOut:
    return SubscriptionOut(
        id=sub.id,
        url=sub.url,
        event_types=sub.event_types,
        organization_id=sub.organization_id,
        jurisdiction=sub.jurisdiction,
        active=sub.active,
        created_at=sub.created_at,
    )


def _delivery_out(d: wh_db.Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        event_id=d.event_id,
        event_type=d.event_type,
        object_type=d.object_type,
        object_id=d.object_id,
        state=d.state,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        delivered_at=d.delivered_at,
        attempt_log=[
            AttemptOut(
                attempt=a.attempt,
                attempted_at=a.attempted_at,
                duration_ms=a.duration_ms,
                status_code=a.status_code,
                error=a.error,
            )
            for a in d.attempt_log
        ],
    )


@post("/api/v1/webhooks", opt=roles(*subs.OWNERS), status_code=201)
async def create_webhook(
    conn: Conn, settings: Cfg, principal: Caller, data: JSONBody[SubscriptionIn]
) -> SubscriptionCreated:
    """Register a webhook for your organisation (provider) or jurisdiction (coordinator,
    admin). The answer carries the signing secret once (docs/notifications.md)."""
    async with conn.transaction():
        sub, secret = await subs.create_subscription(
            conn,
            principal,
            url=data.url,
            event_types=list(data.event_types),
            allow_http=settings.webhook_allow_http,
        )
    return SubscriptionCreated(
        id=sub.id,
        url=sub.url,
        event_types=sub.event_types,
        organization_id=sub.organization_id,
        jurisdiction=sub.jurisdiction,
        active=sub.active,
        created_at=sub.created_at,
        secret=secret,
        signature_header="X-Csomatch-Signature: t=UNIX_TIME,v1=HEX(HMAC_SHA256(secret, t.body))",
    )


@get("/api/v1/webhooks", opt=roles(*subs.OWNERS))
async def list_webhooks(conn: Conn, principal: Caller) -> list[SubscriptionOut]:
    """Your organisation's or jurisdiction's webhooks (without their secrets)."""
    return [_sub_out(s) for s in await subs.list_subscriptions(conn, principal)]


@get("/api/v1/webhooks/{sub_id:uuid}", opt=roles(*subs.OWNERS))
async def get_webhook(
    conn: Conn, principal: Caller, sub_id: FromPath[uuid.UUID]
) -> SubscriptionOut:
    """One of your webhooks."""
    return _sub_out(await subs.get_subscription(conn, principal, sub_id))


@delete("/api/v1/webhooks/{sub_id:uuid}", opt=roles(*subs.OWNERS), status_code=204)
async def delete_webhook(conn: Conn, principal: Caller, sub_id: FromPath[uuid.UUID]) -> None:
    """Stop one of your webhooks; its delivery log stays readable."""
    async with conn.transaction():
        await subs.deactivate_subscription(conn, principal, sub_id)


@get("/api/v1/webhooks/{sub_id:uuid}/deliveries", opt=roles(*subs.OWNERS))
async def list_webhook_deliveries(
    conn: Conn,
    principal: Caller,
    sub_id: FromPath[uuid.UUID],
    status: Annotated[str | None, QueryParameter(pattern=r"^(pending|delivered|failed)$")] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
) -> list[DeliveryOut]:
    """The delivery log of one of your webhooks, newest event first: every attempt with its
    time, duration, HTTP status or error."""
    deliveries = await subs.list_deliveries(
        conn, principal, sub_id, status=status, limit=limit, offset=offset
    )
    return [_delivery_out(d) for d in deliveries]


NOTIFICATION_ROUTES = [
    create_webhook,
    list_webhooks,
    get_webhook,
    delete_webhook,
    list_webhook_deliveries,
]
