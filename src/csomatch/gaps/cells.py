"""Gap cells: demand, capacity and funding per participant × area × service code × period.

`build_cells` is pure: it takes the exact monthly demand counts and the supply figures the
database computed, hides small counts (``suppression``), and derives every published figure,
flag and severity class **from the published counts only**, so that nothing a funder sees
depends on a hidden number. The thresholds are module constants, published in docs/gaps.md.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal

import msgspec

from csomatch.db.gaps import DemandRow, ReasonRow, SupplyRow
from csomatch.gaps.periods import Period
from csomatch.gaps.suppression import TOTAL, suppress, suppress_line

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
#: severity 4: utilisation at or above this with demand.
UTILISATION_CRITICAL: Final = 0.95
#: underfunded: funded places per place below this.
FUNDED_SHARE_MIN: Final = 0.50
#: severity 2: funded places per place below this.
FUNDED_SHARE_LOW: Final = 0.80
#: funding_cliff: continuous funding ends within this many days (3, 6, 12 months).
CLIFF_DAYS: Final = ((3, 92), (6, 183), (12, 366))
#: single_donor: one funder pays for more than this share of the funded places.
SINGLE_DONOR_SHARE: Final = 0.50
#: severity 5 and 4: unmet needs per need at or above these.
UNMET_CRITICAL: Final = 0.50
UNMET_HIGH: Final = 0.25

FlagCode = Literal[
    "uncovered", "under_capacity", "underfunded", "funding_cliff", "single_donor", "stale_data"
]
FLAG_CODES: Final = (
    "uncovered",
    "under_capacity",
    "underfunded",
    "funding_cliff",
    "single_donor",
    "stale_data",
)


class Flag(msgspec.Struct, frozen=True, kw_only=True):
    """A raised flag and the one sentence that says why, with the numbers."""

    code: FlagCode
    why: str


class FunderShare(msgspec.Struct, frozen=True, kw_only=True):
    """One funder's part of a cell's funded places."""

    ref: str
    name: str
    units: float
    share: float


class GapCell(msgspec.Struct, frozen=True, kw_only=True):
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


def cell_key(participant: str, area: str, code: str, period: str) -> str:
    """The id of a cell: ``RS:RS-792680:ACC.EMERG:2026-11``."""
    return f"{participant}:{area}:{code}:{period}"


Position = tuple[str, str, str]  # participant, area, code


class _Counts(msgspec.Struct, kw_only=True):
    values: dict[str, int]
    hidden: set[str]


def _monthly_tables(
    rows: Iterable[DemandRow],
) -> dict[tuple[str, dt.date], dict[Position, dict[str, int]]]:
    """Exact counts per (participant, month), position and measure, participant totals added."""
    tables: dict[tuple[str, dt.date], dict[Position, dict[str, int]]] = defaultdict(dict)
    for row in rows:
        area = row.area_code or UNKNOWN_AREA
        table = tables[(row.participant_code, row.month)]
        for pos in (
            (row.participant_code, area, row.taxonomy_code),
            (row.participant_code, ALL_AREAS, row.taxonomy_code),
        ):
            counts = table.setdefault(pos, dict.fromkeys(MEASURES, 0))
            for m in MEASURES:
                counts[m] += int(getattr(row, m))
    return tables


def _monthly_hidden(
    table: Mapping[Position, Mapping[str, int]],
) -> dict[Position, set[str]]:
    """Suppress each measure's area × code table of one participant and month."""
    hidden: dict[Position, set[str]] = defaultdict(set)
    for m in MEASURES:
        interior = {
            (pos[1], pos[2]): counts[m]
            for pos, counts in table.items()
            if pos[1] != ALL_AREAS and counts[m] > 0
        }
        participant = next(iter(table))[0]
        for area, code in suppress(interior):
            if area == TOTAL and code == TOTAL:
                continue  # totals over every code are not published
            if code == TOTAL:
                continue  # nor totals of an area over every code
            hidden[(participant, ALL_AREAS if area == TOTAL else str(area), str(code))].add(m)
    return hidden


def demand_counts(
    rows: Iterable[DemandRow], periods: Sequence[Period]
) -> dict[tuple[Position, str], _Counts]:
    """Published demand counts per (position, period label).

    Suppression runs on calendar months; a quarter's count is the sum of its months and is
    hidden when any of its months is, so quarters publish nothing the months do not.
    """
    tables = _monthly_tables(rows)
    month_counts: dict[tuple[Position, dt.date], _Counts] = {}
    for (_, month), table in tables.items():
        hidden = _monthly_hidden(table)
        for pos, counts in table.items():
            month_counts[(pos, month)] = _Counts(values=dict(counts), hidden=hidden.get(pos, set()))
    out: dict[tuple[Position, str], _Counts] = {}
    by_month: dict[dt.date, list[Position]] = defaultdict(list)
    for pos, month in month_counts:
        by_month[month].append(pos)
    for period in periods:
        for month in period.months:
            for pos in by_month.get(month, []):
                c = month_counts[(pos, month)]
                total = out.get((pos, period.label))
                if total is None:
                    out[(pos, period.label)] = _Counts(values=dict(c.values), hidden=set(c.hidden))
                    continue
                for m in MEASURES:
                    total.values[m] += c.values[m]
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


