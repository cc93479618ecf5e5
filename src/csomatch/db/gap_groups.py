"""Queries of the group split of the gap analysis: demand per population group, eligible supply.

The group split (docs/gaps.md, "Who is left out") counts the demand signals of one population
group (migration 0080) against the capacity eligible for it. Eligibility is a fixed test per
group, chosen from an allow-list below and added to the ``svc`` CTE of ``db/gaps.py``, so the
split supply follows every rule of the unsplit supply (funded capacity, licences, staleness).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.db.gaps import (
    _SUPPLY_CELLS,
    _SVC_CTE_HEAD,
    _SVC_CTE_TAIL,
    SupplyRow,
    _structs,
)
from csomatch.db.signals import PopulationGroup

#: Which services' capacity counts for each group (column tests on ``service s``).
#: ``language_not_served``: a service that speaks more than one language, so more than the
#: local one (a signal records no language: a coarse stand-in, stated in docs/gaps.md).
#: ``unknown``: every service.
GROUP_ELIGIBILITY: Final[dict[PopulationGroup, str]] = {
    "women": " AND 'female' = ANY(s.genders)",
    "men": " AND 'male' = ANY(s.genders)",
    "unaccompanied_children": " AND s.serves_unaccompanied_minors",
    "families": " AND s.accepts_families AND s.accepts_accompanied_children",
    "language_not_served": " AND cardinality(s.languages) > 1",
    "unknown": "",
}

_GROUP_SUPPLY_SQL: Final = {
    group: "WITH" + _SVC_CTE_HEAD + test + _SVC_CTE_TAIL + _SUPPLY_CELLS
    for group, test in GROUP_ELIGIBILITY.items()
}


class GroupDemandRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Demand signals of one population group in one cell and calendar month (UTC)."""

    participant_code: str
    area_code: str | None
    taxonomy_code: str
    month: dt.date
    population_group: str
    needs: int
    unmet: int
    unmet_capacity: int
    declines: int
    searches: int


async def demand_by_group(
    conn: asyncpg.Connection,
    *,
    since: dt.date,
    until: dt.date,
    participants: list[str] | None,
) -> list[GroupDemandRow]:
    """Demand signals per participant, area, code, UTC month and group in ``[since, until)``.

    Every group at once: the split of one group is suppressed against the others (a group's
    count is a part of the cell's published total).
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT participant_code, area_code, taxonomy_code,"
            " date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,"
            " population_group,"
            " count(*) FILTER (WHERE kind = 'need')::int AS needs,"
            " count(*) FILTER (WHERE kind = 'unmet')::int AS unmet,"
            " count(*) FILTER (WHERE kind = 'unmet' AND reason = 'no_capacity')::int"
            "  AS unmet_capacity,"
            " count(*) FILTER (WHERE kind = 'decline_no_capacity')::int AS declines,"
            " count(*) FILTER (WHERE kind = 'search_empty')::int AS searches"
            " FROM demand_signal"
            " WHERE occurred_at >= $1 AND occurred_at < $2"
            " AND ($3::text[] IS NULL OR participant_code = ANY($3::text[]))"
            " GROUP BY 1, 2, 3, 4, 5",
            dt.datetime.combine(since, dt.time(), dt.UTC),
            dt.datetime.combine(until, dt.time(), dt.UTC),
            participants,
        )
    return _structs(rows, GroupDemandRow)


async def supply_by_cell_for_group(
    conn: asyncpg.Connection,
    group: PopulationGroup,
    *,
    periods: list[tuple[str, dt.date]],
    stale_before: dt.datetime,
    participants: list[str] | None,
) -> list[SupplyRow]:
    """``db.gaps.supply_by_cell`` counting only the services eligible for ``group``."""
    async with translated():
        rows = await conn.fetch(
            _GROUP_SUPPLY_SQL[group],
            [label for label, _ in periods],
            [ref for _, ref in periods],
            stale_before,
            participants,
        )
    return _structs(rows, SupplyRow)
