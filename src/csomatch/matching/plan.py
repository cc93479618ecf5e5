"""The joint plan: the needs of one person or of many, placed at once in two stages.

Stage 1 places every **accommodation** need (ACC.*) jointly against free places, groups in
one provider. An accommodation option's cost includes `proximity_cost`: how far the
person's other needed services would be from it. Stage 2 places every other need jointly,
its distance measured from the accommodation stage 1 chose for that person (from the
current area when the person needs none, or got none); the return and reintegration needs
of a transnational referral are measured from its return area in the receiving participant,
when it names one. `docs/matching.md` explains why this two-stage plan is used instead of one
model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final, Literal, overload

import msgspec
import numpy as np
import numpy.typing as npt

from csomatch.domain import Service, serving_participant
from csomatch.geo import distance_matrix_km
from csomatch.matching import terms
from csomatch.matching.profile import Need, NeedsProfile
from csomatch.matching.rules import (
    INTERPRETATION_CODE,
    REASON_CODES,
    RULE_READS,
    RULES,
    MatchContext,
    free_places,
    is_accommodation,
    rule_reads,
)
from csomatch.matching.snapshot import Snapshot
from csomatch.matching.unmet import unmet_reason
from csomatch.solver import Demand, Provider, SolveParams, solve_arrays
from csomatch.solver.problem import Status

#: Cost of leaving a must-need unmet, per person: more than any plausible sum of terms.
MUST_PENALTY: Final = 10_000_000
#: Cost of leaving a should-need unmet, per person: more than any single suggestion.
SHOULD_PENALTY: Final = 100_000

DistanceFrom = Literal["current_area", "accommodation", "return_area"]
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
    """One need of one person: its best options, what was excluded, and the plan's choice."""

    person: int
    index: int
    need: Need
    #: The cheapest eligible services (up to the ``top`` asked for), cheapest first.
    options: list[Option]
    #: How many services are eligible.
    eligible: int
    #: The cost of the cheapest eligible service (0 when none).
    best_total: int
    #: Services offering the code that a hard rule excluded, counted by reason code.
    excluded: dict[str, int]
    #: Those services themselves, each with the first rule it broke, in the services' order
    #: (listed when read: most answers never show them).
    excluded_services: Sequence[tuple[Service, str]]
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


IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
#: What the rules and terms read of a profile for one code, as a hashable key.
ReadsKey = tuple[str, tuple[object, ...]]
#: A profile's values of every field (or derived property) a rule or term reads, hashable.
Facts = dict[str, object]
_NO_SERVICES: Final = np.zeros(0, dtype=np.int64)
_READ_BY_ANY: Final = tuple(
    sorted({f for fields in (*RULE_READS.values(), *terms.TERM_READS.values()) for f in fields})
)


#: The jurisdiction rule comes last: a service abroad that also breaks another rule is
#: reported with that rule, so the account of the rules before it is shared by everyone who
#: agrees on what those rules read, whatever their jurisdiction.
_JURISDICTION: Final = REASON_CODES.index("jurisdiction")
assert len(REASON_CODES) - 1 == _JURISDICTION, "the jurisdiction rule must come last"
_TERM_NAMES: Final = tuple(terms.TERM_READS)
_TERM_FIELDS: Final = tuple(sorted({f for fields in terms.TERM_READS.values() for f in fields}))


class _Exclusions(Sequence[tuple[Service, str]]):
    """The services a hard rule excluded for one need, each with its reason, listed when read."""

    __slots__ = ("_at", "_first", "_listed", "_services")

    def __init__(self, services: list[Service], at: IntArray, first: IntArray) -> None:
        self._services, self._at, self._first = services, at, first
        self._listed: list[tuple[Service, str]] | None = None

    def _list(self) -> list[tuple[Service, str]]:
        if self._listed is None:
            at = self._at.tolist()
            reasons = [REASON_CODES[r] for r in self._first[self._at].tolist()]
            self._listed = [(self._services[k], r) for k, r in zip(at, reasons, strict=True)]
        return self._listed

    @overload
    def __getitem__(self, index: int) -> tuple[Service, str]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[Service, str]]: ...
    def __getitem__(
        self, index: int | slice
    ) -> tuple[Service, str] | Sequence[tuple[Service, str]]:
        return self._list()[index]

    def __len__(self) -> int:
        return len(self._at)


