"""The group split of the gap cells: who is left out (docs/gaps.md, "Who is left out").

A split cell is a cell restricted to one population group: the demand signals of that group
and the capacity eligible for it (``db/gap_groups.py``), licensed and counted by the same
rules as the unsplit cells, flagged and classed by the same code (``cells.assemble_cells``).

Suppression. A group's count is a part of the unsplit cell's count, so the split adds a
third dimension to the area × code table. Only the participant-wide split counts are
published: for each participant, code, month and measure, the groups are a breakdown of the
participant-wide cell's published total and are suppressed as a line (``suppress_line``,
as the unmet reasons are): all hidden when that total is hidden, else the small ones plus a
complement. The demand of a split cell of one area is always withheld (zeros too): an
attacker then knows only the margins of an area × group table whose inside is all unknown,
which tells nothing about a hidden area count that the unsplit table does not already.
Flags still read the exact counts, as in the unsplit cells (a cell with demand and no
eligible provider is ``uncovered``). A quarter hides what any of its months hides.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, get_args

import anyio
import anyio.to_thread
import asyncpg
import msgspec

from csomatch.db import catchments as catchment_db
from csomatch.db import gap_groups as groups_db
from csomatch.db.gap_groups import GroupDemandRow, StaleCount
from csomatch.db.gaps import DemandRow, SupplyRow
from csomatch.db.signals import PopulationGroup
from csomatch.errors import InvalidInput
from csomatch.gaps.catchments import DEFAULT_CATCHMENTS, Catchment, Site, covered_positions
from csomatch.gaps.cells import (
    ALL_AREAS,
    MEASURES,
    UNKNOWN_AREA,
    CountedDemand,
    GapCell,
    Position,
    _Counts,
    assemble_cells,
    demand_counts,
)
from csomatch.gaps.periods import Period, period_of
from csomatch.gaps.sentences import Context, Names
from csomatch.gaps.suppression import suppress_line
from csomatch.i18n import _

#: The groups a cell can be split by, in the order of the docs.
GROUPS: Final[tuple[PopulationGroup, ...]] = get_args(PopulationGroup)


def check_group(group: str, field: str = "group") -> PopulationGroup:
    """``group`` itself when it is one of ``GROUPS``; an InvalidInput naming ``field`` if not."""
    for known in GROUPS:
        if group == known:
            return known
    raise InvalidInput(
        _("unknown group {group}; one of {groups}", group=repr(group), groups=", ".join(GROUPS)),
        field=field,
    )


Monthly = dict[tuple[Position, dt.date], dict[str, list[int]]]


def _monthly(rows: Iterable[GroupDemandRow]) -> Monthly:
    """Exact counts per (position, month) and group, participant-wide positions added."""
    out: Monthly = defaultdict(dict)
    for r in rows:
        counts = [r.needs, r.unmet, r.unmet_capacity, r.declines, r.searches]
        for area in (r.area_code or UNKNOWN_AREA, ALL_AREAS):
            by_group = out[((r.participant_code, area, r.taxonomy_code), r.month)]
            total = by_group.setdefault(r.population_group, [0] * len(MEASURES))
            for i, n in enumerate(counts):
                total[i] += n
    return out


def _unsplit_rows(monthly: Monthly) -> list[DemandRow]:
    """The unsplit monthly demand rows (every group summed) of the areas, not the totals."""
    rows = []
    for ((participant, area, code), month), by_group in monthly.items():
        if area == ALL_AREAS:
            continue
        sums = [sum(c[i] for c in by_group.values()) for i in range(len(MEASURES))]
        rows.append(
            DemandRow(
                participant_code=participant,
                area_code=None if area == UNKNOWN_AREA else area,
                taxonomy_code=code,
                month=month,
                needs=sums[0],
                unmet=sums[1],
                unmet_capacity=sums[2],
                declines=sums[3],
                searches=sums[4],
            )
        )
    return rows


def group_demand_counts(
    rows: Iterable[GroupDemandRow], periods: Sequence[Period], group: str
) -> dict[tuple[Position, str], _Counts]:
    """Published demand counts of ``group`` per (position, period label); see the module doc."""
    return split_demand_counts(rows, periods, (group,))[group]


def split_demand_counts(
    rows: Iterable[GroupDemandRow], periods: Sequence[Period], groups: Sequence[str]
) -> dict[str, dict[tuple[Position, str], _Counts]]:
    """``group_demand_counts`` of each of ``groups``, counting the rows once."""
    monthly = _monthly(rows)
    months = sorted({m for p in periods for m in p.months})
    # The unsplit cells' hidden counts, month by month, exactly as the unsplit cells hide them.
    unsplit = demand_counts(_unsplit_rows(monthly), [period_of(m, "month") for m in months])
    withheld = set(MEASURES)
    by_month: dict[str, dict[dt.date, list[tuple[Position, _Counts]]]] = {
        g: defaultdict(list) for g in groups
    }
    for (pos, month), by_group in monthly.items():
        if pos[1] != ALL_AREAS:
            for g in groups:
                if (mine := by_group.get(g)) is not None:
                    by_month[g][month].append((pos, _Counts(values=list(mine), hidden=withheld)))
            continue
        total = unsplit.get((pos, period_of(month, "month").label))
        hidden: dict[str, set[str]] = {g: set() for g in groups}
        for i, m in enumerate(MEASURES):
            line = {g: c[i] for g, c in by_group.items()}
            for g in suppress_line(line, total is None or m in total.hidden):
                if g in hidden:
                    hidden[g].add(m)
        for g in groups:
            if (mine := by_group.get(g)) is not None:
                by_month[g][month].append((pos, _Counts(values=list(mine), hidden=hidden[g])))
    return {g: _by_period(by_month[g], periods) for g in groups}


def _by_period(
    by_month: dict[dt.date, list[tuple[Position, _Counts]]], periods: Sequence[Period]
) -> dict[tuple[Position, str], _Counts]:
    """Monthly counts summed per period; a period hides what any of its months hides."""
    out: dict[tuple[Position, str], _Counts] = {}
    for period in periods:
        for month in period.months:
            for pos, c in by_month.get(month, []):
                acc = out.get((pos, period.label))
                if acc is None:
                    out[(pos, period.label)] = _Counts(values=list(c.values), hidden=set(c.hidden))
                    continue
                for i, n in enumerate(c.values):
                    acc.values[i] += n
                acc.hidden |= c.hidden
    return out


def withhold_area_demand(
    counts: dict[tuple[Position, str], _Counts], positions: Iterable[tuple[Position, str]]
) -> None:
    """Withhold the demand of every split cell of one area, zeros included (module doc)."""
    for key in positions:
        if key[0][1] != ALL_AREAS and key not in counts:
            counts[key] = _Counts(values=[0] * len(MEASURES), hidden=set(MEASURES))


class GroupCells(msgspec.Struct, frozen=True, kw_only=True):
    """A group's cells and the context that writes their sentences."""

    cells: list[GapCell]
    context: Context


