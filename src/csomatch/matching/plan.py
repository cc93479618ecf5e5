"""The joint plan: the needs of one person or of many, placed at once in two stages.

Stage 1 places every **accommodation** need (ACC.*) jointly against free places, groups in
one provider. An accommodation option's cost includes `proximity_cost`: how far the
person's other needed services would be from it. Stage 2 places every other need jointly,
its distance measured from the accommodation stage 1 chose for that person (from the
current area when the person needs none, or got none). `docs/matching.md` explains why this
two-stage plan is used instead of one model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Final, Literal

import msgspec
import numpy as np

from csomatch.domain import Service
from csomatch.matching import terms
from csomatch.matching.geo import distance_matrix_km
from csomatch.matching.profile import Need, NeedsProfile
from csomatch.matching.rules import (
    INTERPRETATION_CODE,
    MatchContext,
    exclusion_reason,
    free_places,
    is_accommodation,
)
from csomatch.matching.snapshot import Snapshot
from csomatch.matching.unmet import unmet_reason
from csomatch.solver import Arc, Demand, Problem, Provider, SolveParams, solve
from csomatch.solver.problem import Status

#: Cost of leaving a must-need unmet, per person: more than any plausible sum of terms.
MUST_PENALTY: Final = 10_000_000
#: Cost of leaving a should-need unmet, per person: more than any single suggestion.
SHOULD_PENALTY: Final = 100_000

DistanceFrom = Literal["current_area", "accommodation"]
StageName = Literal["accommodation", "services"]
_STATUS_ORDER: Final[tuple[Status, ...]] = ("optimal", "feasible", "unknown", "infeasible")


class Option(msgspec.Struct, frozen=True, kw_only=True):
    """An eligible service for one need, with its cost broken down by term."""

    service: Service
    parts: dict[str, int]
    total: int
    distance_km: float
    distance_from: DistanceFrom


class NeedPlan(msgspec.Struct, frozen=True, kw_only=True):
    """One need of one person: its options, what was excluded, and the plan's choice."""

    person: int
    index: int
    need: Need
    #: Eligible services, cheapest first.
    options: list[Option]
    #: Services offering the code that a hard rule excluded, counted by reason code.
    excluded: dict[str, int]
    planned: Option | None
    unmet_reason: str | None


class Stage(msgspec.Struct, frozen=True, kw_only=True):
    """What the solver did in one stage."""

    stage: StageName
    status: Status
    objective: int | None
    bound: int | None
    solver: str
    seconds: float
    demands: int
    arcs: int


class JointPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Every need of every person, and the solver's account of both stages."""

    needs: list[list[NeedPlan]]
    stages: list[Stage]
    status: Status
    #: Sum of the stages' objectives (costs of the choices plus penalties of unmet needs).
    objective: int | None
    #: Sum of the stages' proven bounds; equal to the objective when both are optimal.
    bound: int | None


class _Eligible(msgspec.Struct, frozen=True, kw_only=True):
    person: int
    index: int
    need: Need
    services: list[int]
    excluded: Counter[str]


