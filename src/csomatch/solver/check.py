"""`check_solution`: verify a `Solution` against its `Problem` without any solver.

Written with plain dictionaries on purpose: it shares no code with the models it checks.
"""

from __future__ import annotations

from collections import Counter

from csomatch.solver.problem import Arc, Demand, Problem, Provider, Solution

_SOLVED = ("optimal", "feasible")


def check_solution(problem: Problem, solution: Solution) -> list[str]:
    """Every way ``solution`` breaks a rule of ``problem``, in words; empty when it is valid."""
    errors: list[str] = []
    demands = {demand.id: demand for demand in problem.demands}
    providers = {provider.id: provider for provider in problem.providers}
    arcs = {(arc.demand, arc.provider): arc for arc in problem.arcs}
    solved = solution.status in _SOLVED
    _check_status(solution, solved, errors)
    placed, load, cost = _check_assignments(solution, demands, providers, arcs, errors)
    _check_capacities(providers, load, errors)
    unmet_counts = Counter(solution.unmet)
    _check_unmet_list(unmet_counts, demands, placed, errors)
    cost += _check_unplaced(demands, placed, unmet_counts, solved, errors)
    if solved and solution.objective is not None:
        _check_objective(solution, solution.objective, cost, errors)
    return errors


def _check_status(solution: Solution, solved: bool, errors: list[str]) -> None:
    """A solved status has an objective; any other has neither an objective nor assignments."""
    if solved and solution.objective is None:
        errors.append(f"status {solution.status} but no objective")
    if not solved:
        if solution.objective is not None:
            errors.append(f"status {solution.status} but objective {solution.objective}")
        if solution.assignments:
            errors.append(f"status {solution.status} but {len(solution.assignments)} assignments")


def _check_assignments(
    solution: Solution,
    demands: dict[str, Demand],
    providers: dict[str, Provider],
    arcs: dict[tuple[str, str], Arc],
    errors: list[str],
) -> tuple[dict[str, str], Counter[str], int]:
    """Each assignment places a known demand once, along an arc; return placed, load and cost."""
    placed: dict[str, str] = {}
    load: Counter[str] = Counter()
    cost = 0
    for i, assignment in enumerate(solution.assignments):
        demand = demands.get(assignment.demand)
        arc = arcs.get((assignment.demand, assignment.provider))
        if demand is None:
            errors.append(f"assignments[{i}]: unknown demand {assignment.demand!r}")
            continue
        if assignment.provider not in providers:
            errors.append(f"assignments[{i}]: unknown provider {assignment.provider!r}")
            continue
        if arc is None:
            errors.append(
                f"assignments[{i}]: {assignment.demand!r} is not eligible for "
                f"{assignment.provider!r} (no arc)"
            )
            continue
        if assignment.demand in placed:
            errors.append(
                f"assignments[{i}]: {assignment.demand!r} is placed twice "
                f"({placed[assignment.demand]!r} and {assignment.provider!r})"
            )
            continue
        placed[assignment.demand] = assignment.provider
        load[assignment.provider] += demand.size if arc.size is None else arc.size
        cost += arc.cost
    return placed, load, cost


def _check_capacities(
    providers: dict[str, Provider], load: Counter[str], errors: list[str]
) -> None:
    """No provider receives more places than its capacity."""
    for provider_id, used in sorted(load.items()):
        capacity = providers[provider_id].capacity
        if used > capacity:
            errors.append(f"provider {provider_id!r} receives {used} places but has {capacity}")


def _check_unmet_list(
    unmet_counts: Counter[str],
    demands: dict[str, Demand],
    placed: dict[str, str],
    errors: list[str],
) -> None:
    """The unmet list names each known, unplaced demand once."""
    for demand_id, count in sorted(unmet_counts.items()):
        if count > 1:
            errors.append(f"unmet lists {demand_id!r} {count} times")
        if demand_id not in demands:
            errors.append(f"unmet lists unknown demand {demand_id!r}")
        elif demand_id in placed:
            errors.append(f"{demand_id!r} is both placed and unmet")


def _check_unplaced(
    demands: dict[str, Demand],
    placed: dict[str, str],
    unmet_counts: Counter[str],
    solved: bool,
    errors: list[str],
) -> int:
    """Every unplaced demand is listed as unmet and may be; return their penalties' sum."""
    penalties = 0
    for demand_id, demand in demands.items():
        if demand_id in placed:
            continue
        if demand_id not in unmet_counts:
            errors.append(f"{demand_id!r} is neither placed nor listed as unmet")
        if solved and demand.unmet_penalty is None:
            errors.append(f"{demand_id!r} must be met but is not placed")
        penalties += demand.unmet_penalty or 0
    return penalties


def _check_objective(solution: Solution, objective: int, cost: int, errors: list[str]) -> None:
    """The objective is what the solution costs, the bound is below it, and equal if optimal."""
    if objective != cost:
        errors.append(f"objective {objective} but the solution costs {cost}")
    if solution.bound is not None and solution.bound > objective:
        errors.append(f"bound {solution.bound} above objective {objective}")
    if solution.status == "optimal" and solution.bound != objective:
        errors.append(f"optimal but bound {solution.bound} != objective {objective}")