def build_cells(
    *,
    demand_rows: Iterable[DemandRow],
    reason_rows: Iterable[ReasonRow],
    supply_rows: Iterable[SupplyRow],
    periods: Sequence[Period],
    today: dt.date,
    stale_hours: float,
) -> list[GapCell]:
    """Every cell with demand or a service in ``periods``, suppressed, flagged and classed."""
    demand = demand_counts(demand_rows, periods)
    reasons = reason_counts(reason_rows, periods, demand)
    supply = supply_by_position(supply_rows)
    refs = {p.label: p.reference_date(today) for p in periods}
    cells = [
        _cell(
            pos,
            period,
            demand.get((pos, period)),
            supply.get((pos, period)),
            reasons.get((pos, period), {}),
            refs[period],
            stale_hours,
        )
        for pos, period in sorted(set(demand) | set(supply))
        if period in refs
    ]
    return cells


def _published(counts: _Counts | None, measure: str) -> int | None:
    if counts is None:
        return 0
    return None if measure in counts.hidden else counts.values[measure]


def _ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return round(part / whole, 4)


def _cell(
    pos: Position,
    period: str,
    counts: _Counts | None,
    supply: SupplyRow | None,
    reasons: dict[str, int | None],
    ref: dt.date,
    stale_hours: float,
) -> GapCell:
    participant, area, code = pos
    shown = {m: _published(counts, m) for m in MEASURES}
    needs, unmet = shown["needs"], shown["unmet"]
    services = supply.services if supply else 0
    capacity = supply.capacity if supply else 0
    known_capacity = supply.known_capacity if supply else 0
    free = supply.known_free if supply and known_capacity else None
    funded = round(supply.funded_units, 1) if supply else 0.0
    through = supply.funded_through if supply else None
    total_units = sum(supply.funder_units) if supply else 0.0
    funders = (
        [
            FunderShare(
                ref=ref_, name=name, units=round(units, 1), share=round(units / total_units, 4)
            )
            for ref_, name, units in zip(
                supply.funder_refs, supply.funder_names, supply.funder_units, strict=True
            )
        ]
        if supply and total_units > 0
        else []
    )
    hhi = round(sum(f.share**2 for f in funders), 4) if funders else None
    figures = _Figures(
        code=code,
        area=area,
        period=period,
        shown=shown,
        any_demand=counts is not None and any(counts.values[m] > 0 for m in MEASURES),
        services=services,
        stale_services=supply.stale_services if supply else 0,
        capacity=capacity,
        known_capacity=known_capacity,
        free=free,
        funded=funded,
        through=through,
        runway=(through - ref).days if through else None,
        units_ending=round(supply.units_ending, 1) if supply else 0.0,
        funders=funders,
        hhi=hhi,
        stale_hours=stale_hours,
        unmet_share=_share(needs, unmet),
        utilisation=None if free is None else _ratio(known_capacity - free, known_capacity),
        coverage=_ratio(funded, capacity),
        cliff_months=_cliff(through, ref),
    )
    flags = figures.flags()
    return GapCell(
        key=cell_key(participant, area, code, period),
        participant_code=participant,
        area_code=area,
        taxonomy_code=code,
        period=period,
        needs=needs,
        unmet=unmet,
        unmet_capacity=shown["unmet_capacity"],
        declines=shown["declines"],
        searches=shown["searches"],
        unmet_share=figures.unmet_share,
        services=services,
        stale_services=figures.stale_services,
        capacity=capacity,
        free=free,
        utilisation=figures.utilisation,
        funded_units=funded,
        estimated_units=round(supply.estimated_units, 1) if supply else 0.0,
        funding_coverage=figures.coverage,
        funded_through=through,
        runway_days=figures.runway,
        units_ending=figures.units_ending,
        funders=funders,
        hhi=hhi,
        severity=figures.severity(flags),
        flags=flags,
        suppressed=sorted(counts.hidden) if counts else [],
        unmet_reasons=reasons,
    )