class _Rules(msgspec.Struct, frozen=True, kw_only=True):
    """Every hard rule before jurisdiction over one code's services, for one set of values."""

    #: Per service: the first rule it breaks (a `REASON_CODES` index), or the jurisdiction's
    #: index when it breaks none of them.
    first: IntArray
    #: Per service: it breaks none of them.
    passed: npt.NDArray[np.bool_]
    #: How many pass them.
    n_passed: int
    #: The services that break one, counted by reason code.
    counts: dict[str, int]


class _Terms(msgspec.Struct, frozen=True, kw_only=True):
    """The service-level terms over one code's services, for one set of values they read."""

    #: One row per term (`_TERM_NAMES` order), one column per service, in points.
    points: IntArray
    #: Per service: the rows' sum.
    base: IntArray


class _Eligible(msgspec.Struct, frozen=True, kw_only=True):
    """The services one need may use, and the costs of each except distance and proximity."""

    services: IntArray
    #: Per service: the sum of the terms that do not depend on where the person is.
    base: IntArray
    #: Those terms, one row per term in `_TERM_NAMES` order, one column per service.
    parts: IntArray
    excluded: dict[str, int]
    #: Each excluded service with its reason code, in the services' order (shared by every
    #: need with the same reads: never mutated).
    excluded_services: _Exclusions


class _Need(msgspec.Struct, frozen=True, kw_only=True):
    """One need of one person while the plan is built: eligible services and their totals."""

    person: int
    index: int
    need: Need
    eligible: _Eligible
    km: FloatArray
    proximity: IntArray
    origin: DistanceFrom
    #: Total cost per eligible service, in points: distance + ``eligible.base`` + proximity.
    totals: IntArray


def _need(
    person: int,
    index: int,
    need: Need,
    eligible: _Eligible,
    km: FloatArray,
    proximity: IntArray,
    origin: DistanceFrom,
) -> _Need:
    totals = _distance_points(km) + eligible.base + proximity
    return _Need(
        person=person, index=index, need=need, eligible=eligible, km=km, proximity=proximity,
        origin=origin, totals=totals,
    )  # fmt: skip


def _distance_points(km: FloatArray) -> IntArray:
    # Vectorised `terms.distance_cost` (numpy's rint rounds half to even, like round()).
    return np.rint(km * terms.POINTS_PER_KM).astype(np.int64)


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


