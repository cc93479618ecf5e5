"""Demand signals: aggregate-only evidence of demand (needs, unmet needs, empty searches)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import asyncpg
import msgspec

from csomatch.db.errors import translated

SignalKind = Literal["need", "unmet", "decline_no_capacity", "search_empty"]
SignalSource = Literal["suggestion", "batch", "referral", "offer", "search"]
#: The coarse group a signal is counted in (migration 0080); ``unknown`` when not known.
PopulationGroup = Literal[
    "women", "men", "unaccompanied_children", "families", "language_not_served", "unknown"
]


class NewSignal(msgspec.Struct, frozen=True, kw_only=True):
    """One observed need for a service in an area; never anything about a person.

    ``reason`` is a reason code (``no_capacity``, ``language``...), ``dedup_key`` a hash the
    writer builds so that a repeated request is counted once (None: always counted).
    """

    kind: SignalKind
    source: SignalSource
    participant_code: str
    area_code: str | None
    taxonomy_code: str
    reason: str | None = None
    dedup_key: str | None = None
    occurred_at: dt.datetime | None = None
    population_group: PopulationGroup = "unknown"
    #: The language a ``language_not_served`` signal needed (ISO 639; migration 0081).
    language: str | None = None


class SignalCount(msgspec.Struct, frozen=True, kw_only=True):
    """How many signals of one kind and reason a cell holds."""

    participant_code: str
    area_code: str | None
    taxonomy_code: str
    kind: str
    reason: str | None
    n: int


async def record_signals(conn: asyncpg.Connection, signals: list[NewSignal]) -> int:
    """Store signals (a repeated ``dedup_key`` is skipped); return how many were new."""
    if not signals:
        return 0
    async with translated():
        rows = await conn.fetch(
            "INSERT INTO demand_signal"
            " (occurred_at, kind, source, participant_code, area_code, taxonomy_code,"
            "  reason, dedup_key, population_group, language)"
            " SELECT coalesce(s.occurred_at, now()), s.kind, s.source, s.participant_code,"
            "  s.area_code, s.taxonomy_code, s.reason, s.dedup_key, s.population_group,"
            "  s.language"
            " FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[],"
            "  $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])"
            "  AS s(occurred_at, kind, source, participant_code, area_code, taxonomy_code,"
            "  reason, dedup_key, population_group, language)"
            " ON CONFLICT (dedup_key) DO NOTHING"
            " RETURNING id",
            [s.occurred_at for s in signals],
            [s.kind for s in signals],
            [s.source for s in signals],
            [s.participant_code for s in signals],
            [s.area_code for s in signals],
            [s.taxonomy_code for s in signals],
            [s.reason for s in signals],
            [s.dedup_key for s in signals],
            [s.population_group for s in signals],
            [s.language for s in signals],
        )
    return len(rows)


async def count_signals(
    conn: asyncpg.Connection, *, since: dt.datetime, until: dt.datetime
) -> list[SignalCount]:
    """Signals per cell, kind and reason observed in ``[since, until)``."""
    async with translated():
        rows = await conn.fetch(
            "SELECT participant_code, area_code, taxonomy_code, kind, reason, count(*) AS n"
            " FROM demand_signal WHERE occurred_at >= $1 AND occurred_at < $2"
            " GROUP BY participant_code, area_code, taxonomy_code, kind, reason"
            " ORDER BY participant_code, area_code, taxonomy_code, kind, reason",
            since,
            until,
        )
    return msgspec.convert(rows, list[SignalCount], from_attributes=True)


class NeedSignal(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded need: when, where and for which service, in which coarse group."""

    occurred_at: dt.datetime
    participant_code: str
    area_code: str | None
    taxonomy_code: str
    population_group: PopulationGroup


async def need_signals(
    conn: asyncpg.Connection, *, since: dt.datetime, until: dt.datetime
) -> list[NeedSignal]:
    """Every ``need`` signal observed in ``[since, until)``, oldest first (bench/online.py)."""
    async with translated():
        rows = await conn.fetch(
            "SELECT occurred_at, participant_code, area_code, taxonomy_code, population_group"
            " FROM demand_signal WHERE kind = 'need' AND occurred_at >= $1 AND occurred_at < $2"
            " ORDER BY occurred_at, id",
            since,
            until,
        )
    return msgspec.convert(rows, list[NeedSignal], from_attributes=True)