async def compute_group_cells(
    conn: asyncpg.Connection,
    group: PopulationGroup,
    *,
    periods: list[Period],
    participants: list[str] | None,
    now: dt.datetime,
    stale_hours: float,
    catchments: Mapping[str, Catchment] = DEFAULT_CATCHMENTS,
) -> GroupCells:
    """Every cell of ``participants`` (None: all) in ``periods`` restricted to ``group``."""
    split = await compute_split(
        conn,
        (group,),
        periods=periods,
        participants=participants,
        now=now,
        stale_hours=stale_hours,
        catchments=catchments,
    )
    return split[group]


async def compute_split(
    conn: asyncpg.Connection,
    groups: Sequence[PopulationGroup],
    *,
    periods: list[Period],
    participants: list[str] | None,
    now: dt.datetime,
    stale_hours: float,
    catchments: Mapping[str, Catchment] = DEFAULT_CATCHMENTS,
) -> dict[PopulationGroup, GroupCells]:
    """The cells of each of ``groups``: the demand read and suppressed once for all of them.

    A group's town is covered by a fresh service eligible for the group within the code's
    ``catchments`` (the plain cells' rule, ``analysis.cell_context``); its supply counts
    only fresh, eligible, licensed capacity, its stale services counted apart.
    """
    since = min(p.start for p in periods)
    until = max(p.end for p in periods)
    today = now.date()
    stale_before = now - dt.timedelta(hours=stale_hours)
    rows = await groups_db.demand_by_group(
        conn, since=since, until=until, participants=participants
    )
    languages = groups_db.needed_languages(rows)
    # PostgreSQL computes each group's supply while Python counts the demand and builds the
    # cells of the groups already read, in worker threads (as ``analysis.compute_cells``).
    counted: dict[str, dict[tuple[Position, str], _Counts]] = {}
    ready = anyio.Event()
    # One build at a time: two in parallel threads share one GIL and un-pause each other's
    # garbage collector (``cells._collector_paused``), which made them slower than in turn.
    one_at_a_time = anyio.Lock()
    out: dict[PopulationGroup, GroupCells] = {}

    async def count() -> None:
        counting = functools.partial(split_demand_counts, rows, periods, groups)
        counted.update(await anyio.to_thread.run_sync(counting))
        ready.set()

    async def build(group: PopulationGroup, supply: list[SupplyRow], context: Context) -> None:
        await ready.wait()
        counts = counted[group]
        withhold_area_demand(
            counts,
            (((r.participant_code, r.area_code, r.taxonomy_code), r.period) for r in supply),
        )
        building = functools.partial(
            assemble_cells, CountedDemand(counts=counts, reasons={}), supply_rows=supply,
            periods=periods, today=today, stale_hours=stale_hours, context=context,
        )  # fmt: skip
        async with one_at_a_time:
            cells = await anyio.to_thread.run_sync(building)
        out[group] = GroupCells(cells=cells, context=context)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(count)
        named = await catchment_db.naming(conn, participants)
        names = Names(areas=named.areas, codes=named.codes, participants=named.participants)
        for group in groups:
            supply, sites = await _group_supply(
                conn, group, periods=[(p.label, p.reference_date(today)) for p in periods],
                stale_before=stale_before, participants=participants, languages=languages,
            )  # fmt: skip
            wanted = {
                (r.participant_code, area, r.taxonomy_code)
                for r in rows
                if r.population_group == group
                for area in (r.area_code or UNKNOWN_AREA, ALL_AREAS)
            }
            context = Context(
                covered=covered_positions(wanted, sites, named.centres, catchments),
                catchments=catchments,
                names=names,
            )
            tasks.start_soon(build, group, supply, context)
    return {group: out[group] for group in groups}


