"""Retention of closed referrals: what is left after the period is the aggregate facts.

A referral's situation (age band, gender, languages, excluded areas, risk, group, consent,
nationality) lives in ``referral_profile`` (docs/referrals.md); deleting that row leaves the
referral's aggregate facts: jurisdictions, urgency, area, needs (codes), state, outcome,
dates, and its holds (service, dates, decline reasons). A transnational referral stays out of
the purge until its last follow-up is done or cancelled.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated


class RetentionCounts(msgspec.Struct, frozen=True, kw_only=True):
    """Closed (or cancelled) referrals by what retention has done to them."""

    due: int
    waiting: int
    reduced: int


# A transnational referral with a follow-up still planned is out of the purge (migration 0075;
# docs/transnational.md), whatever its state.
_HELD_OPEN = (
    "EXISTS (SELECT 1 FROM referral_transnational_step s WHERE s.referral_id = r.id"
    " AND s.status = 'planned'"
    " AND s.code IN ('follow_up_3m', 'follow_up_6m', 'follow_up_12m'))"
)


async def lock_due(
    conn: asyncpg.Connection, *, closed_before: dt.datetime, limit: int
) -> list[uuid.UUID]:
    """Lock up to ``limit`` closed referrals past the period that still have their details.

    SKIP LOCKED: two processes purging at once share the work.
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT r.id FROM referral r"
            " WHERE r.state IN ('closed', 'cancelled') AND r.closed_at < $1"
            " AND EXISTS (SELECT 1 FROM referral_profile p WHERE p.referral_id = r.id)"
            " AND NOT "
            + _HELD_OPEN
            + " ORDER BY r.closed_at, r.id LIMIT $2 FOR UPDATE OF r SKIP LOCKED",
            closed_before,
            limit,
        )
    return [r["id"] for r in rows]


async def delete_profiles(conn: asyncpg.Connection, referral_ids: list[uuid.UUID]) -> int:
    """Delete the details of these referrals; return how many were deleted."""
    async with translated():
        status = await conn.execute(
            "DELETE FROM referral_profile WHERE referral_id = ANY ($1::uuid[])", referral_ids
        )
    return int(status.split()[-1])


async def retention_counts(
    conn: asyncpg.Connection, *, closed_before: dt.datetime
) -> RetentionCounts:
    """How many closed referrals are due, still within the period, or already reduced."""
    async with translated():
        row = await conn.fetchrow(
            "SELECT"
            " count(*) FILTER (WHERE p.referral_id IS NOT NULL AND r.closed_at < $1"
            "   AND NOT " + _HELD_OPEN + ") AS due,"
            " count(*) FILTER (WHERE p.referral_id IS NOT NULL AND (r.closed_at >= $1"
            "   OR " + _HELD_OPEN + ")) AS waiting,"
            " count(*) FILTER (WHERE p.referral_id IS NULL) AS reduced"
            " FROM referral r LEFT JOIN referral_profile p ON p.referral_id = r.id"
            " WHERE r.state IN ('closed', 'cancelled')",
            closed_before,
        )
    return msgspec.convert(row, RetentionCounts, from_attributes=True)


async def delete_old_deliveries(conn: asyncpg.Connection, *, before: dt.datetime) -> int:
    """Delete finished webhook deliveries (with their attempts) created before ``before``."""
    async with translated():
        status = await conn.execute(
            "DELETE FROM webhook_delivery WHERE status <> 'pending' AND created_at < $1", before
        )
    return int(status.split()[-1])


async def delete_old_events(conn: asyncpg.Connection, *, before: dt.datetime) -> int:
    """Delete published outbox events written before ``before`` that no delivery awaits."""
    async with translated():
        status = await conn.execute(
            "DELETE FROM outbox_event e WHERE e.published_seq IS NOT NULL AND e.created_at < $1"
            " AND NOT EXISTS (SELECT 1 FROM webhook_delivery d WHERE d.event_id = e.id)",
            before,
        )
    return int(status.split()[-1])
