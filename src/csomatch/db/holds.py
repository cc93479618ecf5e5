"""Holds on service capacity: each is an offer to the provider, with an expiry.

The database keeps ``service_capacity.held`` equal to the places of live holds (held and not
past ``expires_at``, or accepted and not past ``confirm_by``), refuses a hold that would add
places beyond ``available``, and keeps the holds beyond a lower report at risk; see
migrations 0010 and 0062 and docs/referrals.md. The functions here lock rows in one order —
the referral, then the hold, then the capacity row — so that concurrent requests cannot
deadlock.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated


class CapacityNow(msgspec.Struct, frozen=True, kw_only=True):
    """A service's capacity at this moment, counting only live holds."""

    service_id: uuid.UUID
    available: int
    held: int
    updated_at: dt.datetime

    @property
    def free(self) -> int:
        """Places that can be held now (0 while holds exceed a lower report)."""
        return max(self.available - self.held, 0)

    @property
    def overcommitted(self) -> bool:
        """More places are held than the provider reports available: some holds are at risk."""
        return self.held > self.available


class Hold(msgspec.Struct, frozen=True, kw_only=True):
    """A hold on a service's capacity for a referral: the offer to its provider."""

    id: uuid.UUID
    referral_id: uuid.UUID
    #: The need of the referral this offer is for (its index).
    need_idx: int
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
    #: An accepted offer's confirmation deadline; past it the offer expires.
    confirm_by: dt.datetime | None
    #: A live hold beyond the places its provider last reported (newest first).
    at_risk: bool


class NewHold(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a hold to insert."""

    id: uuid.UUID
    referral_id: uuid.UUID
    service_id: uuid.UUID
    organization_id: uuid.UUID
    places: int
    expires_at: dt.datetime
    #: The need (its index) the offer is for.
    need_idx: int = 0


# ``at_risk`` also looks at the status: in a RETURNING clause the row of a hold released by
# the same statement is still in ``hold_at_risk`` (the trigger that clears it runs after).
_COLUMNS = (
    "h.id, h.referral_id, h.need_idx, h.service_id, h.organization_id, h.places, h.status,"
    " h.created_at,"
    " h.expires_at, h.answered_at, h.decline_reason, h.answered_by_role, h.answered_by_agency,"
    " h.escalated_at, h.confirm_by,"
    " (h.status IN ('held', 'accepted')"
    "  AND EXISTS (SELECT 1 FROM hold_at_risk r WHERE r.hold_id = h.id)) AS at_risk"
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
    """Insert a hold; the database refuses it (``hold_exceeds_free``) if places are short."""
    async with translated():
        row = await conn.fetchrow(
            "INSERT INTO referral_hold AS h"
            " (id, referral_id, need_idx, service_id, organization_id, places, expires_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " + _COLUMNS,
            new.id, new.referral_id, new.need_idx, new.service_id, new.organization_id,
            new.places, new.expires_at,
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


async def open_holds_of(conn: asyncpg.Connection, referral_id: uuid.UUID) -> list[Hold]:
    """The referral's open offers (held or accepted; one per need at most), locked, by id."""
    async with translated():
        rows = await conn.fetch(
            "SELECT " + _COLUMNS + " FROM referral_hold h WHERE h.referral_id = $1"
            " AND h.status IN ('held', 'accepted') ORDER BY h.id FOR UPDATE",
            referral_id,
        )
    return msgspec.convert(rows, list[Hold], from_attributes=True)


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
    confirm_hours: float | None = None,
) -> Hold:
    """Set a hold's status as an answer (accepted, declined, released, confirmed).

    With ``confirm_hours`` (on accepting) the referrer must confirm within that many hours
    of the answer (``confirm_by``).
    """
    async with translated():
        row = await conn.fetchrow(
            "UPDATE referral_hold h SET status = $2, decline_reason = $3,"
            " answered_at = CASE WHEN $2 IN ('accepted', 'declined') THEN now()"
            "   ELSE h.answered_at END,"
            " answered_by_role = coalesce($4, h.answered_by_role),"
            " answered_by_agency = coalesce($5, h.answered_by_agency),"
            " confirm_by = CASE WHEN $6::float8 IS NULL THEN h.confirm_by"
            "   ELSE now() + make_interval(secs => $6::float8 * 3600) END"
            " WHERE h.id = $1 RETURNING " + _COLUMNS,
            hold_id,
            status,
            decline_reason,
            role,
            agency,
            confirm_hours,
        )
    return msgspec.convert(row, Hold, from_attributes=True)


async def beyond_available(conn: asyncpg.Connection, hold: Hold) -> bool:
    """Whether a live hold is beyond the places its service reports now (at risk).

    Call it with the capacity row locked (``lock_capacity``), so that the answer holds.
    """
    async with translated():
        found = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM service_capacity c,"
            " holds_beyond(c.service_id, c.available) AS b (id)"
            " WHERE c.service_id = $1 AND b.id = $2)",
            hold.service_id,
            hold.id,
        )
    return bool(found)


_DUE = (
    "(h.status = 'held' AND h.expires_at <= now())"
    " OR (h.status = 'accepted' AND h.confirm_by <= now())"
)


async def expire_hold(conn: asyncpg.Connection, hold_id: uuid.UUID) -> Hold | None:
    """Mark an offer past its deadline as expired and escalated; None if it is not past it.

    Past its deadline: unanswered, or accepted and not confirmed in time.
    """
    async with translated():
        row = await conn.fetchrow(
            "UPDATE referral_hold h SET status = 'expired', escalated_at = now()"
            " WHERE h.id = $1 AND (" + _DUE + ") RETURNING " + _COLUMNS,
            hold_id,
        )
    return None if row is None else msgspec.convert(row, Hold, from_attributes=True)


async def due_holds(
    conn: asyncpg.Connection, limit: int = 100
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(hold, referral) ids of offers past their deadline, oldest deadline first.

    Held and unanswered after ``expires_at``, or accepted and unconfirmed after ``confirm_by``.
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT id, referral_id FROM ("
            " SELECT h.id, h.referral_id, h.expires_at AS due FROM referral_hold h"
            "  WHERE h.status = 'held' AND h.expires_at <= now()"
            " UNION ALL"
            " SELECT h.id, h.referral_id, h.confirm_by FROM referral_hold h"
            "  WHERE h.status = 'accepted' AND h.confirm_by <= now()"
            ") d ORDER BY due LIMIT $1",
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


async def return_places(conn: asyncpg.Connection, service_id: uuid.UUID, places: int) -> None:
    """Give a cancelled placement's places back to ``available`` (never beyond ``maximum``).

    The capacity row must be locked (``lock_capacity``); its version goes up (migration 0061).
    """
    async with translated():
        await conn.execute(
            "UPDATE service_capacity SET available = least(available + $2, maximum)"
            " WHERE service_id = $1",
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
