"""What-if runs and budget allocation on the last 12 months of demand.

Demand is the ``need`` signals of the last 12 months, one unit demand per need, placed in its
area's centre. Providers are the services with a capacity reported within the stale limit,
accepting referrals and licensed where a licence is needed (the cells' supply rules), each
able to serve ``maximum x TURNOVER[unit]`` people in a year. A need may go to a service of its
code in the same participant (the jurisdiction rule, ``matching.rules.may_serve``: a need
signal names the participant that serves it) within the code's catchment (the cells' table,
``gaps/catchments.py``, ellipsoidal distance between area centres); the cost of a placement is
its distance. The pure solver (``csomatch.solver``) places the year's demand
with and without the change; the allocation optimiser (``csomatch.solver.allocation``) buys
units where they cover most unmet demand weighted by severity. Assumptions are published in
docs/gaps.md.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Final

import anyio.to_thread
import asyncpg
import msgspec
import numpy as np

from csomatch.db import gaps as gaps_db
from csomatch.domain import may_serve
from csomatch.errors import InvalidInput, NotFound
from csomatch.gaps.analysis import GapQuery, list_cells
from csomatch.gaps.catchments import DEFAULT_CATCHMENTS, Catchment, catchment_of
from csomatch.gaps.periods import open_since
from csomatch.geo import distance_matrix_km
from csomatch.i18n import _
from csomatch.solver import (
    Arc,
    Demand,
    Problem,
    ProblemError,
    Provider,
    SolveParams,
    check_solution,
    solve,
)
from csomatch.solver.allocation import (
    AllocationProblem,
    Bucket,
    Link,
    Option,
    allocate,
    check_allocation,
)

#: People one unit serves in a year (a bed: four stays of about three months).
TURNOVER: Final = {"bed": 4, "place": 4, "session_per_week": 6, "hour_per_week": 5, "case": 6}
#: Cost of leaving a need unmet, in the cost unit (100 m): larger than any placement.
UNMET_PENALTY: Final = 100_000
#: Most units a what-if budget or an allocation buys at one service.
MAX_UNITS: Final = 100_000
#: Days of demand the what-if reads.
DEMAND_DAYS: Final = 365

BucketKey = tuple[str, str, str]  # participant, area, code


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """One solve of the year's demand."""

    status: str
    needs: int
    placed: int
    unmet: int
    travel_km: float
    mean_km: float | None


class WhatIf(msgspec.Struct, frozen=True, kw_only=True):
    """The effect of a change on the year's demand; all figures are model aggregates."""

    change: str
    participants: list[str]
    #: People per year the change removes (negative) or adds at the affected services.
    capacity_change: int
    baseline: Run
    scenario: Run
    unmet_change: int
    travel_km_change: float
    #: ``AREA:CODE`` pairs with demand whose every reachable provider has no capacity left.
    areas_left_without_provider: list[str]


class PurchaseOut(msgspec.Struct, frozen=True, kw_only=True):
    """Units proposed at one service, their cost and the people they would serve."""

    service_id: uuid.UUID
    service_name: str
    organization_name: str
    area_code: str
    taxonomy_code: str
    units: int
    unit: str | None
    unit_cost: int
    cost: int
    people: int


class AllocationOut(msgspec.Struct, frozen=True, kw_only=True):
    """The optimiser's proposal for a budget."""

    status: str
    budget: int
    currency: str
    spent: int
    #: Needs of the last 12 months that found no free place (unmet or declined for capacity).
    unmet_before: int
    covered: int
    covered_weight: int | None
    bound: int | None
    purchases: list[PurchaseOut]
    #: Service codes with no unit cost in this currency (no grant with units to learn from).
    codes_without_cost: list[str]
    #: Services that would count if licensed: outside the allocation, never funded by it.
    license_first: list[LicenceFirstOut] = []


class LicenceFirstOut(msgspec.Struct, frozen=True, kw_only=True):
    """A service that needs a licence not in force: licensing it first would add its places."""

    service_id: uuid.UUID
    service_name: str
    organization_name: str
    area_code: str
    taxonomy_code: str
    unit: str | None
    maximum: int
    #: Needs of the last 12 months without a free place in the areas it could serve.
    shortfall_in_reach: int


