"""A year of referrals arriving one at a time, each placed by the suggestion an officer takes.

Not a test: it prints figures and asserts nothing about time. Run from the repository root:

    PYTHONPATH=src .venv/bin/python bench/online.py               # loads 1, 2, 4 and 8
    PYTHONPATH=src .venv/bin/python bench/online.py --loads 1,8 --time-limit 60
    PYTHONPATH=src .venv/bin/python bench/online.py --quick       # a month at load 1

What it does (docs/online.md says why each number is what it is):

1. starts an embedded PostgreSQL under /tmp, applies the migrations and loads the demo
   registry with its twelve months of synthetic demand signals;
2. turns every ``need`` signal of those months into a referral arriving at the signal's
   time, in its area, for its service code; at load k each signal arrives k times (the
   copies moved by up to half a week either way, so the months keep their shape);
3. gives each referral a profile from `PROFILES` (signals carry no profile: the signal's
   population group picks sex, age band, family, unaccompanied child or a language not
   served; the rest is drawn from stated shares), an urgency, and for accommodation a stay
   drawn from `STAYS` (per code, gamma-distributed with the stated mean);
4. places each arrival by the suggestion an officer would take: `matching.suggest.suggest`
   (the function behind ``POST /api/v1/match/suggestions``) on the registry as it stands
   at that moment (`snapshot.with_held`: places held by earlier offers and stays), and the
   service its plan marks; an accommodation offer is declined (`DECLINE_RATE`) or left to
   expire (`EXPIRE_RATE`) and then offered to the next suggestion with that service left
   out, as ``POST /api/v1/referrals/{id}/suggestions`` does; a place is freed when a stay
   ends, an offer is declined or it expires. Every refusal for want of a place is checked:
   **no person is left unplaced while an eligible place is free** (an AssertionError
   otherwise), eligibility judged by the hold's rule function `first_broken`;
5. prints per load: people placed, needs left unmet and why, travel (median, p95, total),
   which kinds of place ran out and when; then the hindsight optimum of the accommodation
   needs (CP-SAT, each service's occupancy over time as a cumulative constraint, everyone's
   arrival and stay known in advance, no declines), its bound when not proven optimal, and
   the same optimum under the rule "never refuse while an eligible place is free": the
   share of the hindsight optimum's placements that rule makes unreachable.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import heapq
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import asyncpg
import msgspec
from ortools.sat.python import cp_model

sys.path.insert(0, str(Path(__file__).resolve().parent))

import match as match_bench
from csomatch.db.embedded import EmbeddedPostgres, ensure_database
from csomatch.db.signals import NeedSignal, need_signals
from csomatch.domain import AddressScope, Service
from csomatch.geo import distance_km
from csomatch.matching.eligibility import first_broken
from csomatch.matching.profile import Need, NeedsProfile
from csomatch.matching.rules import INTERPRETATION_CODE, is_accommodation
from csomatch.matching.snapshot import Snapshot, load_snapshot, with_held
from csomatch.matching.suggest import solve_params, suggest
from csomatch.matching.terms import weights_from_settings
from csomatch.settings import Settings

HOURS: Final = 3600.0


def minute(hours: float) -> int:
    """A time in hours as whole minutes: the simulation's times are whole minutes already."""
    return round(hours * 60)


def whole_minutes(hours: float) -> float:
    """``hours`` rounded to the minute, so the simulation and the models see the same times."""
    return minute(hours) / 60


