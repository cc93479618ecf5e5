"""Queries on the record of a transnational referral: focal points, consents, timeline.

Migrations 0074 and 0075: one row per transnational referral, its consents per item, and
its seven timeline steps (created planned with the record). Codes, dates and ids only.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.domain.vocabulary import TRM_FOLLOW_UPS, TRM_STEPS


class TrmConsent(msgspec.Struct, frozen=True, kw_only=True):
    """Consent to one item (referral, data sharing, cross-border): given or not, how, when."""

    item: str
    given: bool
    method: str
    at: dt.datetime


class TrmStep(msgspec.Struct, frozen=True, kw_only=True):
    """One step of the timeline: planned, done or cancelled, its date and who recorded it."""

    code: str
    status: str
    on_date: dt.date | None
    recorded_by: uuid.UUID | None
    recorded_by_agency_id: uuid.UUID | None
    recorded_at: dt.datetime | None


class TrmRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A transnational referral's record as stored; steps in the timeline's order."""

    referral_id: uuid.UUID
    sending_agency_id: uuid.UUID | None
    receiving_agency_id: uuid.UUID | None
    return_area: str | None
    updated_by: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    consents: list[TrmConsent]
    steps: list[TrmStep]


class TrmValues(msgspec.Struct, frozen=True, kw_only=True):
    """What the referring side sets: focal points, return area and consents (all of them)."""

    sending_agency_id: uuid.UUID | None
    receiving_agency_id: uuid.UUID | None
    return_area: str | None
    consents: list[TrmConsent]


class StepValues(msgspec.Struct, frozen=True, kw_only=True):
    """One step as recorded: its status, date, and the token and agency that recorded it."""

    code: str
    status: str
    on_date: dt.date | None
    recorded_by: uuid.UUID
    recorded_by_agency_id: uuid.UUID | None


_RECORD = (
    "referral_id, sending_agency_id, receiving_agency_id, return_area, updated_by,"
    " created_at, updated_at, version"
)
_STEP = "code, status, on_date, recorded_by, recorded_by_agency_id, recorded_at"


async def get_record(
    conn: asyncpg.Connection, referral_id: uuid.UUID, *, for_update: bool = False
) -> TrmRecord | None:
    """A referral's transnational record with its consents and steps; None if it has none."""
    sql = "SELECT " + _RECORD + " FROM referral_transnational WHERE referral_id = $1"
    async with translated():
        row = await conn.fetchrow(sql + (" FOR UPDATE" if for_update else ""), referral_id)
        if row is None:
            return None
        consents = await conn.fetch(
            "SELECT item, given, method, at FROM referral_transnational_consent"
            " WHERE referral_id = $1 ORDER BY array_position($2::text[], item)",
            referral_id,
            ["referral", "data_sharing", "cross_border"],
        )
        steps = await conn.fetch(
            "SELECT " + _STEP + " FROM referral_transnational_step WHERE referral_id = $1"
            " ORDER BY array_position($2::text[], code)",
            referral_id,
            list(TRM_STEPS),
        )
    return TrmRecord(
        **dict(row.items()),
        consents=msgspec.convert(consents, list[TrmConsent], from_attributes=True),
        steps=msgspec.convert(steps, list[TrmStep], from_attributes=True),
    )


async def put_record(
    conn: asyncpg.Connection, referral_id: uuid.UUID, values: TrmValues, *, by: uuid.UUID
) -> None:
    """Create or replace the record's focal points, return area and consents.

    The first time, the seven steps of the timeline are created, planned. The database
    refuses a focal point or return area of the wrong side (``trm_*_side``).
    """
    async with translated():
        await conn.execute(
            "INSERT INTO referral_transnational"
            " (referral_id, sending_agency_id, receiving_agency_id, return_area, updated_by)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (referral_id) DO UPDATE SET"
            " sending_agency_id = EXCLUDED.sending_agency_id,"
            " receiving_agency_id = EXCLUDED.receiving_agency_id,"
            " return_area = EXCLUDED.return_area, updated_by = EXCLUDED.updated_by",
            referral_id,
            values.sending_agency_id,
            values.receiving_agency_id,
            values.return_area,
            by,
        )
        await conn.execute(
            "DELETE FROM referral_transnational_consent WHERE referral_id = $1", referral_id
        )
        await conn.executemany(
            "INSERT INTO referral_transnational_consent (referral_id, item, given, method, at)"
            " VALUES ($1, $2, $3, $4, $5)",
            [(referral_id, c.item, c.given, c.method, c.at) for c in values.consents],
        )
        await conn.execute(
            "INSERT INTO referral_transnational_step (referral_id, code)"
            " SELECT $1, code FROM unnest($2::text[]) AS code ON CONFLICT DO NOTHING",
            referral_id,
            list(TRM_STEPS),
        )


async def set_step(conn: asyncpg.Connection, referral_id: uuid.UUID, step: StepValues) -> None:
    """Record one step of the timeline (its row exists once the record does)."""
    async with translated():
        await conn.execute(
            "UPDATE referral_transnational_step SET status = $3, on_date = $4,"
            " recorded_by = $5, recorded_by_agency_id = $6, recorded_at = now()"
            " WHERE referral_id = $1 AND code = $2",
            referral_id,
            step.code,
            step.status,
            step.on_date,
            step.recorded_by,
            step.recorded_by_agency_id,
        )


async def cancel_planned_steps(
    conn: asyncpg.Connection, referral_id: uuid.UUID, *, recorded_by: uuid.UUID
) -> int:
    """Cancel every planned step of a referral (it was cancelled); how many were."""
    async with translated():
        status = await conn.execute(
            "UPDATE referral_transnational_step SET status = 'cancelled', recorded_by = $2,"
            " recorded_by_agency_id = NULL, recorded_at = now()"
            " WHERE referral_id = $1 AND status = 'planned'",
            referral_id,
            recorded_by,
        )
    return int(status.split()[-1])


async def open_follow_ups(conn: asyncpg.Connection, referral_id: uuid.UUID) -> list[str]:
    """The follow-up steps of a referral still planned (it stays open while there are any)."""
    async with translated():
        rows = await conn.fetch(
            "SELECT code FROM referral_transnational_step"
            " WHERE referral_id = $1 AND status = 'planned' AND code = ANY ($2::text[])"
            " ORDER BY code",
            referral_id,
            sorted(TRM_FOLLOW_UPS),
        )
    return [r["code"] for r in rows]


async def return_area_of(conn: asyncpg.Connection, referral_id: uuid.UUID) -> str | None:
    """The return area of a transnational referral, if its record names one."""
    async with translated():
        found = await conn.fetchval(
            "SELECT return_area FROM referral_transnational WHERE referral_id = $1", referral_id
        )
    return None if found is None else str(found)