def plan(
    profiles: Sequence[NeedsProfile],
    snap: Snapshot,
    weights: terms.Weights,
    params: SolveParams,
) -> JointPlan:
    """Place every need of every profile at least total cost, in two stages.

    Args:
        profiles: the people, each placed as a whole (a group in one accommodation).
        snap: the registry; every profile's areas must be in ``snap.areas``.
        weights: the soft terms' weights in points.
        params: the solver's time limit, workers and seed (per stage).
    """
    services = snap.services
    by_code: dict[str, list[int]] = {}
    for j, s in enumerate(services):
        by_code.setdefault(s.taxonomy_code, []).append(j)
    sites = np.array([(s.latitude, s.longitude) for s in services], dtype=np.float64)
    sites = sites.reshape(-1, 2)
    origin_row: dict[str, int] = {}
    for p in profiles:
        origin_row.setdefault(p.current_area, len(origin_row))
    origins = np.array([snap.areas[a] for a in origin_row], dtype=np.float64).reshape(-1, 2)
    from_origin = distance_matrix_km(origins, sites)

    eligible = [_eligible(pi, p, snap, by_code) for pi, p in enumerate(profiles)]
    # Distances from every accommodation anyone may use to every site, computed once.
    acc = sorted({j for person in eligible for e in person if _is_acc(e) for j in e.services})
    acc_row = {j: r for r, j in enumerate(acc)}
    from_acc = distance_matrix_km(sites[acc], sites)
    static = _ServiceCosts(snap, weights)

    # Stage 1: accommodation, with the lookahead to the person's other services.
    stage1_options: dict[tuple[int, int], list[Option]] = {}
    for pi, person in enumerate(eligible):
        profile = profiles[pi]
        others = [e.services for e in person if not _is_acc(e) and e.services]
        for e in person:
            if not _is_acc(e):
                continue
            rows = [acc_row[j] for j in e.services]
            nearest = [from_acc[np.ix_(rows, o)].min(axis=1) for o in others]
            options = []
            for k, j in enumerate(e.services):
                km = float(from_origin[origin_row[profile.current_area], j])
                near_km = [float(n[k]) for n in nearest]
                options.append(
                    _option(profile, services[j], j, km, "current_area", near_km, static, weights)
                )
            stage1_options[(pi, e.index)] = options
    stage1_needs = [e for person in eligible for e in person if _is_acc(e)]
    chosen1, stage1 = _solve_stage(
        "accommodation", stage1_needs, stage1_options, profiles, snap, params
    )

    # Stage 2: every other need, measured from where the person will stay.
    stays: dict[int, int] = {}
    for e in stage1_needs:
        stay = chosen1.get((e.person, e.index))
        if stay is not None:
            stays.setdefault(e.person, stay)
    stage2_options: dict[tuple[int, int], list[Option]] = {}
    for pi, person in enumerate(eligible):
        profile = profiles[pi]
        stay = stays.get(pi)
        for e in person:
            if _is_acc(e):
                continue
            options = []
            for j in e.services:
                if stay is None:
                    km = float(from_origin[origin_row[profile.current_area], j])
                    origin: DistanceFrom = "current_area"
                else:
                    km, origin = float(from_acc[acc_row[stay], j]), "accommodation"
                options.append(_option(profile, services[j], j, km, origin, [], static, weights))
            stage2_options[(pi, e.index)] = options
    stage2_needs = [e for person in eligible for e in person if not _is_acc(e)]
    chosen2, stage2 = _solve_stage("services", stage2_needs, stage2_options, profiles, snap, params)

    chosen = chosen1 | chosen2
    options_of = stage1_options | stage2_options
    needs = [
        [_need_plan(e, options_of[(e.person, e.index)], chosen.get((e.person, e.index))) for e in p]
        for p in eligible
    ]
    stages = [s for s in (stage1, stage2) if s.demands]
    status, objective, bound = _combined(stages)
    return JointPlan(needs=needs, stages=stages, status=status, objective=objective, bound=bound)


def _is_acc(e: _Eligible) -> bool:
    return is_accommodation(e.need.code)


def _eligible(
    pi: int, profile: NeedsProfile, snap: Snapshot, by_code: dict[str, list[int]]
) -> list[_Eligible]:
    """The hard rules, applied to the services offering each need's code."""
    services = snap.services
    interpreters = by_code.get(INTERPRETATION_CODE, [])
    ctx = MatchContext(
        now=snap.now,
        stale_hours=snap.stale_hours,
        excluded_points=tuple(snap.areas[a] for a in profile.excluded_areas),
        interpretation_available=any(
            services[j].accepting_referrals
            and any(lang in services[j].languages for lang in profile.languages)
            for j in interpreters
        ),
        licensed=snap.licensed,
    )
    found = []
    for ni, need in enumerate(profile.needs):
        ok: list[int] = []
        excluded: Counter[str] = Counter()
        for j in by_code.get(need.code, []):
            reason = exclusion_reason(profile, need, services[j], ctx)
            if reason is None:
                ok.append(j)
            else:
                excluded[reason] += 1
        found.append(_Eligible(person=pi, index=ni, need=need, services=ok, excluded=excluded))
    return found


class _ServiceCosts:
    """Terms that depend on the service alone, computed once per service and request."""

    def __init__(self, snap: Snapshot, weights: terms.Weights) -> None:
        self._snap, self._w = snap, weights
        self._cache: dict[int, tuple[int, int, int]] = {}

    def get(self, j: int) -> tuple[int, int, int]:
        """Freshness, acceptance and feedback costs of service ``j``."""
        found = self._cache.get(j)
        if found is None:
            s, snap, w = self._snap.services[j], self._snap, self._w
            record = snap.records.get(s.id)
            found = (
                terms.freshness_cost(s, snap.now, snap.stale_hours, w),
                terms.acceptance_cost(record, w),
                terms.feedback_cost(record, w),
            )
            self._cache[j] = found
        return found


