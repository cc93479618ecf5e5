"""HTTP routes of notifications: webhook subscriptions, their delivery logs, the event feed.

Web pages read the event feed by polling or as server-sent events.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import ServerSentEvent
from litestar.response.sse import ServerSentEventMessage
from msgspec import Meta

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Cfg, Conn
from csomatch.api.idempotency import idempotent
from csomatch.api.schemas.registry import In, Out
from csomatch.db.pool import Pool
from csomatch.domain import Principal
from csomatch.errors import CsomatchError, InvalidInput
from csomatch.i18n import _
from csomatch.notifications import subscriptions as subs
from csomatch.notifications.dispatch import connection
from csomatch.notifications.feed import READERS, read_feed
from csomatch.notifications.targets import Resolver

Names = NamedDependency[Resolver]

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


@post("/api/v1/webhooks", opt=roles(*subs.OWNERS), status_code=201)
async def create_webhook(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    resolver: Names,
    data: JSONBody[SubscriptionIn],
) -> Response[SubscriptionCreated]:
    """Register a webhook for your organisation (provider) or jurisdiction (coordinator, admin).

    The answer carries the signing secret once (docs/notifications.md); a retry with the same
    Idempotency-Key gets the same answer and registers nothing more.
    """

    async def run() -> SubscriptionCreated:
        async with conn.transaction():
            sub, secret = await subs.create_subscription(
                conn,
                principal,
                url=data.url,
                event_types=list(data.event_types),
                allow_http=settings.webhook_allow_http,
                allow_private=settings.webhook_allow_private,
                resolver=resolver,
                timeout_s=settings.webhook_timeout_s,
            )
        shown = msgspec.convert(sub, SubscriptionOut, from_attributes=True)
        return SubscriptionCreated(
            **msgspec.structs.asdict(shown),
            secret=secret,
            signature_header=(
                "X-Csomatch-Signature: t=UNIX_TIME,v1=HEX(HMAC_SHA256(secret, t.body))"
            ),
        )

    return await idempotent(request, conn, principal, run, status_code=201, required=False)


@get("/api/v1/webhooks", opt=roles(*subs.OWNERS))
async def list_webhooks(conn: Conn, principal: Caller) -> list[SubscriptionOut]:
    """Your organisation's or jurisdiction's webhooks (without their secrets)."""
    found = await subs.list_subscriptions(conn, principal)
    return [msgspec.convert(s, SubscriptionOut, from_attributes=True) for s in found]


@get("/api/v1/webhooks/{sub_id:uuid}", opt=roles(*subs.OWNERS))
async def get_webhook(
    conn: Conn, principal: Caller, sub_id: FromPath[uuid.UUID]
) -> SubscriptionOut:
    """One of your webhooks."""
    sub = await subs.get_subscription(conn, principal, sub_id)
    return msgspec.convert(sub, SubscriptionOut, from_attributes=True)


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
    """The delivery log of one of your webhooks, newest event first.

    Every attempt is listed with its time, duration, HTTP status or error.
    """
    deliveries = await subs.list_deliveries(
        conn, principal, sub_id, status=status, limit=limit, offset=offset
    )
    return [msgspec.convert(d, DeliveryOut, from_attributes=True) for d in deliveries]


class EventOut(Out, frozen=True, rename={"event_type": "type"}):
    """One event: its feed position, ids, type and state. Never person data."""

    seq: int
    id: int
    #: Sent as ``type``.
    event_type: str
    object_type: str
    object_id: uuid.UUID
    state: str | None
    occurred_at: dt.datetime


class EventPage(Out, frozen=True):
    """Events after a position, oldest first, and the ``after`` to poll with next."""

    events: list[EventOut]
    next_after: int


After = Annotated[
    int | None,
    QueryParameter(
        ge=0,
        le=2**62,
        description="a feed position (seq or next_after); omitted: from now on",
    ),
]
#: A stream ends after this long; the client reconnects with Last-Event-ID (and its token
#: is checked again).
STREAM_MAX_S = 900.0
STREAM_PING_S = 15.0
STREAM_BATCH = 200


@get("/api/v1/events", opt=roles(*READERS))
async def list_events(
    conn: Conn,
    principal: Caller,
    after: After = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
) -> EventPage:
    """The events you may see after position ``after``, oldest first.

    Poll again with ``after=next_after``. Without ``after``: none yet, and the position of now.
    """
    page = await read_feed(conn, principal, after=after, limit=limit)
    return msgspec.convert(page, EventPage, from_attributes=True)


def _last_event_id(request: Request[Any, Any, Any], after: int | None) -> int | None:
    raw = request.headers.get("last-event-id")
    if raw is None or raw.strip() == "":
        return after
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(
            _("Last-Event-ID must be an event's seq"), field="Last-Event-ID"
        ) from None
    if value < 0:
        raise InvalidInput(_("Last-Event-ID must be an event's seq"), field="Last-Event-ID")
    return value


async def _event_stream(
    pool: Pool, principal: Principal, after: int | None, poll_s: float
) -> AsyncIterator[ServerSentEventMessage]:
    deadline = time.monotonic() + STREAM_MAX_S
    last_sent = time.monotonic()
    yield ServerSentEventMessage(data=None, comment="csomatch events", retry=3000)
    while time.monotonic() < deadline:
        events: list[EventOut] = []
        try:
            async with connection(pool) as conn:
                page = await read_feed(conn, principal, after=after, limit=STREAM_BATCH)
            events = msgspec.convert(page.events, list[EventOut], from_attributes=True)
            after = page.next_after
        except (CsomatchError, OSError, TimeoutError, asyncpg.PostgresError) as exc:
            yield ServerSentEventMessage(
                data=None, comment=f"waiting for the database ({type(exc).__name__})"
            )
        for e in events:
            yield ServerSentEventMessage(
                id=e.seq, event=e.event_type, data=msgspec.json.encode(e).decode()
            )
            last_sent = time.monotonic()
        if not events and time.monotonic() - last_sent >= STREAM_PING_S:
            yield ServerSentEventMessage(data=None, comment="ping")
            last_sent = time.monotonic()
        if len(events) < STREAM_BATCH:
            await asyncio.sleep(poll_s)


# Not in the OpenAPI document: a stream that never ends is not an operation a schema-driven
# client or fuzzer can call; docs/notifications.md describes it.
@get("/api/v1/events/stream", opt=roles(*READERS), include_in_schema=False)
async def stream_events(
    request: Request[Any, Any, Any],
    settings: Cfg,
    principal: Caller,
    after: After = None,
) -> ServerSentEvent:
    """Server-sent events: each event you may see as it happens (``id:`` is its seq).

    Resume with ``Last-Event-ID`` or ``?after=``; the stream ends after 15 minutes.
    """
    start = _last_event_id(request, after)
    return ServerSentEvent(
        _event_stream(request.app.state.pool, principal, start, settings.events_poll_s),
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


NOTIFICATION_ROUTES = [
    list_events,
    stream_events,
    create_webhook,
    list_webhooks,
    get_webhook,
    delete_webhook,
    list_webhook_deliveries,
]
