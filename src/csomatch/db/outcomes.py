"""Outcome figures of referrals: offers, answers, decline reasons and times, per cell.

A cell is (receiving participant, the referral's area, the offered service's taxonomy code);
a row with every key NULL is the total. Only aggregate facts are read (they survive
retention): holds, their services, the referral's area and dates.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.domain import DECLINE_REASONS


class OfferCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Offers of one cell (or of all, when the keys are None) and how they were answered."""

    participant: str | None
    area_code: str | None
    code: str | None
    referrals: int
    offers: int
    accepted: int
    declined: int
    expired: int
    still_open: int
    no_capacity: int
    not_eligible: int
    safety: int
    person_declined: int
    other: int


class Durations(msgspec.Struct, frozen=True, kw_only=True):
    """How many referrals, and the median and 90th percentile of a duration, in seconds."""

    participant: str | None
    area_code: str | None
    code: str | None
    n: int
    median_s: float | None
    p90_s: float | None


#: The referrals a caller may count: their jurisdiction (referring or receiving) or all
#: (NULL), submitted in [from, to).
_SCOPE = (
    " ($1::text IS NULL OR r.jurisdiction = $1 OR r.receiving_participant = $1)"
    " AND r.submitted_at >= $2 AND r.submitted_at < $3"
    " AND ($4::text IS NULL OR s.taxonomy_code = $4)"
    " AND ($5::text IS NULL OR r.receiving_participant = $5)"
)
_CELL = (
    "r.receiving_participant AS participant, r.current_area AS area_code, s.taxonomy_code AS code"
)
_GROUPS = " GROUP BY GROUPING SETS ((r.receiving_participant, r.current_area, s.taxonomy_code), ())"


class Filter(msgspec.Struct, frozen=True, kw_only=True):
    """Which referrals to count."""

    jurisdiction: str | None
    submitted_from: dt.datetime
    submitted_to: dt.datetime
    code: str | None = None
    participant: str | None = None
    #: Count only what had happened before this time: offers made and answered, offers
    #: expired (None: everything up to now).
    as_of: dt.datetime | None = None


def _args(f: Filter) -> tuple[object, ...]:
    return (f.jurisdiction, f.submitted_from, f.submitted_to, f.code, f.participant, f.as_of)


#: Before the ``as_of`` time ($6), or at any time when it is NULL.
_BEFORE = "($6::timestamptz IS NULL OR {} < $6::timestamptz)"


async def offer_counts(conn: asyncpg.Connection, f: Filter) -> list[OfferCounts]:
    """Offers per cell and in total: accepted, declined (by reason), expired, still open.

    With ``as_of``: as things stood then.
    """
    answered = _BEFORE.format("h.answered_at")
    accepted = f"h.answered_at IS NOT NULL AND h.decline_reason IS NULL AND {answered}"
    declined = f"h.decline_reason IS NOT NULL AND {answered}"
    # Expired unanswered only: an offer accepted and then not confirmed in time counts as
    # accepted (the provider's answer), never against it.
    expired = "h.status = 'expired' AND h.answered_at IS NULL AND " + _BEFORE.format("h.expires_at")
    reasons = ", ".join(
        f"count(*) FILTER (WHERE h.decline_reason = '{r}' AND {answered}) AS {r}"
        for r in DECLINE_REASONS
    )
    async with translated():
        rows = await conn.fetch(
            f"SELECT {_CELL}, count(DISTINCT h.referral_id) AS referrals, count(*) AS offers,"
            f" count(*) FILTER (WHERE {accepted}) AS accepted,"
            f" count(*) FILTER (WHERE {declined}) AS declined,"
            f" count(*) FILTER (WHERE {expired}) AS expired,"
            " count(*) FILTER (WHERE CASE WHEN $6::timestamptz IS NULL"
            f"   THEN h.status = 'held' OR h.status = 'released' AND NOT ({accepted})"
            f"   ELSE NOT ({accepted} OR {declined} OR {expired}) END) AS still_open,"
            f" {reasons}"
            " FROM referral_hold h JOIN referral r ON r.id = h.referral_id"
            " JOIN service s ON s.id = h.service_id"
            f" WHERE {_SCOPE} AND {_BEFORE.format('h.created_at')}{_GROUPS}",
            *_args(f),
        )
    return msgspec.convert(rows, list[OfferCounts], from_attributes=True)


async def time_to_first_offer(conn: asyncpg.Connection, f: Filter) -> list[Durations]:
    """From submission to each referral's first offer, counted in that offer's cell."""
    return await _durations(
        conn,
        f,
        "SELECT DISTINCT ON (h.referral_id) h.referral_id, h.service_id, h.created_at AS at"
        f" FROM referral_hold h WHERE {_BEFORE.format('h.created_at')}"
        " ORDER BY h.referral_id, h.created_at, h.id",
    )


