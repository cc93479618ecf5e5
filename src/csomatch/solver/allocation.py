"""The allocation optimiser: how a budget, bought in units of service, covers most unmet demand.

A pure function in the solver's style: integer data in, a result out, no database, clock or
environment; the time limit, workers and seed come in `SolveParams`. The model (CP-SAT):

- ``units[o]`` whole units (beds, places, sessions…) bought from option ``o`` (a service), at
  most ``max_units``, each costing ``unit_cost``; together they cost at most the budget;
- ``covered[o, b]`` people of demand bucket ``b`` (a service code in an area) served by what
  was bought at ``o``, only along an eligible link;
- an option serves at most ``people_per_unit`` people per unit bought; a bucket is covered at
  most as often as it has unmet demand;
- maximise the covered demand weighted by the bucket's severity, then spend as little as
  possible for it.

`check_allocation` verifies a result without the solver.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Annotated, Final

from msgspec import Meta
from ortools.sat.python import cp_model

from csomatch.solver.compiled import ProblemError
from csomatch.solver.cpsat import _STATUS, SOLVER_NAME
from csomatch.solver.problem import Count, Id, SolveParams, Status, _Input, _Output

#: Largest budget and unit cost (whole currency units): sums stay exact in 64-bit integers.
MAX_MONEY: Final = 10**10
Money = Annotated[int, Meta(ge=0, le=MAX_MONEY)]
UnitCost = Annotated[int, Meta(ge=1, le=MAX_MONEY)]
Weight = Annotated[int, Meta(ge=1, le=1000)]
PeoplePerUnit = Annotated[int, Meta(ge=1, le=10_000)]
#: A coverage objective beyond this could lose precision in CP-SAT's floating-point checks.
_MAX_OBJECTIVE: Final = 2**53


class Bucket(_Input, frozen=True):
    """Unmet demand of one kind in one place, and how much covering one person of it counts."""

    id: Id
    unmet: Count
    weight: Weight = 1


class Option(_Input, frozen=True):
    """A service that can be bought in whole units."""

    id: Id
    unit_cost: UnitCost
    max_units: Count
    people_per_unit: PeoplePerUnit = 1


class Link(_Input, frozen=True):
    """Demand of ``bucket`` may be served by ``option``."""

    option: Id
    bucket: Id


class AllocationProblem(_Input, frozen=True):
    """A budget, the unmet demand, the services it could buy, and which serves which."""

    budget: Money
    buckets: tuple[Bucket, ...]
    options: tuple[Option, ...]
    links: tuple[Link, ...]


class Purchase(_Output, frozen=True):
    """Units bought from one option."""

    option: str
    units: int
    cost: int


class Coverage(_Output, frozen=True):
    """People of one bucket served by what was bought at one option."""

    option: str
    bucket: str
    people: int


class Allocation(_Output, frozen=True):
    """What to buy, whom it serves, the weighted demand covered and what it costs."""

    status: Status
    #: Weighted people covered (sum of weight x people); ``None`` without a solution.
    covered_weight: int | None
    #: Proven upper bound on ``covered_weight``.
    bound: int | None
    spent: int
    purchases: tuple[Purchase, ...]
    coverage: tuple[Coverage, ...]
    solver: str
    seconds: float


def _validate(problem: AllocationProblem) -> None:
    for name, ids in (
        ("buckets", [b.id for b in problem.buckets]),
        ("options", [o.id for o in problem.options]),
    ):
        seen: set[str] = set()
        for i, item_id in enumerate(ids):
            if item_id in seen:
                raise ProblemError(f"$.{name}[{i}].id", f"duplicate id {item_id!r}")
            seen.add(item_id)
    buckets = {b.id for b in problem.buckets}
    options = {o.id for o in problem.options}
    pairs: set[tuple[str, str]] = set()
    for i, link in enumerate(problem.links):
        if link.option not in options:
            raise ProblemError(f"$.links[{i}].option", f"option {link.option!r} is not in options")
        if link.bucket not in buckets:
            raise ProblemError(f"$.links[{i}].bucket", f"bucket {link.bucket!r} is not in buckets")
        if (link.option, link.bucket) in pairs:
            raise ProblemError(f"$.links[{i}]", "a link appears twice")
        pairs.add((link.option, link.bucket))
    most = sum(b.unmet * b.weight for b in problem.buckets)
    if most * (problem.budget + 1) >= _MAX_OBJECTIVE:
        raise ProblemError("$.budget", "budget x weighted demand is too large; scale money down")


def add_budget(
    model: cp_model.CpModel, units: list[cp_model.IntVar], costs: list[int], budget: int
) -> None:
    """What is bought costs at most the budget."""
    model.add(cp_model.LinearExpr.weighted_sum(units, costs) <= budget)


def add_option_throughput(
    model: cp_model.CpModel, covered: list[cp_model.IntVar], units: cp_model.IntVar, per_unit: int
) -> None:
    """A service serves at most ``people_per_unit`` people for each unit bought there."""
    model.add(sum(covered) <= per_unit * units)


def add_bucket_demand(model: cp_model.CpModel, covered: list[cp_model.IntVar], unmet: int) -> None:
    """A bucket's demand is covered at most once per unmet need."""
    model.add(sum(covered) <= unmet)


