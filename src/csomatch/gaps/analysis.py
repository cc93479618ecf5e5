"""Use cases of the gap analysis: every cell of a scope, one cell with its evidence."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping

import anyio
import anyio.to_thread
import asyncpg
import msgspec

from csomatch.db import areas as area_db
from csomatch.db import catchments as catchment_db
from csomatch.db import gaps as gaps_db
from csomatch.domain import PARTICIPANTS
from csomatch.errors import Forbidden, InvalidInput, NotFound
from csomatch.gaps.catchments import DEFAULT_CATCHMENTS, Catchment, Site, covered_positions
from csomatch.gaps.cells import (
    ALL_AREAS,
    FLAG_CODES,
    UNKNOWN_AREA,
    CountedDemand,
    GapCell,
    assemble_cells,
    count_demand,
)
from csomatch.gaps.financing import FundingMix, cell_financing
from csomatch.gaps.groups import check_group, compute_group_cells
from csomatch.gaps.periods import (
    Granularity,
    Period,
    is_closed,
    last_closed,
    last_periods,
    parse_period,
)
from csomatch.gaps.sentences import Context, Names, explain_cells
from csomatch.i18n import _


class GapQuery(msgspec.Struct, frozen=True, kw_only=True):
    """Which cells to return. ``participants`` None: every participant."""

    participants: list[str] | None = None
    area: str | None = None
    code: str | None = None
    #: One period (``2026-11`` or ``2026-Q4``); None: the last ``count`` periods.
    period: str | None = None
    granularity: Granularity = "month"
    count: int = 12
    flag: str | None = None
    min_severity: int = 1
    #: Only periods that are over (a funder's view): the last ``count`` end with the last
    #: closed one, and a ``period`` still open is refused.
    closed_only: bool = False
    #: One population group (``gaps.groups.GROUPS``): the cells restricted to it; None: all.
    group: str | None = None


class ServiceEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """A service behind a cell: who, how many places, how many paid for, until when."""

    service_id: uuid.UUID
    service_name: str
    organization_name: str
    area_code: str
    unit: str | None
    maximum: int | None
    free: int | None
    stale: bool
    funded_units: float
    estimated_units: float
    funded_through: dt.date | None


class GrantEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """A committed or disbursed grant paying for a service of the cell, current or future."""

    funder_ref: str
    funder_name: str
    service_id: uuid.UUID
    status: str
    amount: float
    currency: str
    period_start: dt.date
    period_end: dt.date
    funded_units: int | None
    unit: str | None


class CellEvidence(msgspec.Struct, frozen=True, kw_only=True):
    """A cell, the reference date its supply figures are read on, and what they come from."""

    cell: GapCell
    area_name: str | None
    reference_date: dt.date
    services: list[ServiceEvidence]
    grants: list[GrantEvidence]
    #: Who pays for the cell's services on the reference date (docs/funding.md, "Who pays").
    financing: FundingMix | None = None


def periods_of(query: GapQuery, today: dt.date) -> list[Period]:
    """The periods a query covers (Forbidden: an open period asked for with ``closed_only``)."""
    if query.period is not None:
        period = parse_period(query.period)
        if query.closed_only and not is_closed(period, today):
            newest = last_closed(today, "quarter" if "Q" in period.label else "month")
            raise Forbidden(
                _(
                    "{label} is not over yet; funders see closed periods only, the newest "
                    "is {newest}",
                    label=period.label,
                    newest=newest.label,
                ),
                field="query.period",
            )
        return [period]
    if query.closed_only:
        today = last_closed(today, query.granularity).start
    return last_periods(today, query.granularity, query.count)


async def compute_cells(
    conn: asyncpg.Connection,
    *,
    periods: list[Period],
    participants: list[str] | None,
    now: dt.datetime,
    stale_hours: float,
    catchments: Mapping[str, Catchment] = DEFAULT_CATCHMENTS,
) -> list[GapCell]:
    """Every cell of ``participants`` (None: all) in ``periods``, suppressed and flagged.

    Suppression runs on whole participant-months, so the result never depends on filters.
    A town is covered by an eligible service within the code's ``catchments``. The cells
    have no sentence yet (``list_cells`` writes those of the cells it returns).
    """
    cells, _ = await _cells_and_context(
        conn,
        periods=periods,
        participants=participants,
        now=now,
        stale_hours=stale_hours,
        catchments=catchments,
    )
    return cells


async def _cells_and_context(
    conn: asyncpg.Connection,
    *,
    periods: list[Period],
    participants: list[str] | None,
    now: dt.datetime,
    stale_hours: float,
    catchments: Mapping[str, Catchment],
) -> tuple[list[GapCell], Context]:
    """``compute_cells`` and the context that can write each cell's sentence."""
    since = min(p.start for p in periods)
    until = max(p.end for p in periods)
    today = now.date()
    demand = await gaps_db.demand_by_month(
        conn, since=since, until=until, participants=participants
    )
    reasons = await gaps_db.unmet_reasons(conn, since=since, until=until, participants=participants)
    # Demand is counted and suppressed in a worker thread while PostgreSQL computes the
    # supply: the two run at the same time, on two cores.
    counted: list[CountedDemand] = []

    async def count() -> None:
        counting = functools.partial(count_demand, demand, reasons, periods)
        counted.append(await anyio.to_thread.run_sync(counting))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(count)
        supply = await gaps_db.supply_by_cell(
            conn,
            periods=[(p.label, p.reference_date(today)) for p in periods],
            stale_before=now - dt.timedelta(hours=stale_hours),
            participants=participants,
        )
    context = await cell_context(conn, demand, participants, catchments)
    cells = assemble_cells(
        counted[0],
        supply_rows=supply,
        periods=periods,
        today=today,
        stale_hours=stale_hours,
        context=context,
    )
    return cells, context


