"""The coordinator's console: time limits, open referrals and how long they waited, approvals.

Only aggregate facts of referrals are read (state, urgency, dates, whether an offer was
made), plus, for the approvals, whether the caller is the one who asked (never who did).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.domain import CHILD_AGE_BANDS
from csomatch.errors import StaleVersion
from csomatch.i18n import _

#: The jurisdiction whose rows are the defaults of every participant.
DEFAULTS = "MARRI"


class TimeLimit(msgspec.Struct, frozen=True, kw_only=True):
    """The limit of one (state, urgency) in a jurisdiction, and the default it may override."""

    state: str
    urgency: str
    minutes: int
    default_minutes: int
    overridden: bool


class TimeLimitTable(msgspec.Struct, frozen=True, kw_only=True):
    """A jurisdiction's limits and the version an edit must name (If-Match)."""

    jurisdiction: str
    version: int
    limits: list[TimeLimit]


class WaitingReferral(msgspec.Struct, frozen=True, kw_only=True):
    """An open referral: its state, since when, its limit there, and its offers' first."""

    id: uuid.UUID
    jurisdiction: str
    receiving_participant: str
    transnational: bool
    state: str
    urgency: str
    submitted_at: dt.datetime | None
    since: dt.datetime
    limit_minutes: int | None
    first_offer_at: dt.datetime | None
    escalated_at: dt.datetime | None


class PendingApproval(msgspec.Struct, frozen=True, kw_only=True):
    """A referral waiting for a second person: a consent override or a child's sign-off."""

    referral_id: uuid.UUID
    kind: str
    state: str
    urgency: str
    jurisdiction: str
    #: The consent override's reason code (None for a sign-off).
    reason: str | None
    #: When the referral was created (the request's time).
    requested_at: dt.datetime
    #: The caller asked for it (the override's requester, or the child's referrer).
    own: bool


async def _versions(conn: asyncpg.Connection, jurisdiction: str, *, lock: bool) -> int:
    """The version of a jurisdiction's table: its own plus the defaults' (locked on ``lock``)."""
    rows = await conn.fetch(
        "SELECT jurisdiction, version FROM referral_time_limit_version"
        " WHERE jurisdiction = ANY($1::text[]) ORDER BY jurisdiction"
        + (" FOR UPDATE" if lock else ""),
        sorted({jurisdiction, DEFAULTS}),
    )
    return sum(int(r["version"]) for r in rows)


async def time_limits(conn: asyncpg.Connection, jurisdiction: str) -> TimeLimitTable:
    """A jurisdiction's limits: its own rows where it has them, else the defaults."""
    async with translated():
        rows = await conn.fetch(
            "SELECT d.state, d.urgency, coalesce(o.minutes, d.minutes) AS minutes,"
            " d.minutes AS default_minutes, o.minutes IS NOT NULL AS overridden"
            " FROM referral_time_limit d LEFT JOIN referral_time_limit o"
            "   ON o.jurisdiction = $1 AND $1 <> $2 AND o.state = d.state"
            "   AND o.urgency = d.urgency"
            " WHERE d.jurisdiction = $2",
            jurisdiction,
            DEFAULTS,
        )
        version = await _versions(conn, jurisdiction, lock=False)
    return TimeLimitTable(
        jurisdiction=jurisdiction,
        version=version,
        limits=msgspec.convert(rows, list[TimeLimit], from_attributes=True),
    )


async def set_time_limits(
    conn: asyncpg.Connection,
    jurisdiction: str,
    limits: Sequence[tuple[str, str, int]],
    *,
    version: int,
    by: uuid.UUID,
) -> None:
    """Store (state, urgency, minutes) rows of a jurisdiction if ``version`` is still current.

    Raises StaleVersion (nothing changed) when someone changed the table, or the defaults it
    reads, since ``version``. The caller owns the transaction.
    """
    async with translated():
        current = await _versions(conn, jurisdiction, lock=True)
        if current != version:
            raise StaleVersion(
                _(
                    "the time limits of {jurisdiction} changed since you read them (ETag "
                    '"{version}", now "{current}"): read them again and re-apply your '
                    "change",
                    jurisdiction=jurisdiction,
                    version=version,
                    current=current,
                ),
                field="header.If-Match",
            )
        await conn.executemany(
            "INSERT INTO referral_time_limit (jurisdiction, state, urgency, minutes, updated_by)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (jurisdiction, state, urgency) DO UPDATE"
            " SET minutes = EXCLUDED.minutes, updated_by = EXCLUDED.updated_by,"
            " updated_at = now()",
            [(jurisdiction, state, urgency, minutes, by) for state, urgency, minutes in limits],
        )
        await conn.execute(
            "UPDATE referral_time_limit_version SET version = version + 1 WHERE jurisdiction = $1",
            jurisdiction,
        )


#: The open referrals of a jurisdiction (referring or receiving; NULL: all), each with the
#: time it entered its state, its limit there (the referring jurisdiction's table) and its
#: first offer.
_WAITING = (
    "SELECT r.id, r.jurisdiction, r.receiving_participant, r.transnational, r.state,"
    " r.urgency, r.submitted_at, r.escalated_at,"
    " coalesce((SELECT max(c.at) FROM referral_state_change c"
    "   WHERE c.referral_id = r.id AND c.to_state = r.state), r.updated_at) AS since,"
    " coalesce(o.minutes, d.minutes) AS limit_minutes,"
    " (SELECT min(h.created_at) FROM referral_hold h WHERE h.referral_id = r.id)"
    "   AS first_offer_at"
    " FROM referral r"
    " LEFT JOIN referral_time_limit d"
    "   ON d.jurisdiction = 'MARRI' AND d.state = r.state AND d.urgency = r.urgency"
    " LEFT JOIN referral_time_limit o"
    "   ON o.jurisdiction = r.jurisdiction AND o.state = r.state AND o.urgency = r.urgency"
)