class _Matcher:
    """The hard rules and service-level terms, memoised for one request.

    Many people in one batch agree on what the rules and terms read for a code (same
    gender, age band, languages...), so the rules run once per distinct values and code,
    not once per person.
    """

    def __init__(self, snap: Snapshot, weights: terms.Weights) -> None:
        self.snap, self.w = snap, weights
        self.by_code: dict[str, list[int]] = {}
        for j, s in enumerate(snap.services):
            self.by_code.setdefault(s.taxonomy_code, []).append(j)
        self.by_code_array = {c: np.array(js, dtype=np.int64) for c, js in self.by_code.items()}
        self.services_of = {c: [snap.services[j] for j in js] for c, js in self.by_code.items()}
        self._eligible: dict[ReadsKey, _Eligible] = {}
        self._before: dict[ReadsKey, _Rules] = {}
        self._stacked: dict[ReadsKey, _Terms] = {}
        # Per code: the fields its key reads, those the rules before jurisdiction read, and
        # the fields each rule reads (RULES order).
        self._reads: dict[str, tuple[tuple[str, ...], tuple[str, ...], list[tuple[str, ...]]]] = {}
        self._contexts: dict[tuple[object, ...], MatchContext] = {}
        self._masks: dict[tuple[str, str, tuple[object, ...]], npt.NDArray[np.bool_]] = {}
        self._terms: dict[tuple[str, str, tuple[object, ...]], IntArray] = {}
        now, stale_hours, records, w = snap.now, snap.stale_hours, snap.records, weights
        # The service-level terms as functions of (profile, service), in `TERM_READS` order.
        self._term_of: dict[str, Callable[[NeedsProfile, Service], int]] = {
            "language": lambda p, s: terms.language_cost(p, s, w),
            "freshness": lambda p, s: terms.freshness_cost(s, now, stale_hours, w),
            "specialisation": lambda p, s: terms.specialisation_cost(p, s, w),
            "availability": lambda p, s: terms.availability_cost(p, s, w),
            "acceptance": lambda p, s: terms.acceptance_cost(records.get(s.id), w),
            "feedback": lambda p, s: terms.feedback_cost(records.get(s.id), w),
        }

    @staticmethod
    def facts(profile: NeedsProfile) -> Facts:
        """What any rule or term may read of ``profile``, read once per person."""
        return {f: _hashable(getattr(profile, f)) for f in _READ_BY_ANY}

    def eligible(self, profile: NeedsProfile, facts: Facts, need: Need) -> _Eligible:
        """The services ``need`` may use under the hard rules, with their service-level costs."""
        code = need.code
        reads = self._reads.get(code)
        if reads is None:
            by_rule = [rule_reads(reason, code) for reason, _ in RULES]
            before = {f for fields in by_rule[:_JURISDICTION] for f in fields}
            every = before | set(by_rule[_JURISDICTION]) | set(_TERM_FIELDS)
            reads = self._reads[code] = (tuple(sorted(every)), tuple(sorted(before)), by_rule)
        key = (code, tuple([facts[f] for f in reads[0]]))
        found = self._eligible.get(key)
        if found is None:
            found = self._eligible[key] = self._apply_rules(profile, facts, need, reads)
        return found

    def _context(self, profile: NeedsProfile) -> MatchContext:
        """What the rules read besides the profile and the service, once per request."""
        key = (tuple(profile.excluded_areas), tuple(profile.languages))
        found = self._contexts.get(key)
        if found is None:
            services, snap = self.snap.services, self.snap
            found = self._contexts[key] = MatchContext(
                now=snap.now,
                stale_hours=snap.stale_hours,
                excluded_points=tuple(snap.areas[a] for a in profile.excluded_areas),
                interpretation_available=any(
                    services[j].accepting_referrals
                    and any(lang in services[j].languages for lang in profile.languages)
                    for j in self.by_code.get(INTERPRETATION_CODE, [])
                ),
                licensed=snap.licensed,
            )
        return found

    def _mask(
        self, at: int, fields: tuple[str, ...], profile: NeedsProfile, facts: Facts, need: Need
    ) -> npt.NDArray[np.bool_]:
        """Rule ``at`` (in `RULES`) over the code's services, once per value of ``fields``."""
        reason, rule = RULES[at]
        key = (reason, need.code, tuple([facts[f] for f in fields]))
        mask = self._masks.get(key)
        if mask is None:
            ctx = self._context(profile)
            mask = self._masks[key] = np.array(
                [rule(profile, need, s, ctx) for s in self.services_of.get(need.code, [])],
                dtype=np.bool_,
            )
        return mask

    def _rules_before_jurisdiction(
        self, profile: NeedsProfile, facts: Facts, need: Need, reads: tuple[str, ...],
        by_rule: list[tuple[str, ...]],
    ) -> _Rules:  # fmt: skip
        """Every rule before jurisdiction; the first rule a service breaks is its reason."""
        key = (need.code, tuple([facts[f] for f in reads]))
        found = self._before.get(key)
        if found is None:
            masks = [
                self._mask(at, by_rule[at], profile, facts, need) for at in range(_JURISDICTION)
            ]
            # One row per rule, one column per service: a column's first False is the reason.
            broken = ~np.array(masks, dtype=np.bool_).reshape(_JURISDICTION, -1)
            passed: npt.NDArray[np.bool_] = np.logical_not(broken.any(axis=0))
            first = np.where(passed, _JURISDICTION, broken.argmax(axis=0)).astype(np.int64)
            counts = Counter([REASON_CODES[r] for r in first[~passed].tolist()])
            found = self._before[key] = _Rules(
                first=first, passed=passed, n_passed=int(passed.sum()), counts=dict(counts)
            )
        return found

    def _apply_rules(
        self,
        profile: NeedsProfile,
        facts: Facts,
        need: Need,
        reads: tuple[tuple[str, ...], tuple[str, ...], list[tuple[str, ...]]],
    ) -> _Eligible:
        """Every rule as a mask over the code's services; the first rule broken is the reason.

        A rule's mask is computed once per distinct value of the fields it reads for the
        code (`rule_reads`), and so is the account of every rule before jurisdiction, which
        is then applied last; the terms are computed once per value of what they read.
        """
        _, before_reads, by_rule = reads
        before = self._rules_before_jurisdiction(profile, facts, need, before_reads, by_rule)
        here = self._mask(_JURISDICTION, by_rule[_JURISDICTION], profile, facts, need)
        usable = before.passed & here
        ok = np.flatnonzero(usable)
        excluded = before.counts
        if len(ok) < before.n_passed:
            excluded = excluded | {"jurisdiction": before.n_passed - len(ok)}
        stacked = self._terms_of(profile, facts, need.code)
        return _Eligible(
            services=self.by_code_array[need.code][ok] if len(ok) else _NO_SERVICES,
            base=stacked.base[ok],
            parts=stacked.points[:, ok],
            excluded=dict(sorted(excluded.items())),
            excluded_services=_Exclusions(
                self.services_of.get(need.code, []), np.flatnonzero(~usable), before.first
            ),
        )

    def _terms_of(self, profile: NeedsProfile, facts: Facts, code: str) -> _Terms:
        """Every service-level term over the code's services, once per value they read."""
        key = (code, tuple([facts[f] for f in _TERM_FIELDS]))
        found = self._stacked.get(key)
        if found is None:
            rows = [self._term_vector(name, profile, facts, code) for name in _TERM_NAMES]
            n = len(self.services_of.get(code, []))
            points = np.array(rows, dtype=np.int64).reshape(len(_TERM_NAMES), n)
            found = self._stacked[key] = _Terms(points=points, base=points.sum(axis=0))
        return found

    def _term_vector(self, name: str, profile: NeedsProfile, facts: Facts, code: str) -> IntArray:
        """A service-level term over the code's services, computed once per value it reads."""
        key = (name, code, tuple([facts[f] for f in terms.TERM_READS[name]]))
        vector = self._terms.get(key)
        if vector is None:
            term, services = self._term_of[name], self.snap.services
            vector = self._terms[key] = np.array(
                [term(profile, services[j]) for j in self.by_code.get(code, [])], dtype=np.int64
            )
        return vector


