"""Benchmark of the solver core against greedy heuristics and SciPy's HiGHS.

Not a test: it prints figures and asserts nothing about time. Run from the repository root:

    .venv/bin/python bench/solver.py            # everything, about three minutes
    .venv/bin/python bench/solver.py --quick    # 1,000x200 unit instances, seconds

Families (seeded, so every run builds the same instances):

- uniform: each demand is eligible for 50 providers drawn at random, cost 1..1000.
- geo: demands cluster around a few hubs in a 500 km square, providers half near hubs and
  half spread out; each demand is eligible for its 50 nearest providers, cost = distance
  in metres.

- geo+groups (1,000x200 only): the geo family where a demand is a group of 1-4 people
  (sizes 1,1,1,2,3,4 equally likely) that must stay together, so csomatch uses CP-SAT.

Capacity variants: "feasible" gives each provider the load of a random full assignment plus
10 %, so everyone can be placed but the cheap providers are oversubscribed; "scarce" shares
80 % of the demand at random, so some demands must go unserved. Every demand has an unmet
penalty larger than any cost, so the optimum serves as many demands as possible.

Methods: csomatch.solver.solve (end to end from a Problem: validation, indexing, OR-Tools
min-cost flow, result building); greedy global sort (all arcs by cost, take if the demand
is open and the provider has room); greedy first-come-first-served (each demand in input
order takes its cheapest provider with room); SciPy HiGHS dual simplex (linprog
``highs-ds``) on the LP relaxation, which is exact for unit problems (totally unimodular).
HiGHS is timed from ready-made numpy arrays (matrix building + solve), so it is not charged
for reading the Problem, while csomatch is. For groups the reference is SciPy's HiGHS MILP
(``milp``) with a time limit, and csomatch runs CP-SAT with its default 10 s limit and
``--workers`` threads; there "gap" is to the best objective found by any method.

Columns: seconds = wall time; cpu s = CPU time of this process (all threads), which grows
much less than wall time when the machine is shared with other work; gap = objective above
the best any method found; proof = objective above the
method's own proven lower bound (0 % = proven optimal, "-" = no bound); unserved = demands
left unmet; x HiGHS = seconds relative to the HiGHS run on the same instance.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.spatial import cKDTree

from csomatch.solver import Arc, Demand, Problem, Provider, SolveParams, check_solution, solve

IntArray = npt.NDArray[np.int64]
ELIGIBLE = 50
HIGHS = "scipy highs"
MILP_TIME_LIMIT_S = 60.0


@dataclass(frozen=True)
class Instance:
    """A unit-size instance as arrays: arc i joins demand arc_demand[i] to arc_provider[i]."""

    family: str
    variant: str
    n_demands: int
    n_providers: int
    arc_demand: IntArray
    arc_provider: IntArray
    arc_cost: IntArray
    capacity: IntArray
    penalty: int
    demand_size: IntArray

    @property
    def is_unit(self) -> bool:
        """True when every demand needs one place."""
        return bool(np.all(self.demand_size == 1))

    def to_problem(self) -> Problem:
        """The same instance as a csomatch Problem."""
        return Problem(
            demands=tuple(
                Demand(id=f"d{i}", size=int(size), unmet_penalty=self.penalty)
                for i, size in enumerate(self.demand_size.tolist())
            ),
            providers=tuple(
                Provider(id=f"p{j}", capacity=int(c)) for j, c in enumerate(self.capacity)
            ),
            arcs=tuple(
                Arc(demand=f"d{d}", provider=f"p{p}", cost=c)
                for d, p, c in zip(
                    self.arc_demand.tolist(),
                    self.arc_provider.tolist(),
                    self.arc_cost.tolist(),
                    strict=True,
                )
            ),
        )


@dataclass(frozen=True)
class Result:
    """What one method achieved on one instance."""

    method: str
    seconds: float
    objective: int
    unserved: int
    #: A proven lower bound on the optimum, when the method gives one.
    bound: float | None = None
    #: CPU seconds of this process (all its threads) during the run.
    cpu: float = 0.0


def uniform_arcs(rng: np.random.Generator, n: int, m: int) -> tuple[IntArray, IntArray, IntArray]:
    """Each demand eligible for ELIGIBLE random providers, costs 1..1000."""
    k = min(ELIGIBLE, m)
    providers = np.argsort(rng.random((n, m)), axis=1)[:, :k]
    demands = np.repeat(np.arange(n), k)
    costs = rng.integers(1, 1001, size=n * k)
    return demands, providers.ravel().astype(np.int64), costs.astype(np.int64)


def geo_arcs(rng: np.random.Generator, n: int, m: int) -> tuple[IntArray, IntArray, IntArray]:
    """Demands around hubs, each eligible for its ELIGIBLE nearest providers; cost in metres."""
    side_km = 500.0
    hubs = rng.uniform(0, side_km, size=(8, 2))
    weights = rng.dirichlet(np.ones(len(hubs)))
    demand_hub = rng.choice(len(hubs), size=n, p=weights)
    demand_xy = hubs[demand_hub] + rng.normal(0, 20, size=(n, 2))
    near = m // 2
    provider_xy = np.vstack(
        [
            hubs[rng.choice(len(hubs), size=near)] + rng.normal(0, 40, size=(near, 2)),
            rng.uniform(0, side_km, size=(m - near, 2)),
        ]
    )
    k = min(ELIGIBLE, m)
    distance_km, providers = cKDTree(provider_xy).query(demand_xy, k=k)
    demands = np.repeat(np.arange(n), k)
    costs = np.rint(distance_km.ravel() * 1000).astype(np.int64)
    return demands, providers.ravel().astype(np.int64), costs


def build(family: str, variant: str, n: int, m: int, seed: int) -> Instance:
    """A seeded instance of ``family`` with ``variant`` capacities."""
    rng = np.random.default_rng(seed)
    arcs = uniform_arcs if family == "uniform" else geo_arcs  # geo and geo+groups
    arc_demand, arc_provider, arc_cost = arcs(rng, n, m)
    if family.endswith("+groups"):
        size = rng.choice(np.array([1, 1, 1, 2, 3, 4]), size=n).astype(np.int64)
    else:
        size = np.ones(n, dtype=np.int64)
    k = len(arc_demand) // n
    if variant == "feasible":
        # The load of a random full assignment, plus 10 %: everyone fits, cheap places do not.
        pick = arc_provider.reshape(n, k)[np.arange(n), rng.integers(0, k, size=n)]
        load = np.bincount(pick, weights=size, minlength=m)
        capacity = np.ceil(load * 1.1).astype(np.int64)
    else:
        demand = rng.integers(0, m, size=int(0.8 * size.sum()))
        capacity = np.bincount(demand, minlength=m)
    penalty = int(arc_cost.max()) * 10 + 1
    return Instance(
        family,
        variant,
        n,
        m,
        arc_demand,
        arc_provider,
        arc_cost,
        capacity.astype(np.int64),
        penalty,
        size,
    )


def run_csomatch(instance: Instance, problem: Problem, workers: int) -> Result:
    """csomatch.solver.solve, end to end from the Problem."""
    started = time.perf_counter()
    solution = solve(problem, SolveParams(workers=workers))
    seconds = time.perf_counter() - started
    errors = check_solution(problem, solution)
    if errors or solution.objective is None:
        raise SystemExit(f"invalid csomatch solution: {errors[:3]} status={solution.status}")
    name = "csomatch.solve" if solution.status == "optimal" else f"csomatch ({solution.status})"
    return Result(name, seconds, solution.objective, len(solution.unmet), solution.bound)


def run_greedy_sort(instance: Instance, _problem: Problem, _workers: int) -> Result:
    """All arcs by cost, cheapest first; take an arc if its demand is open and there is room."""
    started = time.perf_counter()
    order = np.argsort(instance.arc_cost, kind="stable").tolist()
    total, unserved = _take_in_order(instance, order)
    seconds = time.perf_counter() - started
    return Result("greedy sort", seconds, total, unserved)


def run_greedy_fcfs(instance: Instance, _problem: Problem, _workers: int) -> Result:
    """Each demand in input order takes its cheapest provider that still has room."""
    started = time.perf_counter()
    order = np.lexsort((instance.arc_cost, instance.arc_demand)).tolist()
    total, unserved = _take_in_order(instance, order)
    seconds = time.perf_counter() - started
    return Result("greedy fcfs", seconds, total, unserved)


def _take_in_order(instance: Instance, order: list[int]) -> tuple[int, int]:
    """Take arcs in ``order`` while the demand is open and its group fits; (objective, unserved)."""
    demand, provider = instance.arc_demand.tolist(), instance.arc_provider.tolist()
    cost, size = instance.arc_cost.tolist(), instance.demand_size.tolist()
    left = instance.capacity.tolist()
    placed = [False] * instance.n_demands
    total = 0
    for a in order:
        d, p = demand[a], provider[a]
        if not placed[d] and left[p] >= size[d] and cost[a] < instance.penalty:
            placed[d] = True
            left[p] -= size[d]
            total += cost[a]
    unserved = placed.count(False)
    return total + unserved * instance.penalty, unserved


def run_highs(instance: Instance, _problem: Problem, _workers: int) -> Result:
    """SciPy HiGHS: dual simplex (exact) for unit problems, the MILP solver for groups."""
    started = time.perf_counter()
    n, m, n_arcs = instance.n_demands, instance.n_providers, len(instance.arc_demand)
    columns = np.arange(n_arcs + n)
    rows = np.concatenate([instance.arc_demand, np.arange(n)])
    a_eq = sparse.csr_array((np.ones(n_arcs + n), (rows, columns)), shape=(n, n_arcs + n))
    a_ub = sparse.csr_array(
        (instance.demand_size[instance.arc_demand], (instance.arc_provider, np.arange(n_arcs))),
        shape=(m, n_arcs + n),
    )
    c = np.concatenate([instance.arc_cost, np.full(n, instance.penalty)]).astype(np.float64)
    if not instance.is_unit:
        return _run_highs_milp(instance, started, c, a_eq, a_ub)
    result = linprog(
        c,
        A_ub=a_ub,
        b_ub=instance.capacity.astype(np.float64),
        A_eq=a_eq,
        b_eq=np.ones(n),
        bounds=(0, 1),
        method="highs-ds",
    )
    seconds = time.perf_counter() - started
    if result.status != 0:
        raise SystemExit(f"HiGHS failed: {result.message}")
    unserved = int(np.rint(result.x[n_arcs:]).sum())
    return Result(HIGHS, seconds, round(result.fun), unserved, result.fun)


def _run_highs_milp(
    instance: Instance,
    started: float,
    c: npt.NDArray[np.float64],
    a_eq: sparse.csr_array,
    a_ub: sparse.csr_array,
) -> Result:
    result = milp(
        c,
        constraints=[
            LinearConstraint(a_eq, 1, 1),
            LinearConstraint(a_ub, -np.inf, instance.capacity.astype(np.float64)),
        ],
        integrality=np.ones(len(c)),
        bounds=Bounds(0, 1),
        options={"time_limit": MILP_TIME_LIMIT_S},
    )
    seconds = time.perf_counter() - started
    if result.x is None:
        raise SystemExit(f"HiGHS MILP found nothing: {result.message}")
    unserved = int(np.rint(result.x[len(instance.arc_demand) :]).sum())
    name = HIGHS if result.status == 0 else f"{HIGHS} (limit)"
    return Result(name, seconds, round(result.fun), unserved, result.mip_dual_bound)


def timed(
    method: Callable[[Instance, Problem, int], Result],
    instance: Instance,
    problem: Problem,
    workers: int,
) -> Result:
    """Run a method and record the CPU time this process spent on it."""
    started = time.process_time()
    result = method(instance, problem, workers)
    return replace(result, cpu=time.process_time() - started)


METHODS: tuple[Callable[[Instance, Problem, int], Result], ...] = (
    run_csomatch,
    run_greedy_sort,
    run_greedy_fcfs,
    run_highs,
)


def main(argv: list[str] | None = None) -> int:
    """Build the instances, run every method, print one table."""
    parser = argparse.ArgumentParser(
        prog="bench/solver.py",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="Figures vary with the machine; the instances do not (fixed seeds).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="only the 1,000x200 unit instances (a few seconds)"
    )
    parser.add_argument("--seed", type=int, default=1, help="instance seed (default: 1)")
    parser.add_argument(
        "--workers", type=int, default=1, help="CP-SAT threads for groups (default: 1)"
    )
    args = parser.parse_args(argv)

    runs = [(1_000, 200, "uniform"), (1_000, 200, "geo")]
    if not args.quick:
        runs += [(10_000, 1_000, "uniform"), (10_000, 1_000, "geo"), (1_000, 200, "geo+groups")]
    header = (
        f"{'family':<10} {'size':>12} {'variant':<9} {'method':<20} {'seconds':>8} {'cpu s':>7} "
        f"{'objective':>14} {'gap':>8} {'proof':>7} {'unserved':>8} {'x HiGHS':>8}"
    )
    print(header)
    print("-" * len(header))
    for n, m, family in runs:
        for variant in ("feasible", "scarce"):
            instance = build(family, variant, n, m, args.seed)
            problem = instance.to_problem()
            if instance.is_unit:
                solve(problem)  # warm up imports and OR-Tools once per instance
            results = [timed(method, instance, problem, args.workers) for method in METHODS]
            best = min(result.objective for result in results)
            highs = next(r for r in results if r.method.startswith(HIGHS)).seconds
            for result in results:
                gap = 100.0 * (result.objective - best) / max(abs(best), 1)
                proof = "-"
                if result.bound is not None:
                    unproven = (result.objective - result.bound) / max(abs(result.objective), 1)
                    proof = f"{100.0 * unproven:.1f}%"
                print(
                    f"{family:<10} {f'{n:,}x{m:,}':>12} {variant:<9} {result.method:<20} "
                    f"{result.seconds:>8.3f} {result.cpu:>7.3f} {result.objective:>14,} "
                    f"{gap:>7.2f}% {proof:>7} {result.unserved:>8,} {result.seconds / highs:>8.3f}"
                )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
