"""HTTP routes of the gap analysis for funders: cells, one cell's evidence, CSV with HXL.

Scope: a token of jurisdiction ``MARRI`` or of role ``admin`` sees every participant; any other
token (funder, coordinator) sees its own jurisdiction's cells only. Every figure is an aggregate
with small counts suppressed (docs/gaps.md). Funders see closed periods only (the last ``n``
periods end with the last closed month or quarter; an open one answers 403, its cell 404);
coordinators and admins also the current, still open period.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import asyncpg
from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta

from csomatch.api.aliases import either, old_name
from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Cfg, Conn
from csomatch.api.idempotency import idempotent
from csomatch.api.schemas.registry import In, Out
from csomatch.domain import (
    COORDINATING,
    PARTICIPANT_GROUP,
    PARTICIPANT_PATTERN,
    PARTICIPANTS,
    TAXONOMY_CODE_PATTERN,
    ParticipantPattern,
    Principal,
    Role,
    one_of_pattern,
)
from csomatch.errors import Forbidden, InvalidInput
from csomatch.gaps.analysis import CellEvidence, GapQuery, cell_evidence, list_cells
from csomatch.gaps.catchments import load_catchments
from csomatch.gaps.cells import FLAG_CODES, GapCell
from csomatch.gaps.financing import provider_scope
from csomatch.gaps.groups import GROUPS
from csomatch.gaps.periods import sees_open_period
from csomatch.gaps.table import to_csv
from csomatch.gaps.whatif import (
    AllocationOut,
    Scope,
    WhatIf,
    add_budget,
    propose_allocation,
    remove_funder,
)
from csomatch.i18n import _
from csomatch.settings import Settings

GAP_READERS: tuple[Role, ...] = ("funder", *COORDINATING)
#: Litestar adds "; charset=utf-8" to a text/* media type itself.
CSV_MEDIA = "text/csv"

ParticipantQ = Annotated[
    str | None, QueryParameter(pattern=PARTICIPANT_PATTERN, description="participant code")
]
AreaQ = Annotated[
    str | None,
    QueryParameter(
        pattern="^(" + PARTICIPANT_GROUP + "-[0-9]+|ALL|UNKNOWN)$",
        description="area code; ALL for participant-wide cells, UNKNOWN for demand without area",
    ),
]
CodeQ = Annotated[
    str | None, QueryParameter(pattern=TAXONOMY_CODE_PATTERN, description="service taxonomy code")
]
#: ``service``: the old name of ``code`` (deprecated, one release; api/aliases.py).
ServiceQ = Annotated[str | None, old_name("code", pattern=TAXONOMY_CODE_PATTERN)]
PeriodQ = Annotated[
    str | None,
    QueryParameter(pattern=r"^\d{4}-(\d{2}|Q[1-4])$", description="one period: 2026-11 or 2026-Q4"),
]
GranularityQ = Annotated[
    Literal["month", "quarter"], QueryParameter(description="period length when no period is given")
]
PeriodsQ = Annotated[int, QueryParameter(ge=1, le=24, description="how many recent periods")]
FlagQ = Annotated[
    str | None,
    QueryParameter(
        pattern=one_of_pattern(FLAG_CODES),
        description="only cells with this flag",
    ),
]
GroupQ = Annotated[
    str | None,
    QueryParameter(
        pattern=one_of_pattern(GROUPS),
        description="only this population group's demand and the capacity eligible for it",
    ),
]
SeverityQ = Annotated[int, QueryParameter(ge=1, le=5, description="lowest severity class")]
FormatQ = Annotated[Literal["json", "csv"], QueryParameter(description="json or csv (with HXL)")]
ClosedQ = Annotated[
    bool | None,
    QueryParameter(
        description="true: closed periods only (the last n end with the last closed one); "
        "false: up to the current, open period. Default: true for funders (who may not ask "
        "false), false for coordinators and admins"
    ),
]


class GapList(Out, frozen=True):
    """The cells a query selects, most severe first; every count is an aggregate."""

    scope: list[str]
    total: int
    cells: list[GapCell]


def participants_visible_to(principal: Principal) -> list[str] | None:
    """Participants a caller may see: None (all) for admin and MARRI tokens."""
    participant = principal.participant()
    if principal.role == "admin" or participant is None:
        return None
    return [participant]


def closed_only(principal: Principal, asked: bool | None = None) -> bool:
    """Whether the caller's gap figures stop at the last closed period.

    Always for funders, and for a provider reading the cells its services serve.
    """
    if sees_open_period(principal.role) and principal.role != "provider":
        return bool(asked)
    if asked is False:
        raise Forbidden(
            _("funders see closed periods only; leave out closed or send closed=true"),
            field="query.closed",
        )
    return True


def participants_in_scope(principal: Principal, participant: str | None) -> list[str] | None:
    """The participants a query covers: the one asked (within the scope) or all visible."""
    scope = participants_visible_to(principal)
    if participant is None:
        return scope
    if scope is not None and participant not in scope:
        raise Forbidden(
            _(
                "this token sees gaps of {allowed} only, not {participant}",
                allowed=", ".join(scope),
                participant=participant,
            ),
            field="participant",
        )
    return [participant]


async def _cells(
    conn: asyncpg.Connection,
    settings: Settings,
    principal: Principal,
    query: GapQuery,
    participant: str | None,
    closed: bool | None,
) -> list[GapCell]:
    query = GapQuery(
        participants=participants_in_scope(principal, participant),
        area=query.area,
        code=query.code,
        period=query.period,
        granularity=query.granularity,
        count=query.count,
        flag=query.flag,
        min_severity=query.min_severity,
        closed_only=closed_only(principal, closed),
        group=query.group,
    )
    return await list_cells(
        conn,
        query,
        now=dt.datetime.now(dt.UTC),
        stale_hours=settings.stale_hours,
        catchments=load_catchments(settings.catchments_file),
    )


@dataclass
class JsonOrCsv(Operation):
    """The OpenAPI operation of ``/gaps``: JSON, or CSV (with HXL) with ``format=csv``."""

    def __post_init__(self) -> None:
        """Add the CSV answer beside the JSON one."""
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[CSV_MEDIA] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))


@get(
    "/api/v1/gaps",
    opt=roles(*GAP_READERS),
    responses={200: ResponseSpec(GapList, description="the cells", generate_examples=False)},
    operation_class=JsonOrCsv,
)
async def list_gaps(
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    participant: ParticipantQ = None,
    area: AreaQ = None,
    code: CodeQ = None,
    period: PeriodQ = None,
    granularity: GranularityQ = "month",
    periods: PeriodsQ = 12,
    flag: FlagQ = None,
    min_severity: SeverityQ = 1,
    format: FormatQ = "json",
    closed: ClosedQ = None,
    service: ServiceQ = None,
    group: GroupQ = None,
) -> Response[GapList] | Response[str]:
    """Gap cells (participant × area × service × period), most severe first.

    ``format=csv`` answers CSV whose second row holds HXL hashtags (same as /api/v1/gaps.csv).
    """
    query = GapQuery(
        area=area, code=either(code, service, new_name="code", old_name="service"),
        period=period, granularity=granularity, count=periods, flag=flag,
        min_severity=min_severity, group=group,
    )  # fmt: skip
    cells = await _cells(conn, settings, principal, query, participant, closed)
    if format == "csv":
        return _csv(cells)
    scope = participants_visible_to(principal) or list(PARTICIPANTS)
    return Response(GapList(scope=scope, total=len(cells), cells=cells))


def _csv(cells: list[GapCell]) -> Response[str]:
    return Response(
        to_csv(cells),
        media_type=CSV_MEDIA,
        headers={"Content-Disposition": 'attachment; filename="gaps.csv"'},
    )


@get("/api/v1/gaps.csv", opt=roles(*GAP_READERS), media_type=CSV_MEDIA)
async def gaps_csv(
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    participant: ParticipantQ = None,
    area: AreaQ = None,
    code: CodeQ = None,
    period: PeriodQ = None,
    granularity: GranularityQ = "month",
    periods: PeriodsQ = 12,
    flag: FlagQ = None,
    min_severity: SeverityQ = 1,
    closed: ClosedQ = None,
    service: ServiceQ = None,
    group: GroupQ = None,
) -> Response[str]:
    """Gap cells as CSV: a header row, then HXL hashtags, then one row per cell."""
    query = GapQuery(
        area=area, code=either(code, service, new_name="code", old_name="service"),
        period=period, granularity=granularity, count=periods, flag=flag,
        min_severity=min_severity, group=group,
    )  # fmt: skip
    return _csv(await _cells(conn, settings, principal, query, participant, closed))


@get("/api/v1/gaps/{cell:str}", opt=roles(*GAP_READERS, "provider"))
async def get_gap(
    conn: Conn, settings: Cfg, principal: Caller, cell: FromPath[str]
) -> CellEvidence:
    """One cell with its evidence: the services, places, funded places and grants behind it.

    A cell of a participant outside the token's scope, or (for a funder or a provider) of a
    period not over yet, answers 404; a provider reads only the cells its services serve, with
    the evidence of its own services.
    """
    return await cell_evidence(
        conn,
        cell,
        allowed=participants_visible_to(principal),
        now=dt.datetime.now(dt.UTC),
        stale_hours=settings.stale_hours,
        closed_only=closed_only(principal),
        catchments=load_catchments(settings.catchments_file),
        only_services=await provider_scope(conn, principal, cell),
    )


Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
Money = Annotated[float, Meta(gt=0, le=1e10)]


class AddBudgetIn(In, frozen=True):
    """Money added to one service, turned into units at ``unit_cost`` (or the ledger's median)."""

    service_id: uuid.UUID
    amount: Money
    currency: Currency = "EUR"
    unit_cost: Annotated[float, Meta(ge=0.01, le=1e10)] | None = None


class WhatIfIn(In, frozen=True):
    """One change to test: remove a funder's places, or add a budget to a service."""

    remove_funder: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    add_budget: AddBudgetIn | None = None
    participant: ParticipantPattern | None = None


class UnitCostIn(In, frozen=True):
    """A known yearly cost of one unit of a service, overriding the ledger's estimate."""

    service_id: uuid.UUID
    cost: Annotated[float, Meta(ge=0.01, le=1e10)]


class AllocateIn(In, frozen=True):
    """A budget (whole currency units) to spend on places where they cover most unmet demand."""

    budget: Annotated[int, Meta(ge=1, le=10_000_000_000)]
    currency: Currency = "EUR"
    participant: ParticipantPattern | None = None
    unit_costs: tuple[UnitCostIn, ...] = ()
    time_limit_s: Annotated[float, Meta(gt=0, le=10)] = 5.0


@post("/api/v1/gaps/what-if", opt=roles(*GAP_READERS), status_code=200)
async def what_if(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    data: JSONBody[WhatIfIn],
) -> Response[WhatIf]:
    """Re-place the last 12 months of demand with one funder's places removed, or a budget added.

    Reports the change in unmet needs and travel distance, and the areas left with no provider.
    Changes nothing; honours an Idempotency-Key all the same (a retry gets the first answer).
    """
    run = functools.partial(_what_if, conn, _scope(settings), principal, data)
    return await idempotent(request, conn, principal, run, status_code=200, required=False)


async def _what_if(
    conn: asyncpg.Connection, scope: Scope, principal: Principal, data: WhatIfIn
) -> WhatIf:
    participants = participants_in_scope(principal, data.participant)
    now = dt.datetime.now(dt.UTC)
    if (data.remove_funder is None) == (data.add_budget is None):
        raise InvalidInput(_("give exactly one of remove_funder and add_budget"), field="$")
    if data.remove_funder is not None:
        return await remove_funder(
            conn, data.remove_funder, participants=participants, now=now, scope=scope,
            closed_only=closed_only(principal),
        )  # fmt: skip
    assert data.add_budget is not None
    b = data.add_budget
    return await add_budget(
        conn, b.service_id, b.amount, b.currency, b.unit_cost, participants=participants,
        now=now, scope=scope, closed_only=closed_only(principal),
    )  # fmt: skip


@post("/api/v1/gaps/allocate", opt=roles(*GAP_READERS), status_code=200)
async def allocate_budget(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    data: JSONBody[AllocateIn],
) -> Response[AllocationOut]:
    """Propose how a budget, at each service's unit cost, covers the most severe unmet demand.

    Changes nothing; honours an Idempotency-Key all the same (a retry gets the first answer).
    """
    run = functools.partial(_allocate, conn, settings, principal, data)
    return await idempotent(request, conn, principal, run, status_code=200, required=False)


async def _allocate(
    conn: asyncpg.Connection, settings: Settings, principal: Principal, data: AllocateIn
) -> AllocationOut:
    return await propose_allocation(
        conn,
        budget=data.budget,
        currency=data.currency,
        overrides={u.service_id: u.cost for u in data.unit_costs},
        participants=participants_in_scope(principal, data.participant),
        now=dt.datetime.now(dt.UTC),
        scope=_scope(settings),
        time_limit_s=data.time_limit_s,
        closed_only=closed_only(principal),
    )


def _scope(settings: Settings) -> Scope:
    """The cells' stale limit and catchments, for the what-if and the allocation."""
    return Scope(
        stale_hours=settings.stale_hours, catchments=load_catchments(settings.catchments_file)
    )


GAP_ROUTES = [list_gaps, gaps_csv, get_gap, what_if, allocate_budget]
