"""The dispatcher: publish outbox events, then deliver due webhooks with retries.

``dispatch_once`` is one round (what the background task repeats and tests call):

1. **publish**: number the committed, unpublished outbox events in order and create one
   delivery per matching subscription (once: a unique constraint);
2. **deliver**: claim due deliveries (``FOR UPDATE SKIP LOCKED``, so several server processes
   share the work without sending one delivery twice at a time), POST each signed payload,
   log the attempt, and mark it delivered, schedule a retry with exponential backoff, or give
   up after the last attempt.

Delivery is at least once: a process that dies after the receiver answered but before the
result was written retries later. Receivers drop duplicates by ``delivery_id``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
import msgspec

from csomatch.db import webhooks as wh_db
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.pool import Pool
from csomatch.errors import CsomatchError, InvalidInput
from csomatch.notifications.signing import SIGNATURE_HEADER, sign
from csomatch.notifications.targets import Refused, Resolver, checked_addresses, parse_target
from csomatch.settings import Settings

log = logging.getLogger(__name__)

USER_AGENT = "csomatch-webhooks/0.1"
#: How many of a name's addresses one attempt tries (each may take ``timeout_s``).
MAX_ADDRESSES = 2


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """How often and how long to try: the n-th retry waits ``base * 2**(n-1)``, capped."""

    max_attempts: int = 8
    backoff_s: float = 30.0
    backoff_max_s: float = 3600.0
    timeout_s: float = 10.0
    batch: int = 20
    #: Call URLs whose host is, or resolves to, an address not on the public internet.
    allow_private: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy of the ``CSOMATCH_WEBHOOK_*`` settings."""
        return cls(
            max_attempts=settings.webhook_max_attempts,
            backoff_s=settings.webhook_backoff_s,
            backoff_max_s=settings.webhook_backoff_max_s,
            timeout_s=settings.webhook_timeout_s,
            allow_private=settings.webhook_allow_private,
        )

    def delay_after(self, attempts: int) -> dt.timedelta:
        """The wait before the next attempt once ``attempts`` attempts have failed."""
        return dt.timedelta(seconds=min(self.backoff_s * 2 ** (attempts - 1), self.backoff_max_s))

    @property
    def lease(self) -> dt.timedelta:
        """How long a claimed delivery is reserved for the process attempting it.

        Long enough to resolve the name and try up to ``MAX_ADDRESSES`` of its addresses,
        and a margin.
        """
        return dt.timedelta(seconds=self.timeout_s * (MAX_ADDRESSES + 1) + 30)


class EventPayload(msgspec.Struct, frozen=True, kw_only=True):
    """The event in a webhook body: ids, type and state, never person data."""

    id: int
    type: str
    object_type: str
    object_id: uuid.UUID
    state: str | None
    occurred_at: dt.datetime