class _World(msgspec.Struct, kw_only=True):
    buckets: dict[BucketKey, int]
    #: The providers: services with a reported capacity, accepting referrals, licensed.
    services: list[gaps_db.ServicePoint]
    links: dict[BucketKey, list[tuple[int, float]]]  # bucket -> (service index, km)
    #: Services that would be providers but for a licence not in force (never funded).
    unlicensed: list[gaps_db.ServicePoint]
    unlicensed_links: dict[BucketKey, list[int]]  # bucket -> indexes into ``unlicensed``


def demand_until(now: dt.datetime, *, closed_only: bool) -> dt.datetime:
    """Where the year of demand ends: now, or for a funder the start of the month still open.

    A funder (``closed_only``) sees closed periods only.
    """
    return open_since(now.date()) if closed_only else now


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """Which providers count and how far a need travels: the gap cells' settings."""

    #: Capacity reported longer ago than this (or never) is not supply.
    stale_hours: float
    catchments: Mapping[str, Catchment] = msgspec.field(default_factory=lambda: DEFAULT_CATCHMENTS)


async def _world(
    conn: asyncpg.Connection,
    until: dt.datetime,
    participants: list[str] | None,
    scope: Scope,
    now: dt.datetime,
) -> _World:
    needs = await gaps_db.needs_by_area(
        conn, since=until - dt.timedelta(days=DEMAND_DAYS), until=until
    )
    points = {a.code: (a.latitude, a.longitude) for a in await gaps_db.area_points(conn)}
    stale_before = now - dt.timedelta(hours=scope.stale_hours)
    candidates = [
        s
        for s in await gaps_db.service_points(conn)
        if (participants is None or s.participant_code in participants)
        and s.maximum is not None
        and s.accepting_referrals
        # Stale capacity is not supply, as in a group's cells (docs/gaps.md, "Who is left out").
        and s.reported_at is not None
        and s.reported_at >= stale_before
    ]
    # Capacity behind a licence not in force is not supply (docs/gaps.md, "Who is left out").
    services = [s for s in candidates if s.licensed]
    unlicensed = [s for s in candidates if not s.licensed]
    buckets = {
        (b.participant_code, b.area_code, b.taxonomy_code): b.n
        for b in needs
        if participants is None or b.participant_code in participants
    }
    reach = functools.partial(_reach, points=points, catchments=scope.catchments)
    links = {key: reach(key, services, _by_code(services)) for key in buckets}
    unlicensed_by_code = _by_code(unlicensed)
    unlicensed_links = {
        key: [i for i, _ in reach(key, unlicensed, unlicensed_by_code)] for key in buckets
    }
    return _World(
        buckets=buckets,
        services=services,
        links=links,
        unlicensed=unlicensed,
        unlicensed_links=unlicensed_links,
    )


def _by_code(services: list[gaps_db.ServicePoint]) -> dict[str, list[int]]:
    by_code: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(services):
        by_code[s.taxonomy_code].append(i)
    return by_code


def _reach(
    key: BucketKey,
    services: list[gaps_db.ServicePoint],
    by_code: Mapping[str, list[int]],
    *,
    points: Mapping[str, tuple[float, float]],
    catchments: Mapping[str, Catchment],
) -> list[tuple[int, float]]:
    """The services (index, km) that may serve a bucket's needs within the code's catchment."""
    participant, area, code = key
    # A bucket's participant is where its needs are served (a referral's need signal names it
    # by the jurisdiction rule), so it is both sides of the rule here.
    allowed = [
        i
        for i in by_code.get(code, [])
        if may_serve(
            code,
            participant,
            participant,
            services[i].participant_code,
            cross_border=services[i].cross_border,
        )
    ]
    if not allowed:
        return []
    sites = np.array([(services[i].latitude, services[i].longitude) for i in allowed])
    km = distance_matrix_km(np.array([points[area]]), sites)[0]
    limit = catchment_of(code, catchments).km  # None: national, any distance
    return [(i, float(d)) for i, d in zip(allowed, km, strict=True) if limit is None or d <= limit]


