"""Queries on licences: list, add, renew, change status, and the reminders due about them."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.domain.vocabulary import LicenceReason, LicenceStatus

_COLUMNS = (
    "l.id, l.organization_id, o.name AS organization_name, o.participant_code,"
    " l.authority, l.number, l.service_codes, l.valid_from, l.valid_to, l.evidence_ref,"
    " l.verified_by, l.verified_at, l.status, l.status_reason, l.suspended_at, l.revoked_at,"
    " l.created_at, l.updated_at, l.version"
)
_FROM = " FROM licence l JOIN organization o ON o.id = l.organization_id"
# The row of one licence after a change, read back with its organisation.
_RETURNING = " RETURNING id"


class Licence(msgspec.Struct, frozen=True, kw_only=True):
    """A stored licence with its organisation's name and participant."""

    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    participant_code: str
    authority: str
    number: str
    service_codes: list[str]
    valid_from: dt.date
    valid_to: dt.date | None
    evidence_ref: str | None
    verified_by: str | None
    verified_at: dt.datetime | None
    status: LicenceStatus
    status_reason: LicenceReason | None
    suspended_at: dt.datetime | None
    revoked_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class NewLicence(msgspec.Struct, frozen=True, kw_only=True):
    """A licence to add (active)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    authority: str
    number: str
    service_codes: list[str]
    valid_from: dt.date
    valid_to: dt.date | None
    evidence_ref: str | None
    verified_by: str | None
    verified_at: dt.datetime | None


class Renewal(msgspec.Struct, frozen=True, kw_only=True):
    """A new end of validity, and optionally new evidence and verification."""

    valid_to: dt.date
    evidence_ref: str | None
    verified_by: str | None
    verified_at: dt.datetime | None


class DueReminder(msgspec.Struct, frozen=True, kw_only=True):
    """A reminder not yet sent about an active licence: which one and for which period."""

    licence_id: uuid.UUID
    organization_id: uuid.UUID
    participant_code: str
    valid_to: dt.date
    kind: str


def _licences(rows: list[asyncpg.Record]) -> list[Licence]:
    return msgspec.convert([dict(r) for r in rows], list[Licence])


async def get_licence(
    conn: asyncpg.Connection, licence_id: uuid.UUID, *, for_update: bool = False
) -> Licence | None:
    """One licence (locked until the transaction ends with ``for_update``)."""
    lock = " FOR UPDATE OF l" if for_update else ""
    async with translated():
        rows = await conn.fetch(
            "SELECT " + _COLUMNS + _FROM + " WHERE l.id = $1" + lock, licence_id
        )
    found = _licences(rows)
    return found[0] if found else None


async def organization_licences(conn: asyncpg.Connection, org_id: uuid.UUID) -> list[Licence]:
    """Every licence of an organisation, the soonest to end first (no end: last)."""
    async with translated():
        rows = await conn.fetch(
            "SELECT " + _COLUMNS + _FROM + " WHERE l.organization_id = $1"
            " ORDER BY l.valid_to NULLS LAST, l.authority, l.number",
            org_id,
        )
    return _licences(rows)


async def jurisdiction_licences(
    conn: asyncpg.Connection, *, participant: str | None, ending_by: dt.date | None, limit: int
) -> list[Licence]:
    """Licences of a participant (None: every one), the soonest to end first.

    With ``ending_by``, only those not revoked that end on or before that day (those already
    ended included: they need a renewal as much).
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT " + _COLUMNS + _FROM + " WHERE ($1::text IS NULL OR o.participant_code = $1)"
            " AND ($2::date IS NULL OR l.status <> 'revoked' AND l.valid_to <= $2)"
            " ORDER BY l.valid_to NULLS LAST, o.name, l.authority, l.number LIMIT $3",
            participant,
            ending_by,
            limit,
        )
    return _licences(rows)


async def insert_licence(conn: asyncpg.Connection, new: NewLicence) -> None:
    """Add an active licence (a duplicate number of the organisation is a Conflict)."""
    async with translated():
        await conn.execute(
            "INSERT INTO licence (id, organization_id, authority, number, service_codes,"
            " valid_from, valid_to, evidence_ref, verified_by, verified_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            new.id,
            new.organization_id,
            new.authority,
            new.number,
            new.service_codes,
            new.valid_from,
            new.valid_to,
            new.evidence_ref,
            new.verified_by,
            new.verified_at,
        )


