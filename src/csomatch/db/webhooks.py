"""Webhook subscriptions, the publication of outbox events, deliveries and their attempts."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.db.referrals import ReferralScope


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    """A stored webhook subscription (the secret is not part of it)."""

    id: uuid.UUID
    organization_id: uuid.UUID | None
    jurisdiction: str | None
    url: str
    event_types: list[str]
    active: bool
    created_at: dt.datetime


class NewSubscription(msgspec.Struct, frozen=True, kw_only=True):
    """A subscription to store: exactly one owner, an organisation or a jurisdiction."""

    id: uuid.UUID
    organization_id: uuid.UUID | None
    jurisdiction: str | None
    url: str
    event_types: list[str]
    secret: str
    created_by: uuid.UUID | None


class Publication(msgspec.Struct, frozen=True, kw_only=True):
    """What one publication step did: events numbered, deliveries created."""

    events: int
    deliveries: int
    last_seq: int


class DueDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A claimed delivery with what its attempt needs: where, the secret, the event."""

    id: uuid.UUID
    subscription_id: uuid.UUID
    attempts: int
    url: str
    secret: str
    event_id: int
    event_type: str
    object_type: str
    object_id: uuid.UUID
    state: str | None
    occurred_at: dt.datetime


class PublishedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event of the feed, at its position ``seq``: ids, type and state only."""

    seq: int
    id: int
    event_type: str
    object_type: str
    object_id: uuid.UUID
    state: str | None
    occurred_at: dt.datetime


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One logged delivery attempt."""

    attempt: int
    attempted_at: dt.datetime
    duration_ms: int
    status_code: int | None
    error: str | None


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery of one event to one subscription, with its attempts (oldest first)."""

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
    created_at: dt.datetime
    attempt_log: list[Attempt] = []


_SUB_COLUMNS = "id, organization_id, jurisdiction, url, event_types, active, created_at"


async def create_subscription(conn: asyncpg.Connection, new: NewSubscription) -> Subscription:
    """Store a subscription; it receives events written from now on."""
    async with translated():
        row = await conn.fetchrow(
            "INSERT INTO webhook_subscription"
            " (id, organization_id, jurisdiction, url, event_types, secret, created_by)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)"
            f" RETURNING {_SUB_COLUMNS}",
            new.id,
            new.organization_id,
            new.jurisdiction,
            new.url,
            new.event_types,
            new.secret,
            new.created_by,
        )
    return msgspec.convert(row, Subscription, from_attributes=True)


async def get_subscription(conn: asyncpg.Connection, sub_id: uuid.UUID) -> Subscription | None:
    """One subscription, active or not."""
    async with translated():
        row = await conn.fetchrow(
            f"SELECT {_SUB_COLUMNS} FROM webhook_subscription WHERE id = $1", sub_id
        )
    return None if row is None else msgspec.convert(row, Subscription, from_attributes=True)


async def list_subscriptions(
    conn: asyncpg.Connection,
    *,
    organization_id: uuid.UUID | None,
    jurisdiction: str | None,
) -> list[Subscription]:
    """The subscriptions of one owner (an organisation, or a jurisdiction), newest first."""
    async with translated():
        rows = await conn.fetch(
            f"SELECT {_SUB_COLUMNS} FROM webhook_subscription"
            " WHERE organization_id IS NOT DISTINCT FROM $1"
            " AND jurisdiction IS NOT DISTINCT FROM $2"
            " ORDER BY created_at DESC, id",
            organization_id,
            jurisdiction,
        )
    return msgspec.convert(rows, list[Subscription], from_attributes=True)


async def deactivate_subscription(conn: asyncpg.Connection, sub_id: uuid.UUID) -> bool:
    """Stop a subscription (its delivery log stays); False if there is none."""
    async with translated():
        status = await conn.execute(
            "UPDATE webhook_subscription SET active = false WHERE id = $1", sub_id
        )
    return bool(status.endswith(" 1"))


async def publish_pending(conn: asyncpg.Connection, *, now: dt.datetime, limit: int) -> Publication:
    """Number committed, unpublished events in order and create their deliveries.

    One publisher at a time: the publication row is locked with SKIP LOCKED, so another
    process that is publishing makes this call a no-op (``events == 0``). Run inside a
    transaction; the numbering, the deliveries and the new position commit together.
    """
    async with translated():
        # A cheap look first (partial index): locking the publication row writes to it.
        if not await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM outbox_event WHERE published_seq IS NULL)"
        ):
            return Publication(events=0, deliveries=0, last_seq=-1)
        last_seq = await conn.fetchval(
            "SELECT last_seq FROM outbox_publication WHERE id FOR UPDATE SKIP LOCKED"
        )
        if last_seq is None:
            return Publication(events=0, deliveries=0, last_seq=-1)
        rows = await conn.fetch(
            "WITH batch AS ("
            "  SELECT id, $1::bigint + row_number() OVER (ORDER BY id) AS seq FROM ("
            "    SELECT id FROM outbox_event WHERE published_seq IS NULL ORDER BY id LIMIT $2"
            "  ) pending"
            ")"
            " UPDATE outbox_event e SET published_seq = batch.seq FROM batch"
            " WHERE e.id = batch.id RETURNING e.id, e.published_seq",
            last_seq,
            limit,
        )
        if not rows:
            return Publication(events=0, deliveries=0, last_seq=last_seq)
        event_ids = [r["id"] for r in rows]
        new_last = max(r["published_seq"] for r in rows)
        status = await conn.execute(
            "INSERT INTO webhook_delivery (subscription_id, event_id, next_attempt_at)"
            " SELECT s.id, e.id, $2 FROM outbox_event e JOIN webhook_subscription s"
            "   ON s.active AND e.created_at >= s.created_at"
            "  AND (s.organization_id = ANY (e.organization_ids)"
            "       OR s.jurisdiction = ANY (e.jurisdictions)"
            "       OR s.jurisdiction = 'MARRI' AND cardinality(e.jurisdictions) > 0)"
            "  AND (e.event_type = ANY (s.event_types) OR '*' = ANY (s.event_types)"
            "       OR split_part(e.event_type, '.', 1) || '.*' = ANY (s.event_types))"
            " WHERE e.id = ANY ($1::bigint[])"
            " ON CONFLICT ON CONSTRAINT webhook_delivery_once DO NOTHING",
            event_ids,
            now,
        )
        await conn.execute("UPDATE outbox_publication SET last_seq = $1 WHERE id", new_last)
    return Publication(events=len(rows), deliveries=int(status.split()[-1]), last_seq=new_last)


async def claim_due(
    conn: asyncpg.Connection, *, now: dt.datetime, lease_until: dt.datetime, limit: int
) -> list[DueDelivery]:
    """Claim pending deliveries due at ``now`` for an attempt, pushing them to ``lease_until``.

    SKIP LOCKED lets several processes claim at once without taking the same delivery; a
    process that dies mid-attempt leaves its claim to expire at ``lease_until``.
    """
    async with translated():
        rows = await conn.fetch(
            "WITH due AS ("
            "  SELECT d.id FROM webhook_delivery d"
            "  JOIN webhook_subscription s ON s.id = d.subscription_id AND s.active"
            "  WHERE d.status = 'pending' AND d.next_attempt_at <= $1"
            "  ORDER BY d.next_attempt_at, d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED"
            ")"
            " UPDATE webhook_delivery d SET next_attempt_at = $2"
            " FROM due, webhook_subscription s, outbox_event e"
            " WHERE d.id = due.id AND s.id = d.subscription_id AND e.id = d.event_id"
            " RETURNING d.id, d.subscription_id, d.attempts, s.url, s.secret,"
            "  e.id AS event_id, e.event_type, e.object_type, e.object_id, e.state,"
            "  e.created_at AS occurred_at",
            now,
            lease_until,
            limit,
        )
    return msgspec.convert(rows, list[DueDelivery], from_attributes=True)


async def log_attempt(conn: asyncpg.Connection, delivery_id: uuid.UUID, attempt: Attempt) -> None:
    """Append one attempt to a delivery's log."""
    async with translated():
        await conn.execute(
            "INSERT INTO webhook_attempt"
            " (delivery_id, attempt, attempted_at, duration_ms, status_code, error)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            delivery_id,
            attempt.attempt,
            attempt.attempted_at,
            attempt.duration_ms,
            attempt.status_code,
            attempt.error,
        )


