"""Gap cells: demand, capacity and funding per participant × area × service code × period.

`build_cells` is pure: it takes the exact monthly demand counts and the supply figures the
database computed, hides small counts (``suppression``), and derives every published figure,
flag and severity class **from the published counts only**, so that nothing a funder sees
depends on a hidden number. The thresholds are module constants, published in docs/gaps.md.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Final, Literal, get_args

import msgspec

from csomatch.db.gaps import DemandRow, ReasonRow, SupplyRow
from csomatch.gaps.periods import Period
from csomatch.gaps.sentences import (
    Context,
    Names,
    Value,
    Where,
    period_words,
    reach_words,
    service_name,
    town_name,
)
from csomatch.gaps.severity import Inputs, classify
from csomatch.gaps.suppression import TOTAL, suppress_each, suppress_line
from csomatch.i18n import _, current_locale, format_value, percent

#: ``area_code`` of a participant-wide cell, and of demand recorded without an area.
ALL_AREAS: Final = "ALL"
UNKNOWN_AREA: Final = "UNKNOWN"

#: The demand counts; each is a count of signals, so each is suppressed when small.
MEASURES: Final = ("needs", "unmet", "unmet_capacity", "declines", "searches")

# --- Published thresholds (docs/gaps.md, "Flags and severity"). ---
#: under_capacity: unmet needs for lack of places plus declines for no capacity, per need.
CAPACITY_PRESSURE: Final = 0.10
#: under_capacity: share of the known places in use while there is demand.
UTILISATION_FULL: Final = 0.90
#: underfunded: funded places per place below this.
FUNDED_SHARE_MIN: Final = 0.50
#: funding_cliff: continuous funding ends within this many days (3, 6, 12 months).
CLIFF_DAYS: Final = ((3, 92), (6, 183), (12, 366))
#: single_donor: one funder pays for more than this share of the funded places.
SINGLE_DONOR_SHARE: Final = 0.50
# The severity classes and their thresholds are in gaps/severity.py.

FlagCode = Literal[
    "uncovered", "under_capacity", "underfunded", "funding_cliff", "single_donor", "stale_data"
]
FLAG_CODES: Final[tuple[FlagCode, ...]] = get_args(FlagCode)


# Cells are built by the tens of thousands and never form a reference cycle: gc=False keeps
# Python's cyclic garbage collector from tracking (and re-traversing) them.


class Flag(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A raised flag and the one sentence that says why, with the numbers."""

    code: FlagCode
    why: str