class WebhookPayload(msgspec.Struct, frozen=True, kw_only=True):
    """The JSON body of every delivery."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    attempt: int
    event: EventPayload


class DispatchReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one round did."""

    published: int = 0
    deliveries_created: int = 0
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@asynccontextmanager
async def connection(pool: Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection, typed as the connection the ``db`` functions take."""
    async with pool.acquire() as proxy:
        yield proxy  # type: ignore[misc]


def payload_of(due: wh_db.DueDelivery) -> bytes:
    """The body of the next attempt of a delivery."""
    return msgspec.json.encode(
        WebhookPayload(
            delivery_id=due.id,
            subscription_id=due.subscription_id,
            attempt=due.attempts + 1,
            event=EventPayload(
                id=due.event_id,
                type=due.event_type,
                object_type=due.object_type,
                object_id=due.object_id,
                state=due.state,
                occurred_at=due.occurred_at,
            ),
        )
    )


async def publish(pool: Pool, *, now: dt.datetime, limit: int = 500) -> wh_db.Publication:
    """Publish up to ``limit`` pending outbox events (a no-op while another process does)."""
    async with connection(pool) as conn, conn.transaction():
        return await wh_db.publish_pending(conn, now=now, limit=limit)


async def _post(
    client: httpx.AsyncClient,
    due: wh_db.DueDelivery,
    policy: RetryPolicy,
    now: int,
    resolver: Resolver,
) -> tuple[int | None, str | None]:
    try:
        target = parse_target(due.url)
    except InvalidInput as exc:
        return None, f"refused: {exc.detail}"
    try:
        addresses = await checked_addresses(
            target, resolver, allow_private=policy.allow_private, timeout_s=policy.timeout_s
        )
    except Refused as exc:
        return None, f"refused: {exc.reason}"
    except OSError as exc:
        return None, f"DNS: {target.host} did not resolve ({type(exc).__name__}: {exc})"[:500]
    body = payload_of(due)
    headers = {
        "Host": target.host_header(),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Csomatch-Event": due.event_type,
        "X-Csomatch-Delivery": str(due.id),
        SIGNATURE_HEADER: sign(due.secret, now, body),
    }
    error = "no address"
    # The checked addresses only, never the name again: a second DNS answer could differ.
    for ip in addresses[:MAX_ADDRESSES]:
        try:
            # Streamed so that a receiver's response body is never read or stored.
            async with client.stream(
                "POST",
                target.url_at(ip),
                content=body,
                headers=headers,
                timeout=policy.timeout_s,
                extensions=target.extensions(),
            ) as response:
                status = response.status_code
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            error = _transport_error(exc)
            continue  # the name's next address
        except httpx.HTTPError as exc:
            return None, _transport_error(exc)
        return status, None if 200 <= status < 300 else f"HTTP {status}"
    return None, error


def _transport_error(exc: httpx.HTTPError) -> str:
    return f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__


async def _attempt(
    pool: Pool,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    due: wh_db.DueDelivery,
    now: dt.datetime,
    resolver: Resolver,
) -> str:
    started = time.monotonic()
    status_code, error = await _post(client, due, policy, int(now.timestamp()), resolver)
    duration_ms = int((time.monotonic() - started) * 1000)
    attempts = due.attempts + 1
    if error is None:
        outcome, next_at, delivered_at = "delivered", now, now
    elif attempts >= policy.max_attempts:
        outcome, next_at, delivered_at = "failed", now, None
    else:
        outcome, next_at, delivered_at = "pending", now + policy.delay_after(attempts), None
    log.info(
        "webhook delivery %s attempt %d: %s (%s)",
        due.id,
        attempts,
        outcome,
        status_code if error is None else error,
    )
    async with connection(pool) as conn, conn.transaction():
        await wh_db.log_attempt(
            conn,
            due.id,
            wh_db.Attempt(
                attempt=attempts,
                attempted_at=now,
                duration_ms=duration_ms,
                status_code=status_code,
                error=error,
            ),
        )
        await wh_db.settle_delivery(
            conn,
            due.id,
            attempts=attempts,
            status=outcome,
            next_attempt_at=next_at,
            delivered_at=delivered_at,
        )
    return outcome


async def deliver_due(
    pool: Pool,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    *,
    now: dt.datetime,
    resolver: Resolver | None = None,
) -> list[str]:
    """Attempt up to ``policy.batch`` due deliveries at once; return each outcome.

    Each URL's host is resolved once by ``resolver`` (default: the system's), checked, and
    connected to by address (``csomatch.notifications.targets``).
    """
    names = resolver or Resolver()
    async with connection(pool) as conn:
        claimed = await wh_db.claim_due(
            conn, now=now, lease_until=now + policy.lease, limit=policy.batch
        )
    return list(
        await asyncio.gather(*(_attempt(pool, client, policy, due, now, names) for due in claimed))
    )


async def dispatch_once(
    pool: Pool,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    *,
    now: dt.datetime | None = None,
    resolver: Resolver | None = None,
) -> DispatchReport:
    """One round: publish pending events, then attempt the deliveries due at ``now``."""
    at = now or dt.datetime.now(dt.UTC)
    published = await publish(pool, now=at)
    outcomes = await deliver_due(pool, client, policy, now=at, resolver=resolver)
    return DispatchReport(
        published=published.events,
        deliveries_created=published.deliveries,
        attempted=len(outcomes),
        delivered=outcomes.count("delivered"),
        retrying=outcomes.count("pending"),
        failed=outcomes.count("failed"),
    )


async def run_dispatcher(
    pool: Pool,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    interval_s: float,
    resolver: Resolver | None = None,
) -> None:
    """Repeat ``dispatch_once`` until cancelled; a database outage only delays it."""
    while True:
        busy = False
        try:
            report = await dispatch_once(pool, client, policy, resolver=resolver)
            busy = report.attempted >= policy.batch
        except (*CONNECTION_ERRORS, CsomatchError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("webhook dispatcher: %s; trying again shortly", type(exc).__name__)
        if not busy:
            await asyncio.sleep(interval_s)
