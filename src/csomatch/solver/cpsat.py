"""Problems with groups as a generalised assignment, solved with CP-SAT.

One yes/no variable per usable arc and one "unmet" variable per demand; the rules in
`rules.py` tie them together and the objective is placement costs plus unmet penalties. The
better of a greedy start and the rounded flow relaxation (`start.py`) seeds the search as a
hint. With one worker and a fixed seed the search is deterministic: the same problem gives
the same answer whenever it finishes within the time limit (``optimal`` or ``infeasible``).
"""

from __future__ import annotations

import time

import numpy as np
from ortools.init.python.init import OrToolsVersion
from ortools.sat.python import cp_model

from csomatch.solver.compiled import CompiledProblem, RawResult, SmallIntArray
from csomatch.solver.problem import SolveParams, Status
from csomatch.solver.rules import (
    add_must_be_met,
    add_one_placement_per_demand,
    add_provider_capacity,
    placement_cost,
    unmet_cost,
)
from csomatch.solver.start import Start, best_start

SOLVER_NAME = f"ortools-{OrToolsVersion.version_string()} cp-sat"

#: CP-SAT always gets at least this long, even when building the model used up the budget.
_MIN_SEARCH_S = 0.1

_STATUS: dict[cp_model.CpSolverStatus, Status] = {
    cp_model.OPTIMAL: "optimal",
    cp_model.FEASIBLE: "feasible",
    cp_model.INFEASIBLE: "infeasible",
    cp_model.UNKNOWN: "unknown",
}


def solve_cpsat(problem: CompiledProblem, params: SolveParams) -> RawResult:
    """Solve ``problem`` within ``params.time_limit_s``; report the best solution and bound.

    The time limit covers building the model as well as the search.
    """
    started = time.perf_counter()
    usable = usable_arcs(problem)
    model = cp_model.CpModel()
    # Placement variables first, so variable index i is usable arc i in the response.
    placements = [model.new_bool_var("") for _ in range(len(usable))]
    unmet = [model.new_bool_var("") for _ in problem.demand_ids]

    sizes = problem.arc_size[usable].tolist()
    for d, arcs in enumerate(_group(problem.arc_demand[usable], len(problem.demand_ids))):
        add_one_placement_per_demand(model, [placements[a] for a in arcs], unmet[d])
        if problem.must_meet[d]:
            add_must_be_met(model, unmet[d])
    for p, arcs in enumerate(_group(problem.arc_provider[usable], len(problem.provider_ids))):
        add_provider_capacity(
            model, [placements[a] for a in arcs], [sizes[a] for a in arcs], int(problem.capacity[p])
        )
    model.minimize(
        placement_cost(placements, problem.arc_cost[usable].tolist())
        + unmet_cost(unmet, problem.penalty.tolist())
    )
    start, relaxation_bound = best_start(problem, usable)
    _add_hint(model, problem, usable, start)

    solver = cp_model.CpSolver()
    elapsed = time.perf_counter() - started
    solver.parameters.max_time_in_seconds = max(params.time_limit_s - elapsed, _MIN_SEARCH_S)
    solver.parameters.num_workers = params.workers
    solver.parameters.random_seed = params.seed
    solver.parameters.log_search_progress = False
    code = solver.solve(model)
    status = _STATUS.get(code)
    if status is None:  # MODEL_INVALID: compile_problem should have rejected the input
        raise RuntimeError(f"CP-SAT rejected the model: {model.validate()}")

    response = solver.response_proto
    bound: int | None = None
    if status in ("optimal", "feasible"):
        values = np.fromiter(response.solution, dtype=np.int64, count=len(response.solution))
        chosen = usable[np.flatnonzero(values[: len(usable)])].astype(np.int32)
        bound = max(int(response.inner_objective_lower_bound), relaxation_bound)
    elif status == "unknown":
        # CP-SAT's bound is not meaningful when it stopped before searching (it reads 0).
        bound = relaxation_bound
        chosen = np.zeros(0, dtype=np.int32)
        if start.missing == 0:
            # Out of time before the search loaded even the hint: the start is a valid answer.
            status, chosen = "feasible", usable[start.taken].astype(np.int32)
    else:
        chosen = np.zeros(0, dtype=np.int32)
    return RawResult(status=status, chosen=chosen, bound=bound, solver=SOLVER_NAME)


def usable_arcs(problem: CompiledProblem) -> SmallIntArray:
    """Arcs worth a variable: the group fits the provider, and placing beats leaving unmet.

    An arc that costs more than the demand's penalty is never in an optimal solution: leaving
    the demand unmet is cheaper and frees the places.
    """
    fits = problem.arc_size <= problem.capacity[problem.arc_provider]
    worth_it = problem.must_meet[problem.arc_demand] | (
        problem.arc_cost <= problem.penalty[problem.arc_demand]
    )
    return np.flatnonzero(fits & worth_it).astype(np.int32)


def _add_hint(
    model: cp_model.CpModel, problem: CompiledProblem, usable: SmallIntArray, start: Start
) -> None:
    """Hint every variable (placements, then unmet flags) with the start's values."""
    unmet = np.ones(len(problem.demand_ids), dtype=np.int64)
    unmet[problem.arc_demand[usable][start.taken]] = 0
    values = np.concatenate([start.taken.astype(np.int64), unmet])
    # Same effect as model.add_hint per variable, in one call instead of one per arc;
    # variables were created placements first, so their indices are 0..len(values)-1.
    hint = model.proto.solution_hint
    hint.vars.extend(list(range(len(values))))
    hint.values.extend(values.tolist())


def _group(keys: SmallIntArray, n_groups: int) -> list[list[int]]:
    """Positions of ``keys`` grouped by key value, in ascending position order."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n_groups + 1)).tolist()
    flat = order.tolist()
    return [flat[bounds[k] : bounds[k + 1]] for k in range(n_groups)]