def license_first(world: _World, shortfall: Mapping[BucketKey, int]) -> list[LicenceFirstOut]:
    """Unlicensed services within reach of a shortfall, most shortfall first (never funded)."""
    reach: dict[int, int] = defaultdict(int)
    for key, n in shortfall.items():
        for i in world.unlicensed_links.get(key, []):
            reach[i] += n
    out = [
        LicenceFirstOut(
            service_id=s.service_id,
            service_name=s.service_name,
            organization_name=s.organization_name,
            area_code=s.area_code,
            taxonomy_code=s.taxonomy_code,
            unit=s.unit,
            maximum=s.maximum or 0,
            shortfall_in_reach=n,
        )
        for i, n in reach.items()
        if n > 0 and (s := world.unlicensed[i])
    ]
    out.sort(key=lambda o: (-o.shortfall_in_reach, str(o.service_id)))
    return out


def _people(s: gaps_db.ServicePoint) -> int:
    return (s.maximum or 0) * TURNOVER.get(s.unit or "place", 4)


def _solve(world: _World, capacity: list[int]) -> tuple[Run, dict[BucketKey, int]]:
    """Place the year's demand with these capacities; the run and the unmet needs per bucket."""
    demands: list[Demand] = []
    arcs: list[Arc] = []
    for key, n in sorted(world.buckets.items()):
        base = "|".join(key)
        for j in range(n):
            demand_id = f"{base}|{j}"
            demands.append(Demand(id=demand_id, unmet_penalty=UNMET_PENALTY))
            arcs.extend(
                Arc(demand=demand_id, provider=str(i), cost=round(km * 10))
                for i, km in world.links[key]
                if capacity[i] > 0
            )
    providers = tuple(Provider(id=str(i), capacity=c) for i, c in enumerate(capacity))
    problem = Problem(demands=tuple(demands), providers=providers, arcs=tuple(arcs))
    solution = solve(problem, SolveParams(time_limit_s=30))
    errors = check_solution(problem, solution)
    if errors:  # the checker shares no code with the solver: a failure is a bug, not input
        raise RuntimeError(f"what-if solution breaks its problem: {errors[0]}")
    km_of = {(a.demand, a.provider): a.cost / 10 for a in arcs}
    travel = sum(km_of[(a.demand, a.provider)] for a in solution.assignments)
    unmet: dict[BucketKey, int] = defaultdict(int)
    for demand_id in solution.unmet:
        participant, area, code, _ = demand_id.split("|")
        unmet[(participant, area, code)] += 1
    placed = len(solution.assignments)
    run = Run(
        status=solution.status,
        needs=len(demands),
        placed=placed,
        unmet=len(solution.unmet),
        travel_km=round(travel, 1),
        mean_km=round(travel / placed, 1) if placed else None,
    )
    return run, unmet


def _reachable(world: _World, capacity: list[int]) -> set[BucketKey]:
    return {key for key, found in world.links.items() if any(capacity[i] > 0 for i, _ in found)}


def _compare(
    world: _World, change: str, participants: list[str], scenario_capacity: list[int]
) -> WhatIf:
    baseline_capacity = [_people(s) for s in world.services]
    baseline, _ = _solve(world, baseline_capacity)
    scenario, _ = _solve(world, scenario_capacity)
    lost = _reachable(world, baseline_capacity) - _reachable(world, scenario_capacity)
    return WhatIf(
        change=change,
        participants=participants,
        capacity_change=sum(scenario_capacity) - sum(baseline_capacity),
        baseline=baseline,
        scenario=scenario,
        unmet_change=scenario.unmet - baseline.unmet,
        travel_km_change=round(scenario.travel_km - baseline.travel_km, 1),
        areas_left_without_provider=sorted(f"{area}:{code}" for _, area, code in lost),
    )


