"""`solve`: the pure entry point from a `Problem` to a `Solution`."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from csomatch.solver.compiled import (
    CompiledProblem,
    RawResult,
    check_params,
    compile_arrays,
    compile_problem,
)
from csomatch.solver.cpsat import solve_cpsat
from csomatch.solver.flow import solve_flow
from csomatch.solver.problem import (
    Assignment,
    Demand,
    Problem,
    Provider,
    Solution,
    SolveParams,
)

DEFAULT_PARAMS: Final = SolveParams()


def solve(problem: Problem, params: SolveParams = DEFAULT_PARAMS) -> Solution:
    """Place demands with providers at least total cost, or say why that is impossible.

    Unit-size problems (every arc uses one place) go to an exact min-cost flow; problems
    with groups go to CP-SAT under ``params``. Infeasible is a status, not an exception.
    The function is pure: no I/O, logging, environment or clock other than timing itself.

    Raises:
        ProblemError: a ``ValueError`` naming the offending value, e.g. an arc whose
            demand is not in the problem (``$.arcs[3].demand``), or a duplicate id.
    """
    started = time.perf_counter()
    check_params(params)
    return _solve_compiled(compile_problem(problem), params, started)


def solve_arrays(
    demands: Sequence[Demand],
    providers: Sequence[Provider],
    arc_demand: npt.ArrayLike,
    arc_provider: npt.ArrayLike,
    arc_cost: npt.ArrayLike,
    params: SolveParams = DEFAULT_PARAMS,
) -> Solution:
    """`solve` for a caller that holds its arcs as arrays of positions (see `compile_arrays`).

    Arc ``i`` joins ``demands[arc_demand[i]]`` and ``providers[arc_provider[i]]`` at
    ``arc_cost[i]`` and uses the demand's size. The answer is the one `solve` gives for the
    equivalent `Problem`, without building an `Arc` per arc; errors are the same too.
    """
    started = time.perf_counter()
    check_params(params)
    compiled = compile_arrays(demands, providers, arc_demand, arc_provider, arc_cost)
    return _solve_compiled(compiled, params, started)


def _solve_compiled(compiled: CompiledProblem, params: SolveParams, started: float) -> Solution:
    raw = solve_flow(compiled) if compiled.is_unit else solve_cpsat(compiled, params)
    return _to_solution(compiled, raw, time.perf_counter() - started)


def _to_solution(problem: CompiledProblem, raw: RawResult, seconds: float) -> Solution:
    demand_ids, provider_ids = problem.demand_ids, problem.provider_ids
    chosen_demands = problem.arc_demand[raw.chosen]
    chosen_providers = problem.arc_provider[raw.chosen]
    assignments = sorted(
        (
            Assignment(demand=demand_ids[d], provider=provider_ids[p])
            for d, p in zip(chosen_demands.tolist(), chosen_providers.tolist(), strict=True)
        ),
        key=lambda assignment: assignment.demand,
    )
    is_unmet = np.ones(len(demand_ids), dtype=np.bool_)
    is_unmet[chosen_demands] = False
    unmet_positions = np.flatnonzero(is_unmet)
    unmet = sorted(demand_ids[d] for d in unmet_positions.tolist())

    objective: int | None = None
    if raw.status in ("optimal", "feasible"):
        # Recomputed in exact integers from the chosen arcs, whichever model produced them.
        objective = int(problem.arc_cost[raw.chosen].sum()) + int(
            problem.penalty[unmet_positions].sum()
        )
    else:
        assignments, unmet = [], sorted(demand_ids)
    return Solution(
        status=raw.status,
        objective=objective,
        bound=raw.bound,
        assignments=tuple(assignments),
        unmet=tuple(unmet),
        solver=raw.solver,
        seconds=round(seconds, 6),
    )