#: Mean stay in days per accommodation code (gamma, shape 2: most stays shorter than the
#: mean, a tail of long ones). Assumptions, stated here: an emergency shelter keeps a person
#: through the recovery and reflection period (at least 30 days) and the first weeks after
#: it; a high-security shelter while the risk lasts; transitional housing and foster care
#: for months; a child crisis centre until a longer placement is found.
STAYS: Final = {
    "ACC.EMERG": 45.0, "ACC.SECURE": 60.0, "ACC.LONG": 180.0, "ACC.CHILD": 90.0,
    "ACC.FOSTER": 180.0,
}  # fmt: skip
#: Accommodation for adults; a child alone is placed in child care instead (`profile_for`).
ADULT_SHELTERS: Final = frozenset({"ACC.EMERG", "ACC.SECURE", "ACC.LONG"})
#: Accommodation for children only: its signals are a child's, alone.
CHILD_CARE: Final = frozenset({"ACC.CHILD", "ACC.FOSTER"})
#: Share of accommodation offers the provider declines (after up to the hold's time), and
#: share left unanswered until the hold expires. Assumptions near the demo's track records.
DECLINE_RATE: Final = 0.10
EXPIRE_RATE: Final = 0.05
#: The language of each participant's majority; a tenth of people speak another (English,
#: or a language of migration with an interpreter needed) — see `profile_for`.
LOCAL: Final = {"AL": "sq", "BA": "bs", "ME": "sr", "MK": "mk", "RS": "sr", "XK": "sq"}
FOREIGN: Final = ("ar", "fa", "ur", "uk", "en")
#: Population groups of the demo's signals without one (``unknown``): drawn as the known ones.
KNOWN_GROUPS: Final = {
    "women": 55, "men": 12, "families": 15, "unaccompanied_children": 8, "language_not_served": 6,
}  # fmt: skip
#: Cost of leaving one person without accommodation in the hindsight model, in points
#: (1 point = 100 m): more than any year's total travel, so people come first.
PERSON: Final = 10**9
#: The first occupants of the accommodation: (service, places, hour they leave).
Occupants = Sequence[tuple[uuid.UUID, int, float]]


class Referral(msgspec.Struct, frozen=True, kw_only=True):
    """One arrival: when (hours from the start), the profile, and for a stay, how long."""

    at: float
    profile: NeedsProfile
    stay_h: float


class Outcome(msgspec.Struct, kw_only=True):
    """What happened to one accommodation referral in the simulation."""

    service: uuid.UUID | None = None
    start: float = 0.0
    km: float = 0.0
    reason: str | None = None


def profile_for(sig: NeedSignal, rng: random.Random) -> NeedsProfile:
    """A synthetic profile for a need signal, from its population group and stated shares."""
    group = sig.population_group
    if group == "unknown":
        group = rng.choices(list(KNOWN_GROUPS), list(KNOWN_GROUPS.values()))[0]
    if sig.taxonomy_code in CHILD_CARE:
        # Child care is asked for a child alone, whatever group the demo drew for the signal.
        group = "unaccompanied_children"
    participant = sig.participant_code
    languages = [LOCAL[participant]]
    if rng.random() < 0.05:
        languages = ["en"]
    fields: dict[str, Any] = {"gender": "female", "age_band": "25-59"}
    if group == "women":
        fields["age_band"] = rng.choices(["18-24", "25-59", "60+"], [35, 60, 5])[0]
    elif group == "men":
        fields |= {"gender": "male", "age_band": rng.choices(["18-24", "25-59"], [30, 70])[0]}
    elif group == "families":
        bands = ["0-5", "6-13", "14-17"]
        fields |= {
            "gender": rng.choices(["female", "male"], [90, 10])[0],
            "group_children_age_bands": rng.choices(bands, k=rng.choice([1, 1, 2, 2, 3])),
        }
    elif group == "unaccompanied_children":
        bands = ("0-5", "6-13") if sig.taxonomy_code == "ACC.FOSTER" else ("14-17", "6-13")
        fields |= {
            "gender": rng.choices(["female", "male"], [60, 40])[0],
            "age_band": rng.choices(bands, [70, 30])[0],
        }
    else:  # language_not_served
        languages = (
            [rng.choice(FOREIGN[:4]), "en"] if rng.random() < 0.5 else [rng.choice(FOREIGN[:4])]
        )
        fields |= {
            "gender": rng.choices(["female", "male"], [60, 40])[0],
            "interpreter_needed": True,
        }
    code = sig.taxonomy_code
    if group == "unaccompanied_children" and code in ADULT_SHELTERS:
        # An officer asks child care for a child alone: a crisis centre, foster care under 14.
        code = "ACC.CHILD" if fields["age_band"] == "14-17" else "ACC.FOSTER"
    elif code == "ACC.CHILD" and fields["age_band"] == "0-5":
        code = "ACC.FOSTER"
    return NeedsProfile(
        needs=[Need(code=code)],
        urgency=rng.choices(["emergency", "urgent"], [70, 30])[0]
        if is_accommodation(code)
        else "urgent",
        languages=languages,
        current_area=sig.area_code or "",
        jurisdiction=participant,
        risk_level="high" if code == "ACC.SECURE" else rng.choices(["low", "medium"], [70, 30])[0],
        **fields,
    )