def _option(
    profile: NeedsProfile,
    service: Service,
    j: int,
    km: float,
    origin: DistanceFrom,
    nearest_km: list[float],
    static: _ServiceCosts,
    w: terms.Weights,
) -> Option:
    freshness, acceptance, feedback = static.get(j)
    parts = {
        "distance": terms.distance_cost(km),
        "language": terms.language_cost(profile, service, w),
        "freshness": freshness,
        "specialisation": terms.specialisation_cost(profile, service, w),
        "availability": terms.availability_cost(profile, service, w),
        "acceptance": acceptance,
        "feedback": feedback,
        "proximity": terms.proximity_cost(nearest_km, w),
    }
    return Option(
        service=service,
        parts=parts,
        total=sum(parts.values()),
        distance_km=round(km, 1),
        distance_from=origin,
    )


def solver_capacity(service: Service, snap: Snapshot) -> int:
    """Places the plan may use now: the free places, none when the number is stale or missing."""
    free = free_places(service)
    if free is None or free <= 0 or service.capacity_updated_at is None:
        return 0
    age_h = (snap.now - service.capacity_updated_at).total_seconds() / 3600
    return 0 if age_h >= snap.stale_hours else free


def _solve_stage(
    name: StageName,
    needs: list[_Eligible],
    options: dict[tuple[int, int], list[Option]],
    profiles: Sequence[NeedsProfile],
    snap: Snapshot,
    params: SolveParams,
) -> tuple[dict[tuple[int, int], int], Stage]:
    """One joint solve; returns the chosen service index per (person, need) and its account."""
    if not needs:
        empty = Stage(
            stage=name, status="optimal", objective=0, bound=0, solver="none", seconds=0.0,
            demands=0, arcs=0,
        )  # fmt: skip
        return {}, empty
    # A group takes as many places as it has people, in accommodation only.
    sizes = [profiles[e.person].group_size if name == "accommodation" else 1 for e in needs]
    # All groups of one size (one person asking, or only single adults): count in groups,
    # an exact min-cost flow; otherwise places, a generalised assignment for CP-SAT.
    unit = len(set(sizes)) == 1
    demands = []
    arcs = []
    used: dict[int, None] = {}
    for e, size in zip(needs, sizes, strict=True):
        per_person = MUST_PENALTY if e.need.priority == "must" else SHOULD_PENALTY
        did = f"{e.person}.{e.index}"
        demands.append(Demand(id=did, size=1 if unit else size, unmet_penalty=per_person * size))
        for j, option in zip(e.services, options[(e.person, e.index)], strict=True):
            used[j] = None
            arcs.append(Arc(demand=did, provider=f"s{j}", cost=option.total))
    providers = []
    for j in used:
        places = solver_capacity(snap.services[j], snap)
        providers.append(Provider(id=f"s{j}", capacity=places // sizes[0] if unit else places))
    solution = solve(
        Problem(demands=tuple(demands), providers=tuple(providers), arcs=tuple(arcs)), params
    )
    chosen = {}
    for a in solution.assignments:
        person, index = a.demand.split(".")
        chosen[(int(person), int(index))] = int(a.provider[1:])
    return chosen, Stage(
        stage=name,
        status=solution.status,
        objective=solution.objective,
        bound=solution.bound,
        solver=solution.solver,
        seconds=solution.seconds,
        demands=len(demands),
        arcs=len(arcs),
    )


def _need_plan(e: _Eligible, options: list[Option], chosen: int | None) -> NeedPlan:
    planned = None
    if chosen is not None:
        planned = next(o for j, o in zip(e.services, options, strict=True) if j == chosen)
    return NeedPlan(
        person=e.person,
        index=e.index,
        need=e.need,
        options=sorted(options, key=lambda o: (o.total, str(o.service.id))),
        excluded=dict(sorted(e.excluded.items())),
        planned=planned,
        unmet_reason=unmet_reason(e.excluded, len(options), planned is not None),
    )


def _combined(stages: list[Stage]) -> tuple[Status, int | None, int | None]:
    """The worst status of the stages, and the sums of their objectives and bounds."""
    status: Status = max((s.status for s in stages), key=_STATUS_ORDER.index, default="optimal")
    objectives = [s.objective for s in stages]
    bounds = [s.bound for s in stages]
    objective = None if None in objectives else sum(o for o in objectives if o is not None)
    bound = None if None in bounds else sum(b for b in bounds if b is not None)
    return status, objective, bound