async def settle_delivery(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    *,
    attempts: int,
    status: str,
    next_attempt_at: dt.datetime,
    delivered_at: dt.datetime | None,
) -> None:
    """Record a delivery's state after an attempt: delivered, retried later, or failed."""
    async with translated():
        await conn.execute(
            "UPDATE webhook_delivery SET attempts = $2, status = $3, next_attempt_at = $4,"
            " delivered_at = $5 WHERE id = $1",
            delivery_id,
            attempts,
            status,
            next_attempt_at,
            delivered_at,
        )


async def list_deliveries(
    conn: asyncpg.Connection,
    sub_id: uuid.UUID,
    *,
    status: str | None,
    limit: int,
    offset: int,
) -> list[Delivery]:
    """A subscription's deliveries, newest first, each with its attempt log."""
    async with translated():
        rows = await conn.fetch(
            "SELECT d.id, d.event_id, e.event_type, e.object_type, e.object_id, e.state,"
            " d.status, d.attempts,"
            " CASE WHEN d.status = 'pending' THEN d.next_attempt_at END AS next_attempt_at,"
            " d.delivered_at, d.created_at"
            " FROM webhook_delivery d JOIN outbox_event e ON e.id = d.event_id"
            " WHERE d.subscription_id = $1 AND ($2::text IS NULL OR d.status = $2)"
            " ORDER BY d.event_id DESC LIMIT $3 OFFSET $4",
            sub_id,
            status,
            limit,
            offset,
        )
        attempt_rows = await conn.fetch(
            "SELECT delivery_id, attempt, attempted_at, duration_ms, status_code, error"
            " FROM webhook_attempt WHERE delivery_id = ANY ($1::uuid[])"
            " ORDER BY delivery_id, attempt",
            [r["id"] for r in rows],
        )
    log: dict[uuid.UUID, list[Attempt]] = {}
    for r in attempt_rows:
        log.setdefault(r["delivery_id"], []).append(
            msgspec.convert(r, Attempt, from_attributes=True)
        )
    return [
        msgspec.structs.replace(
            msgspec.convert(r, Delivery, from_attributes=True), attempt_log=log.get(r["id"], [])
        )
        for r in rows
    ]