class FunderShare(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One funder's part of a cell's funded places."""

    ref: str
    name: str
    units: float
    share: float


class GapCell(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One cell as a funder sees it: aggregates only; a suppressed count is ``None``."""

    key: str
    participant_code: str
    area_code: str
    taxonomy_code: str
    period: str
    needs: int | None
    unmet: int | None
    unmet_capacity: int | None
    declines: int | None
    searches: int | None
    unmet_share: float | None
    services: int
    stale_services: int
    capacity: int
    free: int | None
    utilisation: float | None
    funded_units: float
    estimated_units: float
    funding_coverage: float | None
    funded_through: dt.date | None
    runway_days: int | None
    units_ending: float
    funders: list[FunderShare]
    hhi: float | None
    severity: int
    flags: list[Flag]
    #: Names of the counts hidden in this cell (small, or hidden so that others cannot be
    #: worked out).
    suppressed: list[str]
    #: Unmet needs by reason other than ``no_capacity`` (participant-wide cells only);
    #: a suppressed reason is ``None``.
    unmet_reasons: dict[str, int | None]
    #: Survivor-led organisations' share of the places and of the funded places (None: none).
    survivor_led_capacity_share: float | None = None
    survivor_led_funding_share: float | None = None
    #: Public money's share (ministry and municipality funders) of the EUR a year paying for
    #: the cell's services on its reference date; the rest is donor money (None: no grant).
    public_share: float | None = None
    #: Why the cell has its severity, in words (gaps/sentences.py): the text, the id of its
    #: template and the values filled in (for a translation). Written for the cells a query
    #: returns (``explain_cells``); empty straight from ``build_cells``.
    sentence: str = ""
    sentence_template: str = ""
    sentence_values: dict[str, Value] = {}


def cell_key(participant: str, area: str, code: str, period: str) -> str:
    """The id of a cell: ``RS:RS-792680:ACC.EMERG:2026-11``."""
    return f"{participant}:{area}:{code}:{period}"


Position = tuple[str, str, str]  # participant, area, code


class _Counts(msgspec.Struct, kw_only=True, gc=False):
    """Exact counts of a position in a month or period, in ``MEASURES`` order; which are hidden."""

    values: list[int]
    hidden: set[str]


#: The counts of a position without demand in a period: all 0, none hidden (never changed).
_NO_DEMAND: Final = _Counts(values=[0] * len(MEASURES), hidden=set())


def _monthly_tables(
    rows: Iterable[DemandRow],
) -> dict[tuple[str, dt.date], dict[Position, list[int]]]:
    """Exact counts per (participant, month), position and measure, participant totals added."""
    tables: dict[tuple[str, dt.date], dict[Position, list[int]]] = {}
    for row in rows:
        key = (row.participant_code, row.month)
        table = tables.get(key)
        if table is None:
            table = tables[key] = {}
        counts = (
            int(row.needs),
            int(row.unmet),
            int(row.unmet_capacity),
            int(row.declines),
            int(row.searches),
        )
        for pos in (
            (row.participant_code, row.area_code or UNKNOWN_AREA, row.taxonomy_code),
            (row.participant_code, ALL_AREAS, row.taxonomy_code),
        ):
            total = table.get(pos)
            if total is None:
                table[pos] = list(counts)
            else:
                for i, n in enumerate(counts):
                    total[i] += n
    return tables


def _monthly_hidden(
    participant: str, table: Mapping[Position, list[int]]
) -> dict[Position, set[str]]:
    """Suppress each measure's area × code table of one participant and month."""
    interior = {
        (area, code): counts for (_, area, code), counts in table.items() if area != ALL_AREAS
    }
    hidden: dict[Position, set[str]] = defaultdict(set)
    if not interior:
        return hidden  # suppress_each of no cell is no table
    for m, cells in zip(MEASURES, suppress_each(interior), strict=True):
        for row, col in cells:
            if col == TOTAL:
                continue  # totals of an area (or of all) over every code are not published
            hidden[(participant, ALL_AREAS if row == TOTAL else str(row), str(col))].add(m)
    return hidden


def demand_counts(
    rows: Iterable[DemandRow], periods: Sequence[Period]
) -> dict[tuple[Position, str], _Counts]:
    """Published demand counts per (position, period label).

    Suppression runs on calendar months; a quarter's count is the sum of its months and is
    hidden when any of its months is, so quarters publish nothing the months do not.
    """
    by_month: dict[dt.date, list[tuple[Position, _Counts]]] = defaultdict(list)
    for (participant, month), table in _monthly_tables(rows).items():
        hidden = _monthly_hidden(participant, table)
        entries = by_month[month]
        for pos, counts in table.items():
            entries.append((pos, _Counts(values=counts, hidden=hidden.get(pos) or set())))
    out: dict[tuple[Position, str], _Counts] = {}
    for period in periods:
        label, months = period.label, period.months
        if len(months) == 1:
            # A month's counts are its own; nothing below changes them, so they are shared.
            for pos, c in by_month.get(months[0], []):
                out[(pos, label)] = c
            continue
        for month in months:
            for pos, c in by_month.get(month, []):
                total = out.get((pos, label))
                if total is None:
                    out[(pos, label)] = _Counts(values=list(c.values), hidden=set(c.hidden))
                    continue
                for i, n in enumerate(c.values):
                    total.values[i] += n
                total.hidden |= c.hidden
    return out


def reason_counts(
    rows: Iterable[ReasonRow],
    periods: Sequence[Period],
    demand: Mapping[tuple[Position, str], _Counts],
) -> dict[tuple[Position, str], dict[str, int | None]]:
    """Unmet needs by reason (``no_capacity`` excluded) per participant-wide cell and period.

    The reasons of one cell add up to its unmet needs less those for ``no_capacity``; all are
    hidden when either count is, else the line is suppressed on its own (``suppress_line``),
    month by month, a quarter hiding what any of its months hides.
    """
    monthly: dict[tuple[Position, dt.date], dict[str, int]] = defaultdict(dict)
    for row in rows:
        if row.reason == "no_capacity":
            continue
        pos = (row.participant_code, ALL_AREAS, row.taxonomy_code)
        monthly[(pos, row.month)][row.reason] = row.n
    out: dict[tuple[Position, str], dict[str, int | None]] = {}
    for period in periods:
        for pos in {p for p, month in monthly if period.start <= month < period.end}:
            cell = demand.get((pos, period.label))
            totals_hidden = cell is None or bool({"unmet", "unmet_capacity"} & cell.hidden)
            sums: dict[str, int] = defaultdict(int)
            hidden: set[str] = set()
            for month in period.months:
                counts = monthly.get((pos, month), {})
                for reason, n in counts.items():
                    sums[reason] += n
                hidden |= suppress_line(counts, totals_hidden)
            out[(pos, period.label)] = {
                reason: None if reason in hidden else n for reason, n in sorted(sums.items())
            }
    return out


def _merge_supply(rows: Sequence[SupplyRow]) -> SupplyRow:
    """A participant-wide supply row from the rows of its areas."""
    first = rows[0]
    through = [r.funded_through for r in rows if r.funded_through is not None]
    cliff = min(through) if through else None
    funders: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        for ref, name, units in zip(r.funder_refs, r.funder_names, r.funder_units, strict=True):
            funders[(ref, name)] += units
    ordered = sorted(funders.items(), key=lambda item: (-item[1], item[0][0]))
    return SupplyRow(
        period=first.period,
        participant_code=first.participant_code,
        area_code=ALL_AREAS,
        taxonomy_code=first.taxonomy_code,
        services=sum(r.services for r in rows),
        stale_services=sum(r.stale_services for r in rows),
        capacity=sum(r.capacity for r in rows),
        known_capacity=sum(r.known_capacity for r in rows),
        known_free=sum(r.known_free for r in rows),
        funded_units=sum(r.funded_units for r in rows),
        estimated_units=sum(r.estimated_units for r in rows),
        funded_services=sum(r.funded_services for r in rows),
        funded_through=cliff,
        units_ending=sum(r.units_ending for r in rows if r.funded_through == cliff),
        funder_refs=[ref for (ref, _), _ in ordered],
        funder_names=[name for (_, name), _ in ordered],
        funder_units=[units for _, units in ordered],
        survivor_led_capacity=sum(r.survivor_led_capacity for r in rows),
        survivor_led_funded=sum(r.survivor_led_funded for r in rows),
        public_eur=sum(r.public_eur for r in rows),
        money_eur=sum(r.money_eur for r in rows),
    )


def supply_by_position(rows: Iterable[SupplyRow]) -> dict[tuple[Position, str], SupplyRow]:
    """Supply rows per (position, period), participant-wide rows added."""
    out: dict[tuple[Position, str], SupplyRow] = {}
    groups: dict[tuple[Position, str], list[SupplyRow]] = defaultdict(list)
    for r in rows:
        out[((r.participant_code, r.area_code, r.taxonomy_code), r.period)] = r
        groups[((r.participant_code, ALL_AREAS, r.taxonomy_code), r.period)].append(r)
    for key, group in groups.items():
        out[key] = _merge_supply(group)
    return out


class CountedDemand(msgspec.Struct, frozen=True, kw_only=True):
    """Published demand counts and unmet reasons per (position, period label)."""

    counts: dict[tuple[Position, str], _Counts]
    reasons: dict[tuple[Position, str], dict[str, int | None]]


def count_demand(
    demand_rows: Iterable[DemandRow], reason_rows: Iterable[ReasonRow], periods: Sequence[Period]
) -> CountedDemand:
    """The half of ``build_cells`` that needs no supply: demand counted and suppressed."""
    with _collector_paused():
        counts = demand_counts(demand_rows, periods)
        return CountedDemand(counts=counts, reasons=reason_counts(reason_rows, periods, counts))


def build_cells(
    *,
    demand_rows: Iterable[DemandRow],
    reason_rows: Iterable[ReasonRow],
    supply_rows: Iterable[SupplyRow],
    periods: Sequence[Period],
    today: dt.date,
    stale_hours: float,
    context: Context | None = None,
) -> list[GapCell]:
    """Every cell with demand or a service in ``periods``, suppressed, flagged and classed."""
    return assemble_cells(
        count_demand(demand_rows, reason_rows, periods),
        supply_rows=supply_rows,
        periods=periods,
        today=today,
        stale_hours=stale_hours,
        context=context,
    )


def assemble_cells(
    counted: CountedDemand,
    *,
    supply_rows: Iterable[SupplyRow],
    periods: Sequence[Period],
    today: dt.date,
    stale_hours: float,
    context: Context | None = None,
) -> list[GapCell]:
    """The other half of ``build_cells``: every cell from counted demand and the supply.

    ``context`` holds which positions an eligible service reaches within its catchment and
    the names of towns and services; None: a town is covered by a service of its own, and
    sentences use codes' names only where known (tests of the pure logic).
    """
    context = context or Context()
    with _collector_paused():
        demand, reasons = counted.counts, counted.reasons
        supply = supply_by_position(supply_rows)
        refs = sorted((p.label, p.reference_date(today)) for p in periods)
        positions = {pos for pos, _ in demand}
        positions.update(pos for pos, _ in supply)
        cells = []
        # In (position, period) order: positions sorted once, then each one's periods.
        for pos in sorted(positions):
            for label, ref in refs:
                key = (pos, label)
                counts = demand.get(key, _NO_DEMAND)
                cover = supply.get(key)
                if counts is _NO_DEMAND and cover is None:
                    continue
                cells.append(
                    _cell(
                        pos, label, counts, cover, reasons.get(key) or {}, ref, stale_hours, context
                    )
                )
        return cells


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector (reference counting still frees everything).

    Building the cells allocates about a million small containers and no reference cycle;
    with the collector on, its generational passes re-traverse the growing heap and took a
    third of the time. It is switched back on afterwards if it was on when this started, even
    on an error (two overlapping pauses, in two threads, leave it on).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _cell(
    pos: Position,
    period: str,
    counts: _Counts,
    supply: SupplyRow | None,
    reasons: dict[str, int | None],
    ref: dt.date,
    stale_hours: float,
    context: Context,
) -> GapCell:
    """One cell's published figures, flags and severity class, from published counts only.

    The steps, in order: demand, supply within reach, funding (``_funding``), the ratios, the
    flags (each with its sentence, ``_*_flag``) and the severity class with the sentence that
    explains it (``gaps/severity.py``, ``gaps/sentences.py``). It runs
    for every cell: the steps pass plain values, and demand and supply are read in place.
    """
    participant, area, code = pos
    # Demand: the published counts; a hidden one is None.
    values = counts.values
    needs: int | None
    unmet: int | None
    unmet_capacity: int | None
    declines: int | None
    searches: int | None
    needs, unmet, unmet_capacity, declines, searches = values
    any_demand = max(values) > 0  # counts are never negative
    hidden = counts.hidden
    suppressed = sorted(hidden) if hidden else []
    if hidden:
        needs = None if "needs" in hidden else needs
        unmet = None if "unmet" in hidden else unmet
        unmet_capacity = None if "unmet_capacity" in hidden else unmet_capacity
        declines = None if "declines" in hidden else declines
        searches = None if "searches" in hidden else searches

    # Supply and funding: none in a cell without a service.
    if supply is None:
        services = stale_services = capacity = known_capacity = 0
        free: int | None = None
        funded = estimated = units_ending = 0.0
        through: dt.date | None = None
        funders: list[FunderShare] = []
        hhi: float | None = None
        runway: int | None = None
        cliff_months: int | None = None
    else:
        # Supply within reach: the services of the cell and their places.
        services = supply.services
        stale_services = supply.stale_services
        capacity = supply.capacity
        known_capacity = supply.known_capacity
        free = supply.known_free if known_capacity else None
        # Funding: the funded places, who pays for them and until when.
        funded = round(supply.funded_units, 1)
        estimated = round(supply.estimated_units, 1)
        units_ending = round(supply.units_ending, 1)
        through = supply.funded_through
        funders, hhi, runway, cliff_months = _funding(supply, ref)

    # The ratios of docs/gaps.md (rounded to 4 places; None when a part is hidden or the
    # whole is 0); unmet_share divides by the larger of needs and unmet.
    unmet_share = None
    if needs is not None and unmet is not None and (larger := max(needs, unmet)):
        unmet_share = round(unmet / larger, 4)
    # free is known only when known_capacity is not 0
    utilisation = None if free is None else round((known_capacity - free) / known_capacity, 4)
    coverage = round(funded / capacity, 4) if capacity else None

    # Flags, in the order of FLAG_CODES (docs/gaps.md, "Flags and severity").
    flags: list[Flag] = []
    # Uncovered: no eligible service within the code's catchment (gaps/catchments.py).
    covered = services > 0 if context.covered is None else pos in context.covered
    uncovered = any_demand and not covered and area != UNKNOWN_AREA
    if uncovered:
        where = Where(
            participant=participant,
            area=area,
            code=code,
            period=period,
            catchments=context.catchments,
        )
        flags.append(_uncovered_flag(needs, unmet, searches, where, context.names))
    pressure = None if unmet_capacity is None or declines is None else unmet_capacity + declines
    under_capacity = True
    if services > 0 and pressure is not None and needs and pressure / needs >= CAPACITY_PRESSURE:
        flags.append(_pressure_flag(pressure, needs))
    elif any_demand and utilisation is not None and utilisation >= UTILISATION_FULL:
        flags.append(_full_flag(known_capacity - (free or 0), known_capacity, utilisation))
    else:
        under_capacity = False
    underfunded = coverage is not None and coverage < FUNDED_SHARE_MIN
    if underfunded:
        flags.append(_underfunded_flag(funded, capacity, coverage))
    if cliff_months is not None and through is not None:
        flags.append(_cliff_flag(units_ending, through, runway, cliff_months))
    single_donor = bool(funders) and funders[0].share > SINGLE_DONOR_SHARE
    if single_donor:
        flags.append(_single_donor_flag(funders[0], hhi))
    if stale_services:
        flags.append(_stale_flag(stale_services, services, stale_hours))

    inputs = Inputs(
        any_demand=any_demand,
        needs=needs,
        unmet=unmet,
        unmet_share=unmet_share,
        uncovered=uncovered,
        under_capacity=under_capacity,
        underfunded=underfunded,
        single_donor=single_donor,
        stale_services=stale_services,
        capacity=capacity,
        free=free,
        utilisation=utilisation,
        coverage=coverage,
        cliff_months=cliff_months,
        units_ending=units_ending,
    )
    severity, driver = classify(inputs)
    key = cell_key(participant, area, code, period)
    # The sentence is written later, for the cells a query returns (sentences.explain_cells);
    # the parts are kept as they are, the small Structs are built only then.
    context.pending[key] = (
        driver,
        inputs,
        None if free is None else known_capacity - free,
        funded,
        through,
        funders[0] if funders else None,
        services,
        period,
    )
    return GapCell(
        key=key,
        participant_code=participant,
        area_code=area,
        taxonomy_code=code,
        period=period,
        needs=needs,
        unmet=unmet,
        unmet_capacity=unmet_capacity,
        declines=declines,
        searches=searches,
        unmet_share=unmet_share,
        services=services,
        stale_services=stale_services,
        capacity=capacity,
        free=free,
        utilisation=utilisation,
        funded_units=funded,
        estimated_units=estimated,
        funding_coverage=coverage,
        funded_through=through,
        runway_days=runway,
        units_ending=units_ending,
        funders=funders,
        hhi=hhi,
        severity=severity,
        flags=flags,
        suppressed=suppressed,
        unmet_reasons=reasons,
        survivor_led_capacity_share=(
            round(supply.survivor_led_capacity / capacity, 4) if supply and capacity else None
        ),
        survivor_led_funding_share=(
            round(supply.survivor_led_funded / supply.funded_units, 4)
            if supply and supply.funded_units > 0
            else None
        ),
        public_share=(
            round(supply.public_eur / supply.money_eur, 4)
            if supply and supply.money_eur > 0
            else None
        ),
    )


def _funding(
    supply: SupplyRow, ref: dt.date
) -> tuple[list[FunderShare], float | None, int | None, int | None]:
    """Funding: each funder's share, their Herfindahl index, the runway and its cliff horizon.

    The runway is the number of days from ``ref`` to the end of continuous funding; the
    horizon is 3, 6 or 12: the first (in months) within which it ends, or None beyond.
    """
    funders: list[FunderShare] = []
    hhi = None
    total_units = sum(supply.funder_units)
    if total_units > 0:
        # One loop, not two comprehensions (each a function call in Python 3.11): it runs for
        # most cells. The index sums the squares of the rounded shares, in funder order.
        squares = []
        for ref_, name, units in zip(
            supply.funder_refs, supply.funder_names, supply.funder_units, strict=True
        ):
            share = round(units / total_units, 4)
            funders.append(FunderShare(ref=ref_, name=name, units=round(units, 1), share=share))
            squares.append(share**2)
        hhi = round(sum(squares), 4)
    through = supply.funded_through
    if through is None:
        return funders, hhi, None, None
    runway = (through - ref).days
    for months, days in CLIFF_DAYS:
        if runway <= days:
            return funders, hhi, runway, months
    return funders, hhi, runway, None


# --- Explanations: a raised flag with the one sentence that says why, with the numbers. ---


def _uncovered_flag(
    needs: int | None, unmet: int | None, searches: int | None, where: Where, names: Names
) -> Flag:
    """``uncovered``: demand for a service and no eligible provider within its catchment."""
    service, town = service_name(where, names), town_name(where, names)
    return Flag(
        code="uncovered",
        why=_(
            "{needs} needs, {unmet} unmet and {searches} empty searches for {service} in "
            "{town} in {period}, and no eligible provider {reach}.",
            needs=_n(needs),
            unmet=_n(unmet),
            searches=_n(searches),
            service=service,
            town=town,
            period=period_words(where.period),
            reach=reach_words(where, names),
        ),
    )


def _pressure_flag(pressure: int, needs: int) -> Flag:
    """``under_capacity``: too many needs unmet or declined for lack of places."""
    return Flag(
        code="under_capacity",
        why=_(
            "{pressure} of {needs} needs ({share}) found no free place or were declined for "
            "lack of capacity (threshold {threshold}).",
            pressure=pressure,
            needs=needs,
            share=percent(pressure / needs),
            threshold=percent(CAPACITY_PRESSURE),
        ),
    )


def _full_flag(in_use: int, known_capacity: int, utilisation: float) -> Flag:
    """``under_capacity``: the known places are nearly all in use while there is demand."""
    return Flag(
        code="under_capacity",
        why=_(
            "{in_use} of {places} places are in use ({share}, threshold {threshold}) while "
            "there is demand.",
            in_use=in_use,
            places=known_capacity,
            share=percent(utilisation),
            threshold=percent(UTILISATION_FULL),
        ),
    )


def _underfunded_flag(funded: float, capacity: int, coverage: float | None) -> Flag:
    """``underfunded``: funding pays for too few of the places."""
    return Flag(
        code="underfunded",
        why=_(
            "funding pays for {funded} of {places} places ({share}, threshold {threshold}).",
            funded=float(funded),
            places=capacity,
            share=percent(coverage or 0.0),
            threshold=percent(FUNDED_SHARE_MIN),
        ),
    )


def _cliff_flag(units_ending: float, through: dt.date, runway: int | None, months: int) -> Flag:
    """``funding_cliff``: continuous funding ends soon and no committed grant follows."""
    return Flag(
        code="funding_cliff",
        why=_(
            "funding for {places} places ends on {date}, in {days} days (within {months} "
            "months), and no committed grant follows.",
            places=float(units_ending),
            date=through,
            days=runway,
            months=months,
        ),
    )


def _single_donor_flag(top: FunderShare, hhi: float | None) -> Flag:
    """``single_donor``: one funder pays for most of the funded places."""
    return Flag(
        code="single_donor",
        why=_(
            "{funder} pays for {share} of the funded places (Herfindahl index {hhi}; "
            "threshold {threshold}).",
            funder=top.name,
            share=percent(top.share),
            hhi=format_value(float(hhi or 0.0), current_locale(), digits=2),
            threshold=percent(SINGLE_DONOR_SHARE),
        ),
    )


def _stale_flag(stale_services: int, services: int, stale_hours: float) -> Flag:
    """``stale_data``: some services have not reported their capacity lately."""
    return Flag(
        code="stale_data",
        why=_(
            "{stale} of {services} services have not reported capacity within {hours} hours; "
            "their places count as unknown.",
            stale=stale_services,
            services=services,
            hours=float(stale_hours),
        ),
    )


def _n(value: int | None) -> str:
    """A count in a sentence: the number, or words saying it is suppressed."""
    return _("a suppressed number of") if value is None else str(value)
