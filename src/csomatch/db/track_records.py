"""Services' track records: offers, acceptances and survivor feedback, as counters.

Also how offers ended, per service and quarter (``offer_outcome_count``), from which a
provider's acceptance record is read.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.domain.acceptance import Tally
from csomatch.domain.vocabulary import OfferOutcome


class TrackRecord(msgspec.Struct, frozen=True, kw_only=True):
    """How a service answered its offers and how survivors rated it (1-5)."""

    service_id: uuid.UUID
    offers: int
    accepted: int
    feedback_n: int
    feedback_sum: int


class OutcomeCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many of an organisation's offers ended one way in one quarter."""

    quarter: dt.date
    outcome: OfferOutcome
    n: int


async def record_offer_outcome(
    conn: asyncpg.Connection,
    service_id: uuid.UUID,
    organization_id: uuid.UUID,
    outcome: OfferOutcome,
    *,
    counts: Tally,
    quarter: dt.date,
) -> None:
    """Count how one offer ended: in its quarter, and in the matcher's counters by ``counts``.

    ``counts`` is what `csomatch.domain.acceptance.counted` makes of ``outcome``; an end that
    does not count leaves the matcher's counters as they were.
    """
    async with translated():
        await conn.execute(
            "INSERT INTO offer_outcome_count AS c (service_id, organization_id, quarter,"
            " outcome, n) VALUES ($1, $2, $3, $4, 1)"
            " ON CONFLICT (service_id, quarter, outcome) DO UPDATE SET n = c.n + 1",
            service_id,
            organization_id,
            quarter,
            outcome,
        )
        if counts.offers:
            await conn.execute(
                "INSERT INTO service_track_record AS t (service_id, offers, accepted)"
                " VALUES ($1, $2, $3)"
                " ON CONFLICT (service_id) DO UPDATE"
                " SET offers = t.offers + EXCLUDED.offers,"
                " accepted = t.accepted + EXCLUDED.accepted",
                service_id,
                counts.offers,
                counts.accepted,
            )


async def outcome_counts(
    conn: asyncpg.Connection, organization_id: uuid.UUID, *, since: dt.date, before: dt.date
) -> list[OutcomeCount]:
    """An organisation's offer ends per quarter and outcome, quarters ``since`` to ``before``."""
    async with translated():
        rows = await conn.fetch(
            "SELECT quarter, outcome, sum(n)::integer AS n FROM offer_outcome_count"
            " WHERE organization_id = $1 AND quarter >= $2 AND quarter < $3"
            " GROUP BY quarter, outcome ORDER BY quarter, outcome",
            organization_id,
            since,
            before,
        )
    return msgspec.convert(rows, list[OutcomeCount], from_attributes=True)


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