async def last_published_seq(conn: asyncpg.Connection) -> int:
    """The feed position of the newest published event (0 before the first)."""
    async with translated():
        seq: int = await conn.fetchval("SELECT last_seq FROM outbox_publication WHERE id")
    return seq


async def published_events(
    conn: asyncpg.Connection,
    *,
    after_seq: int,
    up_to_seq: int,
    organization_id: uuid.UUID | None,
    jurisdiction: str | None,
    referrals: ReferralScope | None = None,
    limit: int,
) -> list[PublishedEvent]:
    """Published events in feed order after ``after_seq`` (up to ``up_to_seq``) for a reader.

    They are the events that name the organisation, or the jurisdiction (``MARRI``: every
    event with a jurisdiction).

    With ``referrals``, only the events of referrals in that scope (a referral's own events,
    and those of its holds) are kept: an officer hears of the referrals it may read.
    """
    scope = referrals or ReferralScope()
    async with translated():
        rows = await conn.fetch(
            "SELECT published_seq AS seq, id, event_type, object_type, object_id, state,"
            " created_at AS occurred_at FROM outbox_event e"
            " WHERE published_seq > $1 AND published_seq <= $2"
            " AND ($3::uuid IS NOT NULL AND $3 = ANY (organization_ids)"
            "      OR $4::text IS NOT NULL AND ($4 = ANY (jurisdictions)"
            "          OR $4 = 'MARRI' AND cardinality(jurisdictions) > 0))"
            " AND ($6::boolean IS NOT TRUE OR EXISTS (SELECT 1 FROM referral r"
            "   WHERE r.id = CASE e.object_type WHEN 'referral' THEN e.object_id"
            "     WHEN 'hold' THEN (SELECT h.referral_id FROM referral_hold h"
            "                        WHERE h.id = e.object_id) END"
            "   AND ($7::text IS NULL OR r.jurisdiction = $7 OR r.receiving_participant = $7)"
            "   AND ($8::text IS NULL OR r.jurisdiction = $8)"
            "   AND ($9::text IS NULL OR r.agency = $9)"
            "   AND ($10::uuid IS NULL OR r.created_by = $10)))"
            " ORDER BY published_seq LIMIT $5",
            after_seq,
            up_to_seq,
            organization_id,
            jurisdiction,
            limit,
            referrals is not None,
            scope.jurisdiction,
            scope.referring_jurisdiction,
            scope.agency,
            scope.created_by,
        )
    return msgspec.convert(rows, list[PublishedEvent], from_attributes=True)