def solver_capacity(service: Service, snap: Snapshot) -> int:
    """Places the plan may use now: the free places, none when the number is stale or missing."""
    free = free_places(service)
    if free is None or free <= 0 or service.capacity_updated_at is None:
        return 0
    age_h = (snap.now - service.capacity_updated_at).total_seconds() / 3600
    return 0 if age_h >= snap.stale_hours else free


def _origin_rows(profiles: Sequence[NeedsProfile]) -> dict[str, int]:
    """The row of each area distances are measured from: current areas and return areas."""
    rows: dict[str, int] = {}
    for p in profiles:
        rows.setdefault(p.current_area, len(rows))
        if p.return_area is not None:
            rows.setdefault(p.return_area, len(rows))
    return rows


def from_return_area(profile: NeedsProfile, need: Need) -> bool:
    """Whether a need's distances are measured from the return area, not the current area.

    The return and reintegration needs (RET.*, REINT.*) of a transnational referral are served
    in the receiving participant, where the person returns to: when the profile names a
    return area there, their services are ranked by distance from it.
    """
    if profile.return_area is None:
        return False
    where = serving_participant(need.code, profile.jurisdiction, profile.receiving_participant)
    return where != profile.jurisdiction


def plan(
    profiles: Sequence[NeedsProfile],
    snap: Snapshot,
    weights: terms.Weights,
    params: SolveParams,
    top: int = 0,
) -> JointPlan:
    """Place every need of every profile at least total cost, in two stages.

    Args:
        profiles: the people, each placed as a whole (a group in one accommodation).
        snap: the registry; every profile's areas must be in ``snap.areas``.
        weights: the soft terms' weights in points.
        params: the solver's time limit, workers and seed (per stage).
        top: how many of the cheapest options to explain per need (the plan's choice is
            always explained).
    """
    services = snap.services
    matcher = _Matcher(snap, weights)
    sites = np.array([(s.latitude, s.longitude) for s in services], dtype=np.float64)
    sites = sites.reshape(-1, 2)
    origin_row = _origin_rows(profiles)
    origins = np.array([snap.areas[a] for a in origin_row], dtype=np.float64).reshape(-1, 2)
    from_origin = distance_matrix_km(origins, sites)
    eligible = []
    for p in profiles:
        facts = matcher.facts(p)
        eligible.append([matcher.eligible(p, facts, need) for need in p.needs])
    # Distances from every accommodation anyone may use to every site, computed once.
    acc_row = np.full(len(services), -1, dtype=np.int64)
    acc = sorted(
        {
            int(j)
            for p, person in zip(profiles, eligible, strict=True)
            for need, e in zip(p.needs, person, strict=True)
            if is_accommodation(need.code)
            for j in e.services
        }
    )
    acc_row[acc] = np.arange(len(acc))
    from_acc = distance_matrix_km(sites[acc], sites)

    # Stage 1: accommodation, with the lookahead to the person's other services.
    stage1: list[_Need] = []
    for pi, (p, person) in enumerate(zip(profiles, eligible, strict=True)):
        here = from_origin[origin_row[p.current_area]]
        # Services the person uses from where they stay (not those matched from a return area).
        others = [
            e.services
            for need, e in zip(p.needs, person, strict=True)
            if not is_accommodation(need.code) and not from_return_area(p, need) and len(e.services)
        ]
        for ni, (need, e) in enumerate(zip(p.needs, person, strict=True)):
            if not is_accommodation(need.code):
                continue
            rows = acc_row[e.services]
            nearest = [from_acc[np.ix_(rows, o)].min(axis=1) for o in others]
            proximity = np.array(
                [
                    terms.proximity_cost([float(n[k]) for n in nearest], weights)
                    for k in range(len(rows))
                ],
                dtype=np.int64,
            )
            stage1.append(_need(pi, ni, need, e, here[e.services], proximity, "current_area"))
    chosen1, account1 = _solve_stage("accommodation", stage1, profiles, snap, params)

    # Stage 2: every other need, measured from where the person will stay.
    stays: dict[int, int] = {}
    for n in stage1:
        stay = chosen1.get((n.person, n.index))
        if stay is not None:
            stays.setdefault(n.person, stay)
    stage2: list[_Need] = []
    for pi, (p, person) in enumerate(zip(profiles, eligible, strict=True)):
        stay = stays.get(pi)
        origin: DistanceFrom
        if stay is None:
            here, origin = from_origin[origin_row[p.current_area]], "current_area"
        else:
            here, origin = from_acc[acc_row[stay]], "accommodation"
        for ni, (need, e) in enumerate(zip(p.needs, person, strict=True)):
            if is_accommodation(need.code):
                continue
            no_proximity = np.zeros(len(e.services), dtype=np.int64)
            km: FloatArray = here
            why: DistanceFrom = origin
            if p.return_area is not None and from_return_area(p, need):
                km, why = from_origin[origin_row[p.return_area]], "return_area"
            stage2.append(_need(pi, ni, need, e, km[e.services], no_proximity, why))
    chosen2, account2 = _solve_stage("services", stage2, profiles, snap, params)

    chosen = chosen1 | chosen2
    id_rank = np.argsort(np.argsort(np.array([str(s.id) for s in services]))).astype(np.int64)
    by_need = {(n.person, n.index): n for n in (*stage1, *stage2)}
    needs = [
        [
            _need_plan(by_need[(pi, ni)], services, id_rank, chosen.get((pi, ni)), top)
            for ni in range(len(p.needs))
        ]
        for pi, p in enumerate(profiles)
    ]
    stages = [s for s in (account1, account2) if s.demands]
    status, objective, bound = _combined(stages)
    return JointPlan(needs=needs, stages=stages, status=status, objective=objective, bound=bound)