class _Figures(msgspec.Struct, kw_only=True):
    """The published figures of a cell, and the rules that read them."""

    code: str
    area: str
    period: str
    shown: dict[str, int | None]
    any_demand: bool
    services: int
    stale_services: int
    capacity: int
    known_capacity: int
    free: int | None
    funded: float
    through: dt.date | None
    runway: int | None
    units_ending: float
    funders: list[FunderShare]
    hhi: float | None
    stale_hours: float

    unmet_share: float | None
    utilisation: float | None
    coverage: float | None
    cliff_months: int | None

    def _where(self) -> str:
        if self.area == ALL_AREAS:
            return "in the whole participant"
        if self.area == UNKNOWN_AREA:
            return "with no area recorded"
        return f"in {self.area}"

    def flags(self) -> list[Flag]:
        """The flags the published figures raise, each with its sentence."""
        out: list[Flag] = []
        s = self.shown
        if self.any_demand and self.services == 0 and self.area != UNKNOWN_AREA:
            out.append(
                Flag(
                    code="uncovered",
                    why=f"{_n(s['needs'])} needs, {_n(s['unmet'])} unmet and "
                    f"{_n(s['searches'])} empty searches for {self.code} {self._where()} in "
                    f"{self.period}, and no provider of {self.code} there.",
                )
            )
        pressure = _sum(s["unmet_capacity"], s["declines"])
        needs = s["needs"]
        utilisation = self.utilisation
        if (
            self.services > 0
            and pressure is not None
            and needs
            and pressure / needs >= CAPACITY_PRESSURE
        ):
            out.append(
                Flag(
                    code="under_capacity",
                    why=f"{pressure} of {needs} needs ({pressure / needs:.0%}) found no free "
                    f"place or were declined for lack of capacity (threshold "
                    f"{CAPACITY_PRESSURE:.0%}).",
                )
            )
        elif self.any_demand and utilisation is not None and utilisation >= UTILISATION_FULL:
            out.append(
                Flag(
                    code="under_capacity",
                    why=f"{self.known_capacity - (self.free or 0)} of {self.known_capacity} "
                    f"places are in use ({utilisation:.0%}, threshold {UTILISATION_FULL:.0%}) "
                    f"while there is demand.",
                )
            )
        coverage = self.coverage
        if coverage is not None and coverage < FUNDED_SHARE_MIN:
            out.append(
                Flag(
                    code="underfunded",
                    why=f"funding pays for {self.funded:g} of {self.capacity} places "
                    f"({coverage:.0%}, threshold {FUNDED_SHARE_MIN:.0%}).",
                )
            )
        months = self.cliff_months
        if months is not None and self.through is not None:
            out.append(
                Flag(
                    code="funding_cliff",
                    why=f"funding for {self.units_ending:g} places ends on "
                    f"{self.through.isoformat()}, in {self.runway} days (within {months} "
                    f"months), and no committed grant follows.",
                )
            )
        if self.funders and self.funders[0].share > SINGLE_DONOR_SHARE:
            top = self.funders[0]
            out.append(
                Flag(
                    code="single_donor",
                    why=f"{top.name} pays for {top.share:.0%} of the funded places "
                    f"(Herfindahl index {self.hhi:.2f}; threshold {SINGLE_DONOR_SHARE:.0%}).",
                )
            )
        if self.stale_services:
            out.append(
                Flag(
                    code="stale_data",
                    why=f"{self.stale_services} of {self.services} services have not "
                    f"reported capacity within {self.stale_hours:g} hours; their places count "
                    f"as unknown.",
                )
            )
        return out

    def severity(self, flags: list[Flag]) -> int:
        """Severity class 1-5: the highest class whose rule holds (docs/gaps.md)."""
        codes = {f.code for f in flags}
        share = self.unmet_share
        months = self.cliff_months
        utilisation = self.utilisation
        if "uncovered" in codes or (share is not None and share >= UNMET_CRITICAL) or months == 3:
            return 5
        if (
            (share is not None and share >= UNMET_HIGH)
            or months == 6
            or (self.any_demand and utilisation is not None and utilisation >= UTILISATION_CRITICAL)
        ):
            return 4
        if codes & {"under_capacity", "underfunded", "funding_cliff"}:
            return 3
        coverage = self.coverage
        unmet = self.shown["unmet"]
        if (
            codes & {"single_donor", "stale_data"}
            or (unmet is None or unmet > 0)
            or (coverage is not None and coverage < FUNDED_SHARE_LOW)
        ):
            return 2
        return 1


def _share(needs: int | None, unmet: int | None) -> float | None:
    """Unmet needs per need (unmet over the larger of the two), unless one is hidden."""
    if needs is None or unmet is None:
        return None
    return _ratio(unmet, max(needs, unmet))


def _cliff(through: dt.date | None, ref: dt.date) -> int | None:
    """3, 6 or 12: the first horizon within which continuous funding ends; None beyond."""
    if through is None:
        return None
    runway = (through - ref).days
    return next((months for months, days in CLIFF_DAYS if runway <= days), None)


def _n(value: int | None) -> str:
    return "a suppressed number of" if value is None else str(value)


def _sum(*values: int | None) -> int | None:
    if any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)