async def _group_supply(
    conn: asyncpg.Connection,
    group: PopulationGroup,
    *,
    periods: list[tuple[str, dt.date]],
    stale_before: dt.datetime,
    participants: list[str] | None,
    languages: Sequence[groups_db.NeededLanguage],
) -> tuple[list[SupplyRow], list[Site]]:
    """A group's supply rows (stale services counted apart) and its eligible sites."""
    supply = await groups_db.supply_by_cell_for_group(
        conn, group, periods=periods, stale_before=stale_before, participants=participants,
        languages=languages,
    )  # fmt: skip
    stale = await groups_db.stale_by_cell_for_group(
        conn, group, stale_before=stale_before, participants=participants, languages=languages
    )
    sites = await groups_db.sites_for_group(
        conn, group, stale_before=stale_before, participants=participants, languages=languages
    )
    return (
        with_stale(supply, stale, [label for label, _ in periods]),
        msgspec.convert(sites, list[Site], from_attributes=True),
    )


def with_stale(
    supply: Sequence[SupplyRow], stale: Iterable[StaleCount], periods: Sequence[str]
) -> list[SupplyRow]:
    """The fresh supply rows with each cell's stale services added to its services (pure).

    A stale service brings no places and no money; a cell whose eligible services are all
    stale gets a row of its own (no places), so that it is flagged ``stale_data``.
    """
    out = list(supply)
    index = {
        ((r.participant_code, r.area_code, r.taxonomy_code), r.period): i for i, r in enumerate(out)
    }
    for s in stale:
        pos = (s.participant_code, s.area_code, s.taxonomy_code)
        for period in periods:
            i = index.get((pos, period))
            if i is None:
                out.append(_stale_only(s, period))
            else:
                row = out[i]
                out[i] = msgspec.structs.replace(
                    row, services=row.services + s.stale, stale_services=s.stale
                )
    return out


def _stale_only(s: StaleCount, period: str) -> SupplyRow:
    """The supply row of a cell whose eligible services are all stale: no places, no money."""
    return SupplyRow(
        period=period,
        participant_code=s.participant_code,
        area_code=s.area_code,
        taxonomy_code=s.taxonomy_code,
        services=s.stale,
        stale_services=s.stale,
        capacity=0,
        known_capacity=0,
        known_free=0,
        funded_units=0.0,
        estimated_units=0.0,
        funded_services=0,
        funded_through=None,
        units_ending=0.0,
        funder_refs=[],
        funder_names=[],
        funder_units=[],
    )