async def remove_funder(
    conn: asyncpg.Connection,
    funder_ref: str,
    *,
    participants: list[str] | None,
    now: dt.datetime,
    scope: Scope,
    closed_only: bool = False,
) -> WhatIf:
    """The year's demand placed without the places ``funder_ref`` pays for today.

    With ``closed_only``, the year is the 365 days up to the month still open.
    """
    if not await gaps_db.funder_exists(conn, funder_ref):
        raise InvalidInput(
            _("unknown funder {funder_ref}", funder_ref=repr(funder_ref)), field="$.remove_funder"
        )
    world = await _world(conn, demand_until(now, closed_only=closed_only), participants, scope, now)
    units: dict[uuid.UUID, float] = defaultdict(float)
    for row in await gaps_db.funder_units_on(conn, now.date()):
        if row.funder_ref == funder_ref:
            units[row.service_id] += row.units
    capacity = [
        max(
            0, _people(s) - round(units.get(s.service_id, 0.0) * TURNOVER.get(s.unit or "place", 4))
        )
        for s in world.services
    ]
    shown = participants or sorted({s.participant_code for s in world.services})
    return await anyio.to_thread.run_sync(
        functools.partial(
            _compare, world, f"remove the places funded by {funder_ref}", shown, capacity
        )
    )


async def _costs(conn: asyncpg.Connection, currency: str, on: dt.date) -> dict[str, float]:
    return {
        c.taxonomy_code: c.cost_per_year for c in await gaps_db.unit_costs(conn, currency, on=on)
    }