def arrivals(
    signals: Sequence[NeedSignal], load: int, start: dt.datetime, seed: int
) -> list[Referral]:
    """Every signal ``load`` times (copies within half a week of it), in time order."""
    rng = random.Random(f"{seed}:{load}")
    out = []
    for copy in range(load):
        for sig in signals:
            shift = 0.0 if copy == 0 else rng.uniform(-84, 84)
            at = max(0.0, (sig.occurred_at - start).total_seconds() / HOURS + shift)
            profile = profile_for(sig, rng)
            code = profile.needs[0].code
            stay = rng.gammavariate(2.0, STAYS[code] / 2.0) * 24 if is_accommodation(code) else 0.0
            out.append(
                Referral(
                    at=whole_minutes(at), profile=profile, stay_h=whole_minutes(max(stay, 24.0))
                )
            )
    out.sort(key=lambda r: r.at)
    return out


def for_simulation(
    snap: Snapshot, rng: random.Random
) -> tuple[Snapshot, list[tuple[uuid.UUID, int, float]]]:
    """The registry in live use: every number fresh; every accommodation place free but those
    occupied now (maximum - available), whose stays end within their code's mean stay.

    Returns the snapshot and the first occupants (service, places, hour they leave).
    """
    services, occupants = [], []
    for s in snap.services:
        if s.maximum is None:
            services.append(s)
            continue
        s = msgspec.structs.replace(s, capacity_updated_at=snap.now, held=0)
        if is_accommodation(s.taxonomy_code):
            busy = max(s.maximum - (s.available or 0), 0)
            occupants += [
                (s.id, 1, whole_minutes(rng.uniform(0, STAYS[s.taxonomy_code]) * 24))
                for _ in range(busy)
            ]
            s = msgspec.structs.replace(s, available=s.maximum)
        else:
            # Sessions renew every week: taken as reported, never used up by the simulation.
            s = msgspec.structs.replace(s, available=max(s.available or 0, s.maximum))
        services.append(s)
    return msgspec.structs.replace(snap, services=services), occupants


