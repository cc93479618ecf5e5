"""Ranked suggestions per need, and the joint best plan from the solver."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Final

import msgspec

from csomatch.domain import Service
from csomatch.matching import terms
from csomatch.matching.profile import Need, NeedsProfile, Priority
from csomatch.matching.rules import (
    REASON_CODES,
    MatchContext,
    Point,
    capacity_is_stale,
    exclusion_reason,
    free_places,
    interpretation_available,
    is_accommodation,
)
from csomatch.matching.unmet import unmet_reason
from csomatch.solver import Arc, Demand, Problem, Provider, Solution, SolveParams, solve

#: Cost of leaving a must-need unmet: more than any plausible sum of terms (1,000,000 km).
MUST_PENALTY: Final = 10_000_000
#: Cost of leaving a should-need unmet: still more than any single suggestion (10,000 km).
SHOULD_PENALTY: Final = 100_000
SOLVE_PARAMS: Final = SolveParams(time_limit_s=5.0, workers=1, seed=0)


class Suggestion(msgspec.Struct, frozen=True, kw_only=True):
    """One eligible service for a need, with its cost broken down by term."""

    service_id: uuid.UUID
    service_name: str
    organization_name: str
    area_code: str
    area_name: str
    participant: str
    distance_km: float
    free_places: int | None
    #: Sum of ``parts``, in points (1 point = 100 m of travel).
    total: int
    parts: dict[str, int]
    #: How much more this costs than the best suggestion for the same need.
    delta: int
    in_plan: bool


class NeedResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the matcher found for one need."""

    index: int
    code: str
    priority: Priority
    suggestions: list[Suggestion]
    eligible: int
    #: Services offering the code that a hard rule excluded, counted by reason code.
    excluded: dict[str, int]
    #: The plan's choice for this need, if any.
    planned_service_id: uuid.UUID | None
    #: Why the plan could not meet this need (reason codes, most services first): the rules
    #: that excluded services, ``no_provider`` or ``no_capacity``; empty when it was met.
    unmet_reasons: list[str]
    #: The main reason, recorded as an unmet-demand signal for the gap analysis.
    unmet_reason: str | None


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """The solver's joint best plan over all needs."""

    status: str
    objective: int | None
    unmet_needs: list[int]
    solver: str


class SuggestionResult(msgspec.Struct, frozen=True, kw_only=True):
    """Suggestions per need and the plan."""

    needs: list[NeedResult]
    plan: Plan


def _cost_parts(
    profile: NeedsProfile, service: Service, origin: Point, now: dt.datetime, stale_hours: float
) -> dict[str, int]:
    return {
        "distance": terms.distance_cost(origin, service),
        "language": terms.language_cost(profile, service),
        "freshness": terms.freshness_cost(service, now, stale_hours),
        "specialisation": terms.specialisation_cost(profile, service),
        "availability": terms.availability_cost(profile, service),
    }


def _solver_capacity(profile: NeedsProfile, service: Service, ctx: MatchContext) -> int:
    """Units of this profile the service can take now; a stale number counts as none."""
    free = free_places(service)
    if free is None or free <= 0 or capacity_is_stale(service, ctx):
        return 0
    # Accommodation places a whole group in one unit; other services count cases/sessions.
    return free // profile.group_size if is_accommodation(service.taxonomy_code) else free


def _demand(index: int, need: Need) -> Demand:
    penalty = MUST_PENALTY if need.priority == "must" else SHOULD_PENALTY
    return Demand(id=f"need-{index}", size=1, unmet_penalty=penalty)