async def renew_licence(
    conn: asyncpg.Connection, licence_id: uuid.UUID, renewal: Renewal, expected_version: int | None
) -> bool:
    """Set a new end (and evidence, verification when given); False if the version moved."""
    async with translated():
        found = await conn.fetchval(
            "UPDATE licence SET valid_to = $3, evidence_ref = COALESCE($4, evidence_ref),"
            " verified_by = COALESCE($5, verified_by), verified_at = COALESCE($6, verified_at),"
            " updated_at = now(), version = version + 1"
            " WHERE id = $1 AND ($2::int IS NULL OR version = $2)" + _RETURNING,
            licence_id,
            expected_version,
            renewal.valid_to,
            renewal.evidence_ref,
            renewal.verified_by,
            renewal.verified_at,
        )
    return found is not None


async def set_status(
    conn: asyncpg.Connection,
    licence_id: uuid.UUID,
    *,
    status: str,
    reason: str | None,
    expected_version: int | None,
) -> bool:
    """Suspend, revoke or reinstate (``active``: the reason cleared); False if the version moved.

    The time of a suspension or revocation is kept (a reinstated licence keeps the time it
    was last suspended).
    """
    async with translated():
        found = await conn.fetchval(
            "UPDATE licence SET status = $3, status_reason = $4,"
            " suspended_at = CASE WHEN $3 = 'suspended' THEN now() ELSE suspended_at END,"
            " revoked_at = CASE WHEN $3 = 'revoked' THEN now() ELSE revoked_at END,"
            " updated_at = now(), version = version + 1"
            " WHERE id = $1 AND ($2::int IS NULL OR version = $2)" + _RETURNING,
            licence_id,
            expected_version,
            status,
            reason,
        )
    return found is not None


# Which reminder is due on $1 for a licence ending on valid_to: the latest threshold passed
# (a licence added 20 days before its end hears "thirty_days", never "ninety_days").
_KIND = (
    "CASE WHEN l.valid_to < $1 THEN 'expired' WHEN l.valid_to - $1 <= 7 THEN 'seven_days'"
    " WHEN l.valid_to - $1 <= 30 THEN 'thirty_days' ELSE 'ninety_days' END"
)


async def due_reminders(conn: asyncpg.Connection, today: dt.date, limit: int) -> list[DueReminder]:
    """The reminders due on ``today`` and not yet sent, about active licences.

    A licence is reminded of 90, 30 and 7 days before its end and the day after it, once
    each for the end it has (a renewal gives it a new one).
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT d.licence_id, d.organization_id, d.participant_code, d.valid_to, d.kind FROM"
            " (SELECT l.id AS licence_id, l.organization_id, o.participant_code, l.valid_to,"
            "  " + _KIND + " AS kind" + _FROM + " WHERE l.status = 'active'"
            "  AND l.valid_to IS NOT NULL AND l.valid_to <= $1 + 90) d"
            " WHERE NOT EXISTS (SELECT 1 FROM licence_reminder r WHERE r.licence_id = d.licence_id"
            "   AND r.valid_to = d.valid_to AND r.kind = d.kind)"
            " ORDER BY d.valid_to, d.licence_id LIMIT $2",
            today,
            limit,
        )
    return msgspec.convert([dict(r) for r in rows], list[DueReminder])


async def record_reminder(
    conn: asyncpg.Connection, due: DueReminder, event_id: int | None = None
) -> bool:
    """Log a reminder as sent; False when it already was (another process sent it)."""
    async with translated():
        status = await conn.execute(
            "INSERT INTO licence_reminder (licence_id, valid_to, kind, event_id)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT ON CONSTRAINT licence_reminder_once DO NOTHING",
            due.licence_id,
            due.valid_to,
            due.kind,
            event_id,
        )
    return bool(status.endswith(" 1"))


async def set_reminder_event(conn: asyncpg.Connection, due: DueReminder, event_id: int) -> None:
    """Note which outbox event carried a reminder."""
    async with translated():
        await conn.execute(
            "UPDATE licence_reminder SET event_id = $4"
            " WHERE licence_id = $1 AND valid_to = $2 AND kind = $3",
            due.licence_id,
            due.valid_to,
            due.kind,
            event_id,
        )
