"""Services' track records: offers, acceptances and survivor feedback, as counters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.errors import translated


class TrackRecord(msgspec.Struct, frozen=True, kw_only=True):
    """How a service answered its offers and how survivors rated it (1-5)."""

    service_id: uuid.UUID
    offers: int
    accepted: int
    feedback_n: int
    feedback_sum: int


async def record_offer_answer(
    conn: asyncpg.Connection, service_id: uuid.UUID, *, accepted: bool
) -> None:
    """Count one answered offer of a service."""
    async with translated():
        await conn.execute(
            "INSERT INTO service_track_record AS t (service_id, offers, accepted)"
            " VALUES ($1, 1, $2::int)"
            " ON CONFLICT (service_id) DO UPDATE"
            " SET offers = t.offers + 1, accepted = t.accepted + EXCLUDED.accepted",
            service_id,
            int(accepted),
        )


async def record_feedback(conn: asyncpg.Connection, service_id: uuid.UUID, score: int) -> None:
    """Count one survivor feedback score (1-5) for a service."""
    async with translated():
        await conn.execute(
            "INSERT INTO service_track_record AS t (service_id, feedback_n, feedback_sum)"
            " VALUES ($1, 1, $2)"
            " ON CONFLICT (service_id) DO UPDATE"
            " SET feedback_n = t.feedback_n + 1,"
            " feedback_sum = t.feedback_sum + EXCLUDED.feedback_sum",
            service_id,
            score,
        )


async def track_records(
    conn: asyncpg.Connection, service_ids: Sequence[uuid.UUID]
) -> list[TrackRecord]:
    """Track records of these services (services never offered are absent)."""
    async with translated():
        rows = await conn.fetch(
            "SELECT service_id, offers, accepted, feedback_n, feedback_sum"
            " FROM service_track_record WHERE service_id = ANY($1::uuid[])",
            list(service_ids),
        )
    return msgspec.convert(rows, list[TrackRecord], from_attributes=True)