async def add_budget(
    conn: asyncpg.Connection,
    service_id: uuid.UUID,
    amount: float,
    currency: str,
    unit_cost: float | None,
    *,
    participants: list[str] | None,
    now: dt.datetime,
    scope: Scope,
    closed_only: bool = False,
) -> WhatIf:
    """The year's demand placed with ``amount`` more spent on one service's places.

    With ``closed_only``, the year is the 365 days up to the month still open.
    """
    world = await _world(conn, demand_until(now, closed_only=closed_only), participants, scope, now)
    index = next((i for i, s in enumerate(world.services) if s.service_id == service_id), None)
    if index is None:
        raise NotFound(
            _(
                "no service {service_id} in scope with a capacity reported within {hours} "
                "hours, accepting referrals and licensed",
                service_id=service_id,
                hours=scope.stale_hours,
            )
        )
    service = world.services[index]
    cost = unit_cost or (await _costs(conn, currency, now.date())).get(service.taxonomy_code)
    if not cost:
        raise InvalidInput(
            _(
                "no grant tells the unit cost of {taxonomy_code}, or no rate of "
                "{currency} to EUR is known; give unit_cost",
                taxonomy_code=service.taxonomy_code,
                currency=currency,
            ),
            field="$.add_budget.unit_cost",
        )
    units = min(int(amount // cost), MAX_UNITS)
    capacity = [_people(s) for s in world.services]
    capacity[index] += units * TURNOVER.get(service.unit or "place", 4)
    shown = participants or sorted({s.participant_code for s in world.services})
    change = f"add {amount:g} {currency} ({units} units at {cost:,.0f}) to service {service_id}"
    return await anyio.to_thread.run_sync(
        functools.partial(_compare, world, change, shown, capacity)
    )


async def _severity(
    conn: asyncpg.Connection,
    participants: list[str] | None,
    now: dt.datetime,
    scope: Scope,
    closed_only: bool,
) -> dict[BucketKey, int]:
    """The worst severity of each area and code over the last four quarters."""
    cells = await list_cells(
        conn,
        GapQuery(
            participants=participants, granularity="quarter", count=4, closed_only=closed_only
        ),
        now=now,
        stale_hours=scope.stale_hours,
        catchments=scope.catchments,
    )
    worst: dict[BucketKey, int] = {}
    for c in cells:
        key = (c.participant_code, c.area_code, c.taxonomy_code)
        worst[key] = max(worst.get(key, 1), c.severity)
    return worst


def _allocation_problem(
    world: _World,
    unmet: Mapping[BucketKey, int],
    severity: Mapping[BucketKey, int],
    costs: Mapping[str, float],
    overrides: Mapping[uuid.UUID, float],
    budget: int,
) -> tuple[AllocationProblem, dict[str, int]]:
    options: list[Option] = []
    index: dict[str, int] = {}
    for i, s in enumerate(world.services):
        cost = overrides.get(s.service_id) or costs.get(s.taxonomy_code)
        if not cost:
            continue
        unit_cost = max(1, math.ceil(cost))
        options.append(
            Option(
                id=str(i),
                unit_cost=unit_cost,
                people_per_unit=TURNOVER.get(s.unit or "place", 4),
                max_units=min(budget // unit_cost, MAX_UNITS),
            )
        )
        index[str(i)] = i
    keys = [key for key, n in sorted(unmet.items()) if n > 0]
    buckets = [
        Bucket(id="|".join(key), unmet=unmet[key], weight=severity.get(key, 1)) for key in keys
    ]
    links = [
        Link(option=str(i), bucket="|".join(key))
        for key in keys
        for i, _ in world.links[key]
        if str(i) in index
    ]
    problem = AllocationProblem(
        budget=budget, buckets=tuple(buckets), options=tuple(options), links=tuple(links)
    )
    return problem, index


async def propose_allocation(
    conn: asyncpg.Connection,
    *,
    budget: int,
    currency: str,
    overrides: Mapping[uuid.UUID, float],
    participants: list[str] | None,
    now: dt.datetime,
    scope: Scope,
    time_limit_s: float,
    closed_only: bool = False,
) -> AllocationOut:
    """Where ``budget`` (whole units of ``currency``) covers most severity-weighted unmet demand.

    The unmet demand is what more places would have met: needs of the last 12 months left
    unmet for ``no_capacity`` and declines for no capacity, per area and service code
    (``closed_only``: the 365 days up to the month still open, and closed quarters).
    """
    until = demand_until(now, closed_only=closed_only)
    world = await _world(conn, until, participants, scope, now)
    costs = await _costs(conn, currency, now.date())
    severity = await _severity(conn, participants, now, scope, closed_only)
    shortfall = {
        (b.participant_code, b.area_code, b.taxonomy_code): b.n
        for b in await gaps_db.shortfall_by_area(
            conn, since=until - dt.timedelta(days=DEMAND_DAYS), until=until
        )
        if (b.participant_code, b.area_code, b.taxonomy_code) in world.links
    }
    unlicensed = license_first(world, shortfall)

    def run() -> AllocationOut:
        problem, _ = _allocation_problem(world, shortfall, severity, costs, overrides, budget)
        try:
            result = allocate(problem, SolveParams(time_limit_s=time_limit_s))
        except ProblemError as exc:
            raise InvalidInput(exc.detail, field="$.budget") from exc
        errors = check_allocation(problem, result)
        if errors:
            raise RuntimeError(f"allocation breaks its problem: {errors[0]}")
        people: dict[str, int] = defaultdict(int)
        for c in result.coverage:
            people[c.option] += c.people
        purchases = [
            _purchase(world.services[int(p.option)], p.units, p.cost, people[p.option])
            for p in result.purchases
        ]
        purchases.sort(key=lambda p: (-p.people, p.cost, str(p.service_id)))
        offered = {s.taxonomy_code for s in world.services}
        return AllocationOut(
            status=result.status,
            budget=budget,
            currency=currency,
            spent=result.spent,
            unmet_before=sum(shortfall.values()),
            covered=sum(people.values()),
            covered_weight=result.covered_weight,
            bound=result.bound,
            purchases=purchases,
            codes_without_cost=sorted(offered - set(costs)),
            license_first=unlicensed,
        )

    return await anyio.to_thread.run_sync(run)


def _purchase(s: gaps_db.ServicePoint, units: int, cost: int, people: int) -> PurchaseOut:
    return PurchaseOut(
        service_id=s.service_id,
        service_name=s.service_name,
        organization_name=s.organization_name,
        area_code=s.area_code,
        taxonomy_code=s.taxonomy_code,
        units=units,
        unit=s.unit,
        unit_cost=cost // units,
        cost=cost,
        people=people,
    )