def allocate(problem: AllocationProblem, params: SolveParams) -> Allocation:
    """Propose units to buy within the budget that cover the most severity-weighted demand.

    Raises:
        ProblemError: a duplicate id, a link to an unknown option or bucket, or numbers too
            large to optimise exactly.
    """
    started = time.perf_counter()
    _validate(problem)
    buckets = {b.id: b for b in problem.buckets}
    model = cp_model.CpModel()
    units = [
        model.new_int_var(0, min(o.max_units, problem.budget // o.unit_cost), "")
        for o in problem.options
    ]
    index = {o.id: i for i, o in enumerate(problem.options)}
    covered = [model.new_int_var(0, buckets[link.bucket].unmet, "") for link in problem.links]
    by_option: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    by_bucket: dict[str, list[cp_model.IntVar]] = defaultdict(list)
    for link, var in zip(problem.links, covered, strict=True):
        by_option[index[link.option]].append(var)
        by_bucket[link.bucket].append(var)
    add_budget(model, units, [o.unit_cost for o in problem.options], problem.budget)
    for i, option in enumerate(problem.options):
        add_option_throughput(model, by_option[i], units[i], option.people_per_unit)
    for bucket_id, vars_ in by_bucket.items():
        add_bucket_demand(model, vars_, buckets[bucket_id].unmet)
    weights = [buckets[link.bucket].weight for link in problem.links]
    scale = problem.budget + 1
    # Covering one more weighted person is worth more than any saving: lexicographic order.
    model.maximize(
        scale * cp_model.LinearExpr.weighted_sum(covered, weights)
        - cp_model.LinearExpr.weighted_sum(units, [o.unit_cost for o in problem.options])
    )
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = params.time_limit_s
    solver.parameters.num_workers = params.workers
    solver.parameters.random_seed = params.seed
    code = solver.solve(model)
    status = _STATUS.get(code)
    if status is None:
        raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")
    if status not in ("optimal", "feasible"):
        return Allocation(
            status=status, covered_weight=None, bound=None, spent=0, purchases=(), coverage=(),
            solver=SOLVER_NAME, seconds=round(time.perf_counter() - started, 6),
        )  # fmt: skip
    bought = [int(solver.value(u)) for u in units]
    people = [int(solver.value(c)) for c in covered]
    purchases = tuple(
        Purchase(option=o.id, units=n, cost=n * o.unit_cost)
        for o, n in zip(problem.options, bought, strict=True)
        if n > 0
    )
    coverage = tuple(
        Coverage(option=link.option, bucket=link.bucket, people=n)
        for link, n in zip(problem.links, people, strict=True)
        if n > 0
    )
    return Allocation(
        status=status,
        covered_weight=sum(w * n for w, n in zip(weights, people, strict=True)),
        # objective = scale x weight - spent, and spent <= budget < scale
        bound=(int(solver.best_objective_bound) + problem.budget) // scale,
        spent=sum(p.cost for p in purchases),
        purchases=purchases,
        coverage=coverage,
        solver=SOLVER_NAME,
        seconds=round(time.perf_counter() - started, 6),
    )


def check_allocation(problem: AllocationProblem, allocation: Allocation) -> list[str]:
    """Every way ``allocation`` breaks a rule of ``problem``, in words; empty when valid."""
    errors: list[str] = []
    options = {o.id: o for o in problem.options}
    buckets = {b.id: b for b in problem.buckets}
    links = {(link.option, link.bucket) for link in problem.links}
    bought, spent = _check_purchases(options, allocation.purchases, errors)
    if spent > problem.budget:
        errors.append(f"spends {spent}, more than the budget {problem.budget}")
    if spent != allocation.spent:
        errors.append(f"spent says {allocation.spent}, purchases cost {spent}")
    served, used, weight = _check_coverage(links, buckets, allocation.coverage, errors)
    _check_bucket_limits(buckets, served, errors)
    _check_option_limits(options, bought, used, errors)
    if allocation.status in ("optimal", "feasible") and allocation.covered_weight != weight:
        errors.append(f"covered_weight says {allocation.covered_weight}, coverage gives {weight}")
    return errors


def _check_purchases(
    options: dict[str, Option], purchases: tuple[Purchase, ...], errors: list[str]
) -> tuple[dict[str, int], int]:
    """Each purchase buys a known option once, within its units, at its price.

    Returns:
        The units bought of each known option, and what the purchases cost.
    """
    bought: dict[str, int] = {}
    spent = 0
    for p in purchases:
        option = options.get(p.option)
        if option is None:
            errors.append(f"purchase of unknown option {p.option!r}")
            continue
        if p.option in bought:
            errors.append(f"option {p.option!r} is bought twice")
        if not 0 < p.units <= option.max_units:
            errors.append(f"{p.units} units of {p.option!r} outside 1..{option.max_units}")
        if p.cost != p.units * option.unit_cost:
            errors.append(f"{p.option!r} costs {p.units * option.unit_cost}, not {p.cost}")
        bought[p.option] = p.units
        spent += p.units * option.unit_cost
    return bought, spent


def _check_coverage(
    links: set[tuple[str, str]],
    buckets: dict[str, Bucket],
    coverage: tuple[Coverage, ...],
    errors: list[str],
) -> tuple[dict[str, int], dict[str, int], int]:
    """Each coverage runs along a link.

    Returns:
        The people served in each bucket, the people each option serves, and the weight covered.
    """
    served: dict[str, int] = defaultdict(int)
    used: dict[str, int] = defaultdict(int)
    weight = 0
    for c in coverage:
        if (c.option, c.bucket) not in links:
            errors.append(f"{c.bucket!r} served by {c.option!r} without a link")
            continue
        served[c.bucket] += c.people
        used[c.option] += c.people
        weight += c.people * buckets[c.bucket].weight
    return served, used, weight


def _check_bucket_limits(
    buckets: dict[str, Bucket], served: dict[str, int], errors: list[str]
) -> None:
    """No bucket is covered more often than it has unmet demand."""
    for bucket_id, n in served.items():
        if n > buckets[bucket_id].unmet:
            errors.append(
                f"{bucket_id!r} covered {n} times but has {buckets[bucket_id].unmet} unmet"
            )


def _check_option_limits(
    options: dict[str, Option], bought: dict[str, int], used: dict[str, int], errors: list[str]
) -> None:
    """No option serves more people than the units bought of it have places for."""
    for option_id, n in used.items():
        capacity = bought.get(option_id, 0) * options[option_id].people_per_unit
        if n > capacity:
            errors.append(f"{option_id!r} serves {n} people but bought places for {capacity}")