def suggest(
    profile: NeedsProfile,
    candidates: list[Service],
    areas: dict[str, tuple[float, float]],
    now: dt.datetime,
    stale_hours: float,
    top: int = 5,
    *,
    licensed: frozenset[uuid.UUID],
) -> SuggestionResult:
    """Rank eligible services per need and solve for the joint best plan.

    Args:
        profile: the needs; its ``current_area`` and ``excluded_areas`` must be in ``areas``.
        candidates: services offering the needed codes (and any interpretation services).
        areas: area code to (latitude, longitude) of its centre.
        now: the time capacity numbers are aged against.
        stale_hours: age from which a capacity number counts as unknown.
        top: suggestions listed per need (the plan's choice is always listed).
        licensed: services covered by a licence valid today (see `candidate_services`).
    """
    origin = areas[profile.current_area]
    ctx = MatchContext(
        now=now,
        stale_hours=stale_hours,
        excluded_points=tuple(areas[a] for a in profile.excluded_areas),
        interpretation_available=interpretation_available(profile, candidates),
        licensed=licensed,
    )
    ranked: list[list[tuple[Service, dict[str, int]]]] = []
    excluded: list[Counter[str]] = []
    arcs: list[Arc] = []
    providers: dict[uuid.UUID, Provider] = {}
    for i, need in enumerate(profile.needs):
        eligible: list[tuple[Service, dict[str, int]]] = []
        reasons: Counter[str] = Counter()
        for service in candidates:
            if service.taxonomy_code != need.code:
                continue
            reason = exclusion_reason(profile, need, service, ctx)
            if reason is not None:
                reasons[reason] += 1
                continue
            # Exact distances only for the survivors of the hard rules.
            parts = _cost_parts(profile, service, origin, now, stale_hours)
            eligible.append((service, parts))
            providers.setdefault(
                service.id,
                Provider(id=str(service.id), capacity=_solver_capacity(profile, service, ctx)),
            )
            arcs.append(Arc(demand=f"need-{i}", provider=str(service.id), cost=sum(parts.values())))
        eligible.sort(key=lambda e: (sum(e[1].values()), str(e[0].id)))
        ranked.append(eligible)
        excluded.append(reasons)

    solution = solve(
        Problem(
            demands=tuple(_demand(i, n) for i, n in enumerate(profile.needs)),
            providers=tuple(providers.values()),
            arcs=tuple(arcs),
        ),
        SOLVE_PARAMS,
    )
    planned = {a.demand: uuid.UUID(a.provider) for a in solution.assignments}
    results = [
        _need_result(i, need, ranked[i], excluded[i], planned.get(f"need-{i}"), origin, top)
        for i, need in enumerate(profile.needs)
    ]
    return SuggestionResult(needs=results, plan=_plan(solution))


def _need_result(
    index: int,
    need: Need,
    eligible: list[tuple[Service, dict[str, int]]],
    reasons: Counter[str],
    planned: uuid.UUID | None,
    origin: Point,
    top: int,
) -> NeedResult:
    best = sum(eligible[0][1].values()) if eligible else 0
    shown = [e for n, e in enumerate(eligible) if n < top or e[0].id == planned]
    suggestions = [
        Suggestion(
            service_id=s.id,
            service_name=s.name,
            organization_name=s.organization_name,
            area_code=s.area_code,
            area_name=s.area_name,
            participant=s.participant_code,
            distance_km=round(parts["distance"] / terms.POINTS_PER_KM, 1),
            free_places=free_places(s),
            total=sum(parts.values()),
            parts=parts,
            delta=sum(parts.values()) - best,
            in_plan=s.id == planned,
        )
        for s, parts in shown
    ]
    reason = unmet_reason(reasons, len(eligible), planned is not None)
    if reason is None:
        unmet: list[str] = []
    elif eligible or not reasons:
        unmet = [reason]
    else:
        unmet = sorted(reasons, key=lambda r: (-reasons[r], REASON_CODES.index(r)))
    return NeedResult(
        index=index,
        code=need.code,
        priority=need.priority,
        suggestions=suggestions,
        eligible=len(eligible),
        excluded=dict(sorted(reasons.items())),
        planned_service_id=planned,
        unmet_reasons=unmet,
        unmet_reason=reason,
    )


def _plan(solution: Solution) -> Plan:
    return Plan(
        status=solution.status,
        objective=solution.objective,
        unmet_needs=sorted(int(d.removeprefix("need-")) for d in solution.unmet),
        solver=solution.solver,
    )