def _solve_stage(
    name: StageName,
    needs: list[_Need],
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
    sizes = [profiles[n.person].group_size if name == "accommodation" else 1 for n in needs]
    # All groups of one size (one person asking, or only single adults): count in groups,
    # an exact min-cost flow; otherwise places, a generalised assignment for CP-SAT.
    unit = len(set(sizes)) == 1
    demand_ids = [f"{n.person}.{n.index}" for n in needs]
    demands = tuple(
        Demand(
            id=did,
            size=1 if unit else size,
            unmet_penalty=(MUST_PENALTY if n.need.priority == "must" else SHOULD_PENALTY) * size,
        )
        for did, n, size in zip(demand_ids, needs, sizes, strict=True)
    )
    # The arcs of all needs at once, as positions: need k, its eligible services, their
    # totals. Providers are the services used, in the order their first arc appears.
    arc_need = np.repeat(np.arange(len(needs)), [len(n.totals) for n in needs])
    arc_service = np.concatenate([n.eligible.services for n in needs])
    _, first = np.unique(arc_service, return_index=True)
    used = arc_service[np.sort(first)]
    provider_at = np.zeros(len(snap.services), dtype=np.int64)
    provider_at[used] = np.arange(len(used))
    providers = []
    for j in used.tolist():
        places = solver_capacity(snap.services[j], snap)
        providers.append(Provider(id=f"s{j}", capacity=places // sizes[0] if unit else places))
    solution = solve_arrays(
        demands,
        providers,
        arc_need,
        provider_at[arc_service],
        np.concatenate([n.totals for n in needs]),
        params,
    )
    need_of = {did: (n.person, n.index) for did, n in zip(demand_ids, needs, strict=True)}
    chosen = {need_of[a.demand]: int(a.provider[1:]) for a in solution.assignments}
    return chosen, Stage(
        stage=name,
        status=solution.status,
        objective=solution.objective,
        bound=solution.bound,
        solver=solution.solver,
        seconds=solution.seconds,
        demands=len(demands),
        arcs=len(arc_need),
    )


def _option(n: _Need, k: int, services: Sequence[Service]) -> Option:
    """The explanation of the ``k``-th eligible service of a need: its cost by term."""
    km = float(n.km[k])
    parts = {"distance": terms.distance_cost(km)}
    for name, points in zip(_TERM_NAMES, n.eligible.parts[:, k].tolist(), strict=True):
        parts[name] = points
    parts["proximity"] = int(n.proximity[k])
    return Option(
        service=services[int(n.eligible.services[k])],
        parts=parts,
        total=sum(parts.values()),
        distance_km=round(km, 1),
        distance_from=n.origin,
    )


def _need_plan(
    n: _Need, services: Sequence[Service], id_rank: IntArray, chosen: int | None, top: int
) -> NeedPlan:
    totals = n.totals
    options = []
    if top > 0:
        # Cheapest first; equal costs in the order of the services' ids, so answers repeat.
        order = np.lexsort((id_rank[n.eligible.services], totals))
        options = [_option(n, int(k), services) for k in order[:top].tolist()]
    planned = None
    if chosen is not None:
        (k,) = np.flatnonzero(n.eligible.services == chosen)
        planned = _option(n, int(k), services)
    return NeedPlan(
        person=n.person,
        index=n.index,
        need=n.need,
        options=options,
        eligible=len(totals),
        best_total=int(totals.min()) if len(totals) else 0,
        excluded=n.eligible.excluded,
        excluded_services=n.eligible.excluded_services,
        planned=planned,
        unmet_reason=unmet_reason(n.eligible.excluded, len(totals), planned is not None),
    )


def _combined(stages: list[Stage]) -> tuple[Status, int | None, int | None]:
    """The worst status of the stages, and the sums of their objectives and bounds."""
    status: Status = max((s.status for s in stages), key=_STATUS_ORDER.index, default="optimal")
    objectives = [s.objective for s in stages]
    bounds = [s.bound for s in stages]
    objective = None if None in objectives else sum(o for o in objectives if o is not None)
    bound = None if None in bounds else sum(b for b in bounds if b is not None)
    return status, objective, bound