async def cell_context(
    conn: asyncpg.Connection,
    demand: list[gaps_db.DemandRow],
    participants: list[str] | None,
    catchments: Mapping[str, Catchment],
) -> Context:
    """Which positions with demand an eligible service reaches, and the names of things."""
    named = await catchment_db.naming(conn, participants)
    found = await catchment_db.eligible_sites(conn, participants=participants)
    sites = msgspec.convert(found, list[Site], from_attributes=True)
    wanted: set[tuple[str, str, str]] = set()
    for row in demand:
        wanted.add((row.participant_code, row.area_code or UNKNOWN_AREA, row.taxonomy_code))
        wanted.add((row.participant_code, ALL_AREAS, row.taxonomy_code))
    return Context(
        covered=covered_positions(wanted, sites, named.centres, catchments),
        catchments=catchments,
        names=Names(areas=named.areas, codes=named.codes, participants=named.participants),
    )


def _keep(cell: GapCell, query: GapQuery) -> bool:
    return (
        (query.area is None or cell.area_code == query.area)
        and (query.code is None or cell.taxonomy_code == query.code)
        and (query.flag is None or any(f.code == query.flag for f in cell.flags))
        and cell.severity >= query.min_severity
    )


async def list_cells(
    conn: asyncpg.Connection,
    query: GapQuery,
    *,
    now: dt.datetime,
    stale_hours: float,
    catchments: Mapping[str, Catchment] = DEFAULT_CATCHMENTS,
) -> list[GapCell]:
    """The cells a query selects, most severe first (towns covered within ``catchments``)."""
    if query.flag is not None and query.flag not in FLAG_CODES:
        raise InvalidInput(
            _(
                "unknown flag {flag}; one of {flags}",
                flag=repr(query.flag),
                flags=", ".join(FLAG_CODES),
            ),
            field="flag",
        )
    periods = periods_of(query, now.date())
    if query.group is None:
        cells, context = await _cells_and_context(
            conn, periods=periods, participants=query.participants, now=now,
            stale_hours=stale_hours, catchments=catchments,
        )  # fmt: skip
    else:
        # A group's cells: its demand against fresh eligible supply, covered within the same
        # catchments (gaps/groups.py).
        split = await compute_group_cells(
            conn, check_group(query.group), periods=periods, participants=query.participants,
            now=now, stale_hours=stale_hours, catchments=catchments,
        )  # fmt: skip
        cells, context = split.cells, split.context
    kept = [c for c in cells if _keep(c, query)]
    kept.sort(
        key=lambda c: (-c.severity, c.period, c.participant_code, c.area_code, c.taxonomy_code)
    )
    return explain_cells(kept, context)


def parse_key(key: str) -> tuple[str, str, str, Period]:
    """Participant, area, code and period of a cell id such as ``RS:ALL:ACC.EMERG:2026-11``."""
    parts = key.split(":")
    if len(parts) != 4 or parts[0] not in PARTICIPANTS:
        raise NotFound(_("no gap cell {key}", key=repr(key)))
    try:
        period = parse_period(parts[3])
    except InvalidInput as exc:
        raise NotFound(_("no gap cell {key}", key=repr(key))) from exc
    return parts[0], parts[1], parts[2], period


async def cell_evidence(
    conn: asyncpg.Connection,
    key: str,
    *,
    allowed: list[str] | None,
    now: dt.datetime,
    stale_hours: float,
    closed_only: bool = False,
    catchments: Mapping[str, Catchment] = DEFAULT_CATCHMENTS,
    only_services: frozenset[uuid.UUID] | None = None,
) -> CellEvidence:
    """One cell with the services and grants behind it.

    ``only_services``: the services the evidence may list, their grants and money (a
    provider's own); None: every service of the cell. Raises NotFound outside ``allowed``
    or, with ``closed_only``, for a period not over yet.
    """
    participant, area, code, period = parse_key(key)
    if allowed is not None and participant not in allowed:
        raise NotFound(_("no gap cell {key}", key=repr(key)))
    if closed_only and not is_closed(period, now.date()):
        raise NotFound(_("no gap cell {key}: funders see closed periods only", key=repr(key)))
    cells, context = await _cells_and_context(
        conn,
        periods=[period],
        participants=[participant],
        now=now,
        stale_hours=stale_hours,
        catchments=catchments,
    )
    matching = [c for c in cells if c.key == key]
    if not matching:
        raise NotFound(_("no gap cell {key}", key=repr(key)))
    cell = explain_cells(matching, context)[0]
    ref = period.reference_date(now.date())
    services: list[ServiceEvidence] = []
    grants: list[GrantEvidence] = []
    if area != UNKNOWN_AREA:
        rows = await gaps_db.services_of_cell(
            conn,
            period=(period.label, ref),
            stale_before=now - dt.timedelta(hours=stale_hours),
            participant=participant,
            area_code=None if area == ALL_AREAS else area,
            taxonomy_code=code,
        )
        if only_services is not None:
            rows = [r for r in rows if r.service_id in only_services]
        services = msgspec.convert(rows, list[ServiceEvidence], from_attributes=True)
        found = await gaps_db.grants_of_services(conn, [s.service_id for s in rows], on=ref)
        grants = msgspec.convert(found, list[GrantEvidence], from_attributes=True)
    named = await area_db.get_areas(conn, [area])
    return CellEvidence(
        cell=cell,
        area_name=named[0].name if named else None,
        reference_date=ref,
        services=services,
        grants=grants,
        financing=await cell_financing(conn, [s.service_id for s in services], ref),
    )