class Simulation:
    """One load: arrivals placed one at a time by the suggested plan, as time passes."""

    def __init__(self, snap: Snapshot, settings: Settings, seed: int, *,
                 decline: float = DECLINE_RATE, expire: float = EXPIRE_RATE) -> None:  # fmt: skip
        self.snap, self.rng = snap, random.Random(seed)
        # Without declines or expiries every offer is accepted at once (the hindsight's world).
        self.decline, self.expire = decline, expire
        self.weights, self.params = weights_from_settings(settings), solve_params(settings)
        self.hold_h = {
            "emergency": settings.hold_minutes_emergency / 60,
            "urgent": settings.hold_minutes_urgent / 60,
            "planned": settings.hold_minutes_planned / 60,
        }
        self.by_code: dict[str, Snapshot] = {}
        self.capacity = {s.id: s.maximum or 0 for s in snap.services}
        self.taken: Counter[uuid.UUID] = Counter()
        self.events: list[tuple[float, int, int, str, Any]] = []
        self.seq = 0
        self.unmet: Counter[str] = Counter()
        self.other_km: list[float] = []
        self.ran_out: dict[tuple[str, str], list[float]] = defaultdict(list)
        self.offers: Counter[str] = Counter()
        self._other_cache: dict[bytes, tuple[float | None, str | None]] = {}

    def code_snapshot(self, code: str) -> Snapshot:
        """The registry for one code (and interpretation), as `load_snapshot` reads it."""
        found = self.by_code.get(code)
        if found is None:
            wanted = {code, INTERPRETATION_CODE}
            found = self.by_code[code] = msgspec.structs.replace(
                self.snap, services=[s for s in self.snap.services if s.taxonomy_code in wanted]
            )
        return found

    def push(self, at: float, kind: str, payload: Any) -> None:
        self.seq += 1
        # At one moment a stay ends before anyone arrives, as in the hindsight's half-open
        # intervals, so both agree on who was present.
        at = whole_minutes(at)
        heapq.heappush(self.events, (at, kind != "leave", self.seq, kind, payload))

    def run(self, referrals: Sequence[Referral], occupants: Occupants) -> list[Outcome]:
        """Every event in time order; returns each referral's outcome (accommodation only)."""
        outcomes = [Outcome() for _ in referrals]
        for service, places, leave in occupants:
            self.taken[service] += places
            self.push(leave, "leave", (service, places))
        for i, r in enumerate(referrals):
            self.push(r.at, "arrive", (i, frozenset()))
        while self.events:
            now, _, _, kind, payload = heapq.heappop(self.events)
            if kind == "leave":
                service, places = payload
                self.taken[service] -= places
            elif kind == "arrive":
                i, tried = payload
                self.arrive(now, i, referrals[i], tried, outcomes[i])
            else:  # an offer ends: accepted, declined or expired
                i, service, tried = payload
                self.respond(now, kind, i, referrals[i], service, tried, outcomes[i])
        return outcomes

    def arrive(
        self, now: float, i: int, r: Referral, tried: frozenset[uuid.UUID], out: Outcome
    ) -> None:
        """Match the referral now and offer the suggested service (or record why not)."""
        need = r.profile.needs[0]
        if not is_accommodation(need.code):
            self.other(r)
            return
        snap = self.code_snapshot(need.code)
        if tried:
            snap = msgspec.structs.replace(
                snap, services=[s for s in snap.services if s.id not in tried]
            )
        live = with_held(snap, {s.id: self.taken[s.id] for s in snap.services if self.taken[s.id]})
        result = suggest(r.profile, live, self.weights, self.params, top=1)
        (n,) = result.needs
        chosen = next((s for s in n.suggestions if s.in_plan), None)
        if chosen is None:
            out.reason = n.unmet_reason or "no_capacity"
            if tried and out.reason != "no_capacity":
                # Every eligible service left has declined or let the offer expire.
                out.reason = "declined_by_all"
            if out.reason == "no_capacity":
                self.check_none_free(r.profile, live)
                self.ran_out[(r.profile.jurisdiction, need.code)].append(now)
            return
        size = r.profile.group_size
        self.taken[chosen.service_id] += size
        out.service, out.km = chosen.service_id, chosen.distance_km
        draw = self.rng.random()
        hold = self.hold_h[r.profile.urgency]
        if draw < self.decline:
            self.push(now + self.rng.uniform(0, hold), "declined", (i, chosen.service_id, tried))
        elif draw < self.decline + self.expire:
            self.push(now + hold, "expired", (i, chosen.service_id, tried))
        else:
            answer = self.rng.uniform(0, hold) if self.decline + self.expire else 0.0
            self.push(now + answer, "accepted", (i, chosen.service_id, tried))

    def respond(self, now: float, kind: str, i: int, r: Referral, service: uuid.UUID,
                tried: frozenset[uuid.UUID], out: Outcome) -> None:  # fmt: skip
        """An offer ends: a stay begins, or the place is freed and the next suggestion asked."""
        self.offers[kind] += 1
        if kind == "accepted":
            out.start = now
            self.push(now + r.stay_h, "leave", (service, r.profile.group_size))
            return
        self.taken[service] -= r.profile.group_size
        out.service = None
        self.arrive(now, i, r, tried | {service}, out)

    def check_none_free(self, profile: NeedsProfile, live: Snapshot) -> None:
        """The rule of every policy: nobody is refused while an eligible place is free."""
        for s in live.services:
            if s.taxonomy_code != profile.needs[0].code or s.available is None:
                continue
            free = s.available - (s.held or 0)
            if (
                free >= profile.group_size
                and first_broken(profile, s, live, skip={"no_capacity"}) is None
            ):
                raise AssertionError(f"refused while {free} eligible places were free at {s.id}")

    def other(self, r: Referral) -> None:
        """A need that takes no bed: matched once per profile (sessions renew weekly)."""
        key = msgspec.json.encode(r.profile)
        found = self._other_cache.get(key)
        if found is None:
            snap = self.code_snapshot(r.profile.needs[0].code)
            (n,) = suggest(r.profile, snap, self.weights, self.params, top=1).needs
            chosen = next((s for s in n.suggestions if s.in_plan), None)
            found = self._other_cache[key] = (
                (chosen.distance_km, None) if chosen else (None, n.unmet_reason or "no_capacity")
            )
        km, reason = found
        if km is None:
            self.unmet[f"other:{reason}"] += 1
        else:
            self.other_km.append(km)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation (0 when empty)."""
    return match_bench.percentile(list(values), q) if values else 0.0


class Hindsight(msgspec.Struct, frozen=True, kw_only=True):
    """The hindsight optimum of the accommodation referrals, and its account."""

    status: str
    placed: int
    #: At most this many people can be placed (from the proven bound).
    bound: int
    travel_km: float
    seconds: float


def eligible_arcs(referrals: Sequence[Referral], snap: Snapshot) -> list[list[tuple[int, int]]]:
    """Per accommodation referral: (service index, travel points) of every eligible service."""
    cache: dict[bytes, list[int]] = {}
    services = snap.services
    by_code: dict[str, list[int]] = defaultdict(list)
    for j, s in enumerate(services):
        if s.maximum:
            by_code[s.taxonomy_code].append(j)
    arcs = []
    for r in referrals:
        p = r.profile
        key = msgspec.json.encode(msgspec.structs.replace(p, current_area=""))
        ok = cache.get(key)
        if ok is None:
            ok = cache[key] = [
                j for j in by_code[p.needs[0].code]
                if first_broken(p, services[j], snap, skip={"no_capacity"}) is None
            ]  # fmt: skip
        origin = snap.areas[p.current_area]
        arcs.append(
            [
                (j, round(distance_km(origin, (services[j].latitude, services[j].longitude)) * 10))
                for j in ok
            ]
        )
    return arcs


def hindsight(
    referrals: Sequence[Referral],
    occupants: Occupants,
    snap: Snapshot,
    *,
    never_refuse: bool,
    time_limit: float,
    max_terms: int,
    hint: dict[int, int] | None = None,
) -> Hindsight | None:
    """The most people placed (then the least travel) knowing every arrival and stay.

    Each service's occupancy over time is a cumulative constraint of the stays placed there
    (optional intervals of fixed start and length) and the first occupants, and the same as
    linear constraints at each moment where it could be exceeded (the largest sets of
    stays that overlap), which give the solver its bound; ``hint`` (referral -> service
    index) starts it from the simulation's placements. With
    ``never_refuse``, a person left unplaced must find every eligible service too full at
    their arrival, as the online rule demands; None when that model would exceed
    ``max_terms`` terms.
    """
    arcs = eligible_arcs(referrals, snap)
    services = snap.services
    index = {s.id: j for j, s in enumerate(services)}
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    per_service: dict[int, list[tuple[int, Any, int]]] = defaultdict(list)
    placed = []
    for i, (r, options) in enumerate(zip(referrals, arcs, strict=True)):
        start, end = minute(r.at), minute(r.at + r.stay_h)
        size = r.profile.group_size
        chosen = []
        for j, _ in options:
            v = x[(i, j)] = model.new_bool_var(f"x{i}_{j}")
            chosen.append(v)
            interval = model.new_optional_fixed_size_interval_var(
                start, end - start, v, f"i{i}_{j}"
            )
            per_service[j].append((size, interval, i))
        p = model.new_bool_var(f"p{i}")
        model.add(sum(chosen) == p) if chosen else model.add(p == 0)
        placed.append(p)
    for service, places, leave in occupants:
        j = index[service]
        per_service[j].append(
            (
                places,
                model.new_fixed_size_interval_var(0, max(minute(leave), 1), f"o{j}_{leave}"),
                -1,
            )
        )
    for j, items in per_service.items():
        model.add_cumulative(
            [it for _, it, _ in items], [d for d, _, _ in items], services[j].maximum or 0
        )
    _occupancy(model, referrals, arcs, x, occupants, index, services)
    for i, j in (hint or {}).items():
        for k, _ in arcs[i]:
            model.add_hint(x[(i, k)], k == j)
    if never_refuse and not _never_refuse(
        model, referrals, occupants, arcs, x, placed, index, services, max_terms
    ):
        return None
    sizes = [r.profile.group_size for r in referrals]
    travel = sum(cost * x[(i, j)] for i, options in enumerate(arcs) for j, cost in options)
    model.minimize(sum(PERSON * s * (1 - p) for s, p in zip(sizes, placed, strict=True)) + travel)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 2
    solver.parameters.random_seed = 0
    solver.parameters.repair_hint = True  # the hint may break the rule where hours round
    t0 = time.perf_counter()
    status = solver.solve(model)
    seconds = time.perf_counter() - t0
    people = sum(sizes)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Hindsight(
            status=solver.status_name(status),
            placed=0,
            bound=people,
            travel_km=0.0,
            seconds=seconds,
        )
    got = sum(s for s, p in zip(sizes, placed, strict=True) if solver.boolean_value(p))
    km = (
        sum(
            cost
            for i, options in enumerate(arcs)
            for j, cost in options
            if solver.boolean_value(x[(i, j)])
        )
        / 10
    )
    # objective >= bound and travel < PERSON: unplaced people >= floor(bound / PERSON).
    bound = people - int(solver.best_objective_bound // PERSON)
    return Hindsight(
        status=solver.status_name(status), placed=got, bound=bound, travel_km=km, seconds=seconds
    )


def _occupancy(model: cp_model.CpModel, referrals: Sequence[Referral],
               arcs: list[list[tuple[int, int]]], x: dict[tuple[int, int], Any],
               occupants: Occupants, index: dict[uuid.UUID, int],
               services: Sequence[Service]) -> None:  # fmt: skip
    """Places in use <= capacity at every moment where the stays that overlap could exceed it.

    In an interval graph the largest sets of overlapping stays are found by one sweep: the
    set present just before a stay ends, when it started after the last end.
    """
    items: dict[int, list[tuple[int, int, int, Any]]] = defaultdict(list)
    for i, options in enumerate(arcs):
        r = referrals[i]
        for j, _ in options:
            items[j].append(
                (minute(r.at), minute(r.at + r.stay_h), r.profile.group_size, x[(i, j)])
            )
    for service, places, leave in occupants:
        items[index[service]].append((0, max(minute(leave), 1), places, None))
    for j, stays in items.items():
        cap = services[j].maximum or 0
        events = sorted([(a, 1, k) for k, (a, _, _, _) in enumerate(stays)]
                        + [(b, 0, k) for k, (_, b, _, _) in enumerate(stays)])  # fmt: skip
        active: set[int] = set()
        grew = False
        for _, starts, k in events:
            if starts:
                active.add(k)
                grew = True
                continue
            if grew and sum(stays[m][2] for m in active) > cap:
                fixed = sum(stays[m][2] for m in active if stays[m][3] is None)
                model.add(
                    sum(stays[m][2] * stays[m][3] for m in active if stays[m][3] is not None)
                    <= max(cap - fixed, 0)
                )
            grew = False
            active.discard(k)


def _never_refuse(model: cp_model.CpModel, referrals: Sequence[Referral],
                  occupants: Occupants, arcs: list[list[tuple[int, int]]],
                  x: dict[tuple[int, int], Any], placed: list[Any], index: dict[uuid.UUID, int],
                  services: Sequence[Service], max_terms: int) -> bool:  # fmt: skip
    """Add: whoever is not placed found each eligible service too full at arrival."""
    stays: dict[int, list[tuple[float, float, int, int]]] = defaultdict(list)
    for i, options in enumerate(arcs):
        r = referrals[i]
        for j, _ in options:
            stays[j].append((minute(r.at), minute(r.at + r.stay_h), r.profile.group_size, i))
    fixed: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for service, places, leave in occupants:
        fixed[index[service]].append((minute(leave), places))
    terms = 0
    for i, options in enumerate(arcs):
        r = referrals[i]
        t = minute(r.at)
        for j, _ in options:
            present = [
                (size, q)
                for s0, s1, size, q in stays[j]
                if q != i and s0 <= t < s1 and (s0, q) < (t, i)
            ]
            terms += len(present)
            if terms > max_terms:
                return False
            base = sum(places for leave, places in fixed[j] if t < leave)
            load = sum(size * x[(q, j)] for size, q in present)
            cap = services[j].maximum or 0
            model.add(load + base + r.profile.group_size >= cap + 1).only_enforce_if(
                placed[i].Not()
            )
    return True


def report(load: int, referrals: Sequence[Referral], outcomes: Sequence[Outcome], sim: Simulation,
           start: dt.datetime) -> None:  # fmt: skip
    """The figures of one load."""
    acc = [
        (r, o)
        for r, o in zip(referrals, outcomes, strict=True)
        if is_accommodation(r.profile.needs[0].code)
    ]
    people = sum(r.profile.group_size for r, _ in acc)
    housed = sum(r.profile.group_size for r, o in acc if o.service is not None)
    km = [o.km for r, o in acc if o.service is not None for _ in range(r.profile.group_size)]
    reasons = dict(Counter(o.reason for _, o in acc if o.service is None).most_common())
    others = len(referrals) - len(acc)
    other_unmet = {k.split(":", 1)[1]: v for k, v in sim.unmet.most_common()}
    share = 100 * housed / max(people, 1)
    print(
        f"\n== load {load}x: {len(referrals):,} referrals ({len(acc):,} for accommodation,"
        f" {people:,} people with children; {others:,} other needs)\n"
        f"accommodation: {housed:,} of {people:,} people placed ({share:.1f} %);"
        f" unmet referrals by reason: {reasons}\n"
        f"offers: {dict(sim.offers)} (a declined or expired one goes to the next suggestion)\n"
        f"travel to accommodation, km per person: median {percentile(km, 50):.1f},"
        f" p95 {percentile(km, 95):.1f}, total {sum(km):,.0f}\n"
        f"other needs: {len(sim.other_km):,} of {others:,} met; unmet by reason: {other_unmet};"
        f" travel median {percentile(sim.other_km, 50):.1f} km,"
        f" p95 {percentile(sim.other_km, 95):.1f}, total {sum(sim.other_km):,.0f}"
    )
    if not sim.ran_out:
        print("ran out: no kind of place")
        return
    print("ran out (a referral refused for want of a place): kind, first and last day, refusals")
    for (where, code), times in sorted(sim.ran_out.items(), key=lambda kv: kv[1][0]):
        first, last = (start + dt.timedelta(hours=t) for t in (times[0], times[-1]))
        print(f"  {where} {code:<11} {first:%Y-%m-%d} .. {last:%Y-%m-%d}  {len(times):>5}")


def bounds(args: argparse.Namespace, referrals: Sequence[Referral], outcomes: Sequence[Outcome],
           live: Snapshot, occupants: Occupants, settings: Settings,
           seed: int) -> None:  # fmt: skip
    """The hindsight optimum, with and without the rule, against what the simulation placed.

    The same policy is run again without declines or expiries (every offer accepted at
    once): its placements obey the rule in the hindsight's own terms, so they start both
    models, and it is the policy's figure comparable with the optimum.
    """
    clean = Simulation(live, settings, seed, decline=0.0, expire=0.0).run(referrals, occupants)
    where = {s.id: j for j, s in enumerate(live.services)}
    acc, hint = [], {}
    for r, o in zip(referrals, clean, strict=True):
        if is_accommodation(r.profile.needs[0].code):
            if o.service is not None:
                hint[len(acc)] = where[o.service]
            acc.append(r)
    online = sum(
        r.profile.group_size
        for r, o in zip(referrals, outcomes, strict=True)
        if o.service is not None
    )
    greedy = sum(
        r.profile.group_size for r, o in zip(referrals, clean, strict=True) if o.service is not None
    )
    print(f"the same policy without declines or expiries: {greedy:,} people placed")
    best = hindsight(
        acc, occupants, live, never_refuse=False, time_limit=args.time_limit, max_terms=0,
        hint=hint,
    )  # fmt: skip
    assert best is not None
    print(
        f"hindsight optimum (CP-SAT, {best.seconds:.1f} s, {best.status}): {best.placed:,}"
        f" people placed (bound: at most {best.bound:,}), travel {best.travel_km:,.0f} km;"
        f" the policy placed {greedy:,} = {100 * greedy / max(best.placed, 1):.1f} % of it"
        f" ({100 * greedy / max(best.bound, 1):.1f} % of the bound), with declines and expiries"
        f" {online:,} = {100 * online / max(best.placed, 1):.1f} %"
    )
    rule = hindsight(
        acc, occupants, live, never_refuse=True, time_limit=args.time_limit,
        max_terms=args.max_terms, hint=hint,
    )  # fmt: skip
    name = "hindsight under 'never refuse while a place is free'"
    if rule is None:
        print(f"{name}: not built (over {args.max_terms:,} terms; raise --max-terms)")
        return
    if rule.status not in ("OPTIMAL", "FEASIBLE"):
        print(f"{name}: no solution within {args.time_limit:.0f} s ({rule.status})")
        return
    # Unreachable: the optimum minus the rule's optimum; each known within its bounds.
    low, high = max(best.placed - rule.bound, 0), max(best.bound - rule.placed, 0)
    share = 100 / max(best.placed, 1)
    span = f"{low:,}" if low == high else f"between {low:,} and {high:,}"
    print(
        f"{name} ({rule.seconds:.1f} s, {rule.status}): {rule.placed:,} placed"
        f" (bound {rule.bound:,}); the rule makes {span} of the optimum's {best.placed:,}"
        f" placements unreachable ({low * share:.1f}"
        + ("" if low == high else f"-{high * share:.1f}")
        + " %)",
        flush=True,
    )


async def bench(args: argparse.Namespace, url: str) -> None:
    """Read the registry and the signals, simulate each load, print the figures."""
    settings = Settings(database_url=url, pool_min_size=1, pool_max_size=2)
    now = dt.datetime.now(dt.UTC)
    days = 31 if args.quick else 365
    start = dt.datetime.combine(now.date() - dt.timedelta(days=days), dt.time(), dt.UTC)
    conn = await asyncpg.connect(url)
    try:
        signals = [s for s in await need_signals(conn, since=start, until=now) if s.area_code]
        snap = await load_snapshot(
            conn,
            codes={s.taxonomy_code for s in signals} | {"ACC.CHILD", "ACC.FOSTER"},
            areas=[("signal", a) for a in sorted({s.area_code for s in signals if s.area_code})],
            now=now,
            stale_hours=settings.stale_hours,
            address_scope=AddressScope(),
        )
    finally:
        await conn.close()
    live, occupants = for_simulation(snap, random.Random(args.seed))
    beds = sum(s.maximum or 0 for s in live.services if is_accommodation(s.taxonomy_code))
    print(
        f"{len(signals):,} need signals from {start:%Y-%m-%d} ({days} days); {beds} places in"
        f" accommodation, {sum(p for _, p, _ in occupants)} occupied at the start",
        flush=True,
    )
    for load in args.loads:
        referrals = arrivals(signals, load, start, args.seed)
        t0 = time.perf_counter()
        sim = Simulation(live, settings, args.seed + load)
        outcomes = sim.run(referrals, occupants)
        report(load, referrals, outcomes, sim, start)
        print(
            f"(simulated in {time.perf_counter() - t0:.1f} s; nobody was refused while an"
            " eligible place was free)",
            flush=True,
        )
        bounds(args, referrals, outcomes, live, occupants, settings, args.seed + load)


async def prepared(home: Path, args: argparse.Namespace) -> None:
    """A fresh embedded database with the demo registry and its demand, then the bench."""
    server = EmbeddedPostgres(home / "pg")
    server_url = server.start()
    try:
        url = await ensure_database(server_url)
        await match_bench.prepare(url, match_bench.ROOT / "seed_data", random.Random(args.seed))
        await bench(args, url)
    finally:
        server.stop()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="bench/online.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="The same seed gives the same figures, but a solver's stopped at its time limit.",
    )
    parser.add_argument("--loads", default="1,2,4,8", help="demand multiples (1,2,4,8)")
    parser.add_argument("--seed", type=int, default=1, help="seed of profiles, stays, offers (1)")
    parser.add_argument(
        "--time-limit", type=float, default=60.0, help="CP-SAT seconds per model (60)"
    )
    parser.add_argument(
        "--max-terms",
        type=int,
        default=2_000_000,
        help="largest 'never refuse' model (2,000,000 terms)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="the last 31 days at load 1, 2 s models"
    )
    args = parser.parse_args(argv)
    args.loads = [int(x) for x in str(args.loads).split(",")]
    if args.quick:
        args.loads, args.time_limit = [1], 2.0
    return args


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the benchmark in a temporary directory, clean up."""
    args = parse(argv)
    home = Path(tempfile.mkdtemp(prefix="csomatch-bench-online-", dir="/tmp"))
    os.chmod(home, 0o755)  # noqa: S103 -- as root the embedded server runs as its own user
    try:
        asyncio.run(prepared(home, args))
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