async def time_to_acceptance(conn: asyncpg.Connection, f: Filter) -> list[Durations]:
    """From submission to the first accepted offer of each referral, in that offer's cell."""
    return await _durations(
        conn,
        f,
        "SELECT DISTINCT ON (h.referral_id) h.referral_id, h.service_id, h.answered_at AS at"
        " FROM referral_hold h WHERE h.answered_at IS NOT NULL AND h.decline_reason IS NULL"
        f" AND {_BEFORE.format('h.answered_at')} ORDER BY h.referral_id, h.answered_at, h.id",
    )


async def _durations(conn: asyncpg.Connection, f: Filter, first: str) -> list[Durations]:
    seconds = "greatest(extract(epoch FROM e.at - r.submitted_at), 0)::float8"
    async with translated():
        rows = await conn.fetch(
            f"WITH e AS ({first})"
            f" SELECT {_CELL}, count(*) AS n,"
            f" percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}) AS median_s,"
            f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {seconds}) AS p90_s"
            " FROM e JOIN referral r ON r.id = e.referral_id JOIN service s ON s.id = e.service_id"
            f" WHERE {_SCOPE}{_GROUPS}",
            *_args(f),
        )
    return msgspec.convert(rows, list[Durations], from_attributes=True)


class SubmittedCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Every submitted referral of one (receiving participant, urgency), or of all: how it ended.

    With the time from submission to its first offer (seconds; the referrals never offered
    do not count in it).
    """

    participant: str | None
    urgency: str | None
    submitted: int
    placed: int
    still_open: int
    closed_unplaced: int
    cancelled: int
    never_offered: int
    offered_n: int
    median_s: float | None
    p90_s: float | None


async def submitted_counts(conn: asyncpg.Connection, f: Filter) -> list[SubmittedCounts]:
    """Every referral submitted in [from, to), per (participant, urgency) and in total.

    Placed, still open, closed unplaced, cancelled, never offered, and the time to the first
    offer. With ``as_of``: the state each referral was in then, and only offers made before.
    ``code`` keeps the referrals with a need of that code.
    """
    seconds = "extract(epoch FROM w.first_offer_at - w.submitted_at)::float8"
    async with translated():
        rows = await conn.fetch(
            "WITH w AS (SELECT r.receiving_participant AS participant, r.urgency,"
            "  r.submitted_at, r.outcome,"
            "  CASE WHEN $6::timestamptz IS NULL THEN r.state ELSE (SELECT c.to_state"
            "   FROM referral_state_change c WHERE c.referral_id = r.id AND c.at < $6"
            "   ORDER BY c.at DESC, c.id DESC LIMIT 1) END AS state_then,"
            "  (SELECT min(h.created_at) FROM referral_hold h WHERE h.referral_id = r.id"
            f"   AND {_BEFORE.format('h.created_at')}) AS first_offer_at"
            " FROM referral r"
            " WHERE ($1::text IS NULL OR r.jurisdiction = $1 OR r.receiving_participant = $1)"
            "  AND r.submitted_at >= $2 AND r.submitted_at < $3"
            "  AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM referral_need n"
            "   WHERE n.referral_id = r.id AND n.taxonomy_code = $4))"
            "  AND ($5::text IS NULL OR r.receiving_participant = $5)"
            f"  AND {_BEFORE.format('r.submitted_at')})"
            " SELECT w.participant, w.urgency, count(*) AS submitted,"
            " count(*) FILTER (WHERE w.state_then = 'closed' AND w.outcome = 'placed') AS placed,"
            " count(*) FILTER (WHERE w.state_then NOT IN ('closed', 'cancelled')) AS still_open,"
            " count(*) FILTER (WHERE w.state_then = 'closed'"
            "  AND w.outcome IS DISTINCT FROM 'placed') AS closed_unplaced,"
            " count(*) FILTER (WHERE w.state_then = 'cancelled') AS cancelled,"
            " count(*) FILTER (WHERE w.first_offer_at IS NULL) AS never_offered,"
            " count(w.first_offer_at) AS offered_n,"
            f" percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}) AS median_s,"
            f" percentile_cont(0.9) WITHIN GROUP (ORDER BY {seconds}) AS p90_s"
            " FROM w GROUP BY GROUPING SETS ((w.participant, w.urgency), ())",
            *_args(f),
        )
    return msgspec.convert(rows, list[SubmittedCounts], from_attributes=True)