async def open_referrals(
    conn: asyncpg.Connection, jurisdiction: str | None, *, limit: int
) -> list[WaitingReferral]:
    """Every open referral (not draft, closed or cancelled) of a jurisdiction (None: all).

    A transnational referral belongs to both its referring and its receiving participant.
    """
    async with translated():
        rows = await conn.fetch(
            _WAITING + " WHERE r.state NOT IN ('draft', 'closed', 'cancelled')"
            " AND ($1::text IS NULL OR r.jurisdiction = $1 OR r.receiving_participant = $1)"
            " ORDER BY r.submitted_at, r.id LIMIT $2",
            jurisdiction,
            limit,
        )
    return msgspec.convert(rows, list[WaitingReferral], from_attributes=True)


async def stuck_referrals(
    conn: asyncpg.Connection, now: dt.datetime, *, limit: int
) -> list[uuid.UUID]:
    """Referrals submitted or matched, never offered, past their limit and not yet escalated."""
    async with translated():
        rows = await conn.fetch(
            "SELECT w.id FROM (" + _WAITING + " WHERE r.state IN ('submitted', 'matched')"
            "   AND r.escalated_at IS NULL"
            "   AND NOT EXISTS (SELECT 1 FROM referral_hold h WHERE h.referral_id = r.id)) w"
            " WHERE w.since + make_interval(mins => w.limit_minutes) < $1"
            " ORDER BY w.since, w.id LIMIT $2",
            now,
            limit,
        )
    return [r["id"] for r in rows]


async def mark_escalated(
    conn: asyncpg.Connection, referral_id: uuid.UUID, now: dt.datetime
) -> bool:
    """Mark a still-stuck referral escalated (once); False if it moved on or was marked."""
    async with translated():
        status = await conn.execute(
            "UPDATE referral r SET escalated_at = $2 WHERE r.id = $1 AND r.escalated_at IS NULL"
            " AND r.state IN ('submitted', 'matched')"
            " AND NOT EXISTS (SELECT 1 FROM referral_hold h WHERE h.referral_id = r.id)",
            referral_id,
            now,
        )
    return bool(status.endswith(" 1"))


async def escalated_referrals(
    conn: asyncpg.Connection, jurisdiction: str | None, *, limit: int, offset: int
) -> list[WaitingReferral]:
    """Referrals escalated for waiting without an offer, newest escalation first."""
    async with translated():
        rows = await conn.fetch(
            _WAITING + " WHERE r.escalated_at IS NOT NULL"
            " AND ($1::text IS NULL OR r.jurisdiction = $1 OR r.receiving_participant = $1)"
            " ORDER BY r.escalated_at DESC, r.id LIMIT $2 OFFSET $3",
            jurisdiction,
            limit,
            offset,
        )
    return msgspec.convert(rows, list[WaitingReferral], from_attributes=True)


async def pending_approvals(
    conn: asyncpg.Connection,
    jurisdiction: str | None,
    caller: uuid.UUID,
    *,
    sign_off_states: Sequence[str],
    limit: int,
) -> list[PendingApproval]:
    """Consent overrides not yet approved and children's placements not yet signed off.

    Overrides of every referral not finished (a draft waits for its approval to be
    submitted); sign-offs of children's referrals in ``sign_off_states``. Oldest first.
    """
    child = "(p.age_uncertain OR p.age_band = ANY($4::text[]))"
    async with translated():
        rows = await conn.fetch(
            "SELECT * FROM ("
            " SELECT r.id AS referral_id, 'consent_override' AS kind, r.state, r.urgency,"
            "  r.jurisdiction, p.override_reason AS reason, r.created_at AS requested_at,"
            "  p.override_requested_by IS NOT DISTINCT FROM $2 AS own"
            " FROM referral r JOIN referral_profile p ON p.referral_id = r.id"
            " WHERE p.override_reason IS NOT NULL AND p.override_approved_at IS NULL"
            "  AND r.state NOT IN ('closed', 'cancelled')"
            "  AND ($1::text IS NULL OR r.jurisdiction = $1 OR r.receiving_participant = $1)"
            " UNION ALL"
            " SELECT r.id, 'child_sign_off', r.state, r.urgency, r.jurisdiction, NULL,"
            "  r.created_at, r.created_by IS NOT DISTINCT FROM $2"
            " FROM referral r JOIN referral_profile p ON p.referral_id = r.id"
            f" WHERE {child} AND p.child_sign_off_at IS NULL AND r.state = ANY($3::text[])"
            "  AND ($1::text IS NULL OR r.jurisdiction = $1 OR r.receiving_participant = $1)"
            ") a ORDER BY a.requested_at, a.referral_id, a.kind LIMIT $5",
            jurisdiction,
            caller,
            list(sign_off_states),
            list(CHILD_AGE_BANDS),
            limit,
        )
    return msgspec.convert(rows, list[PendingApproval], from_attributes=True)
