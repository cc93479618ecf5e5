"""Holds on service capacity: each is an offer to the provider, with an expiry.

The database keeps ``service_capacity.held`` equal to the places of live holds (held and not
expired, or accepted) and refuses any write that would make it exceed ``available``; see
migration 0010 and docs/referrals.md. The functions here lock rows in one order — the
referral, then the capacity row — so that concurrent requests cannot deadlock.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated

LIVE = "(h.status = 'accepted' OR (h.status = 'held' AND h.expires_at > now()))"


class CapacityNow(msgspec.Struct, frozen=True, kw_only=True):
    """A service's capacity at this moment, counting only live holds."""

    service_id: uuid.UUID
    available: int
    held: int
    updated_at: dt.datetime

    @property
    def free(self) -> int:
        """Places that can be held now."""
        return self.available - self.held


class Hold(msgspec.Struct, frozen=True, kw_only=True):
    """A hold on a service's capacity for a referral: the offer to its provider."""

    id: uuid.UUID
    referral_id: uuid.UUID
    service_id: uuid.UUID
    organization_id: uuid.UUID
    places: int
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    answered_at: dt.datetime | None
    decline_reason: str | None
    answered_by_role: str | None
    answered_by_agency: str | None
    escalated_at: dt.datetime | None


class NewHold(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a hold to insert."""

    id: uuid.UUID
    referral_id: uuid.UUID
    service_id: uuid.UUID
    organization_id: uuid.UUID
    places: int
    expires_at: dt.datetime


_COLUMNS = (
    "h.id, h.referral_id, h.service_id, h.organization_id, h.places, h.status, h.created_at,"
    " h.expires_at, h.answered_at, h.decline_reason, h.answered_by_role, h.answered_by_agency,"
    " h.escalated_at"
)


async def lock_capacity(conn: asyncpg.Connection, service_id: uuid.UUID) -> CapacityNow | None:
    """Lock a service's capacity row and read it, counting only live holds.

    Two statements on purpose: under READ COMMITTED a statement that waited for the lock
    still sees the other rows (the holds) as of its start; the second statement takes a
    snapshot after the lock and so sees every hold committed before it.
    """
    async with translated():
        found = await conn.fetchval(
            "SELECT true FROM service_capacity WHERE service_id = $1 FOR UPDATE", service_id
        )
        if not found:
            return None
    return await capacity_now(conn, service_id)


async def capacity_now(conn: asyncpg.Connection, service_id: uuid.UUID) -> CapacityNow | None:
    """A service's capacity, counting only live holds (no lock)."""
    async with translated():
        row = await conn.fetchrow(
            "SELECT service_id, available, live_held_places(service_id) AS held, updated_at"
            " FROM service_capacity WHERE service_id = $1",
            service_id,
        )
    return None if row is None else msgspec.convert(row, CapacityNow, from_attributes=True)


async def insert_hold(conn: asyncpg.Connection, new: NewHold) -> Hold:
    """Insert a hold; the database refuses it (``capacity_counts``) if places are short."""
    async with translated():
        row = await conn.fetchrow(
            "INSERT INTO referral_hold AS h"
            " (id, referral_id, service_id, organization_id, places, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING " + _COLUMNS,
            new.id, new.referral_id, new.service_id, new.organization_id, new.places,
            new.expires_at,
        )  # fmt: skip
    return msgspec.convert(row, Hold, from_attributes=True)


async def get_hold(
    conn: asyncpg.Connection, hold_id: uuid.UUID, *, for_update: bool = False
) -> Hold | None:
    """One hold; ``for_update`` locks it."""
    sql = "SELECT " + _COLUMNS + " FROM referral_hold h WHERE h.id = $1"
    async with translated():
        row = await conn.fetchrow(sql + (" FOR UPDATE" if for_update else ""), hold_id)
    return None if row is None else msgspec.convert(row, Hold, from_attributes=True)


async def open_hold_of(conn: asyncpg.Connection, referral_id: uuid.UUID) -> Hold | None:
    """The referral's open offer (held or accepted), if any, locked."""
    async with translated():
        row = await conn.fetchrow(
            "SELECT " + _COLUMNS + " FROM referral_hold h WHERE h.referral_id = $1"
            " AND h.status IN ('held', 'accepted') FOR UPDATE",
            referral_id,
        )
    return None if row is None else msgspec.convert(row, Hold, from_attributes=True)


async def holds_of(conn: asyncpg.Connection, referral_id: uuid.UUID) -> list[Hold]:
    """Every hold of a referral, oldest first."""
    async with translated():
        rows = await conn.fetch(
            "SELECT " + _COLUMNS + " FROM referral_hold h WHERE h.referral_id = $1"
            " ORDER BY h.created_at, h.id",
            referral_id,
        )
    return msgspec.convert(rows, list[Hold], from_attributes=True)


async def answer_hold(
    conn: asyncpg.Connection,
    hold_id: uuid.UUID,
    *,
    status: str,
    role: str | None,
    agency: str | None,
    decline_reason: str | None = None,
) -> Hold:
    """Set a hold's status as an answer (accepted, declined, released, confirmed)."""
    async with translated():
        row = await conn.fetchrow(
            "UPDATE referral_hold h SET status = $2, decline_reason = $3,"
            " answered_at = CASE WHEN $2 IN ('accepted', 'declined') THEN now()"
            "   ELSE h.answered_at END,"
            " answered_by_role = coalesce($4, h.answered_by_role),"
            " answered_by_agency = coalesce($5, h.answered_by_agency)"
            " WHERE h.id = $1 RETURNING " + _COLUMNS,
            hold_id,
            status,
            decline_reason,
            role,
            agency,
        )
    return msgspec.convert(row, Hold, from_attributes=True)


async def expire_hold(conn: asyncpg.Connection, hold_id: uuid.UUID) -> Hold | None:
    """Mark a held offer past its expiry as expired and escalated; None if it is not."""
    async with translated():
        row = await conn.fetchrow(
            "UPDATE referral_hold h SET status = 'expired', escalated_at = now()"
            " WHERE h.id = $1 AND h.status = 'held' AND h.expires_at <= now()"
            " RETURNING " + _COLUMNS,
            hold_id,
        )
    return None if row is None else msgspec.convert(row, Hold, from_attributes=True)


async def due_holds(
    conn: asyncpg.Connection, limit: int = 100
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(hold, referral) ids of held offers past their expiry, oldest first."""
    async with translated():
        rows = await conn.fetch(
            "SELECT id, referral_id FROM referral_hold WHERE status = 'held'"
            " AND expires_at <= now() ORDER BY expires_at LIMIT $1",
            limit,
        )
    return [(r["id"], r["referral_id"]) for r in rows]


async def consume_places(conn: asyncpg.Connection, service_id: uuid.UUID, places: int) -> None:
    """Take confirmed places out of ``available`` (the hold must no longer count as held)."""
    async with translated():
        await conn.execute(
            "UPDATE service_capacity SET available = available - $2 WHERE service_id = $1",
            service_id,
            places,
        )


async def request_capacity_update(
    conn: asyncpg.Connection, service_id: uuid.UUID, *, stale_before: dt.datetime
) -> None:
    """Ask for a new capacity number: the current one is made stale (unknown, never free)."""
    async with translated():
        await conn.execute(
            "UPDATE service_capacity SET update_requested_at = now(),"
            " updated_at = least(updated_at, $2) WHERE service_id = $1",
            service_id,
            stale_before,
        )


async def offers_for_org(
    conn: asyncpg.Connection,
    organization_id: uuid.UUID,
    *,
    statuses: list[str],
    limit: int,
    offset: int,
) -> list[Hold]:
    """A provider organisation's offers with these statuses, newest first."""
    async with translated():
        rows = await conn.fetch(
            "SELECT " + _COLUMNS + " FROM referral_hold h WHERE h.organization_id = $1"
            " AND h.status = ANY($2::text[]) ORDER BY h.created_at DESC, h.id LIMIT $3 OFFSET $4",
            organization_id,
            statuses,
            limit,
            offset,
        )
    return msgspec.convert(rows, list[Hold], from_attributes=True)


async def escalated_for(
    conn: asyncpg.Connection, jurisdiction: str | None, *, limit: int, offset: int
) -> list[Hold]:
    """Offers that expired unanswered, where the referral or the service is in a jurisdiction.

    ``jurisdiction`` None: every jurisdiction.
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT " + _COLUMNS + " FROM referral_hold h"
            " JOIN referral r ON r.id = h.referral_id"
            " JOIN organization o ON o.id = h.organization_id"
            " WHERE h.escalated_at IS NOT NULL AND ($1::text IS NULL OR r.jurisdiction = $1"
            "  OR r.receiving_participant = $1 OR o.participant_code = $1)"
            " ORDER BY h.escalated_at DESC, h.id LIMIT $2 OFFSET $3",
            jurisdiction,
            limit,
            offset,
        )
    return msgspec.convert(rows, list[Hold], from_attributes=True)


async def counters_match(conn: asyncpg.Connection) -> list[uuid.UUID]:
    """Services whose stored ``held`` differs from the places of their live holds."""
    async with translated():
        rows = await conn.fetch(
            "SELECT service_id FROM service_capacity WHERE held <> live_held_places(service_id)"
        )
    return [r["service_id"] for r in rows]
