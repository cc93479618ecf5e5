"""`check_solution`: verify a `Solution` against its `Problem` without any solver.

Written with plain dictionaries on purpose: it shares no code with the models it checks.
"""

from __future__ import annotations

from collections import Counter

from csomatch.solver.problem import Problem, Solution

_SOLVED = ("optimal", "feasible")


def check_solution(problem: Problem, solution: Solution) -> list[str]:
    """Every way ``solution`` breaks a rule of ``problem``, in words; empty when it is valid."""
    errors: list[str] = []
    demands = {demand.id: demand for demand in problem.demands}
    providers = {provider.id: provider for provider in problem.providers}
    arcs = {(arc.demand, arc.provider): arc for arc in problem.arcs}

    solved = solution.status in _SOLVED
    if solved and solution.objective is None:
        errors.append(f"status {solution.status} but no objective")
    if not solved:
        if solution.objective is not None:
            errors.append(f"status {solution.status} but objective {solution.objective}")
        if solution.assignments:
            errors.append(f"status {solution.status} but {len(solution.assignments)} assignments")

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

    for provider_id, used in sorted(load.items()):
        capacity = providers[provider_id].capacity
        if used > capacity:
            errors.append(f"provider {provider_id!r} receives {used} places but has {capacity}")

    unmet_counts = Counter(solution.unmet)
    for demand_id, count in sorted(unmet_counts.items()):
        if count > 1:
            errors.append(f"unmet lists {demand_id!r} {count} times")
        if demand_id not in demands:
            errors.append(f"unmet lists unknown demand {demand_id!r}")
        elif demand_id in placed:
            errors.append(f"{demand_id!r} is both placed and unmet")
    for demand_id, demand in demands.items():
        if demand_id in placed:
            continue
        if demand_id not in unmet_counts:
            errors.append(f"{demand_id!r} is neither placed nor listed as unmet")
        if solved and demand.unmet_penalty is None:
            errors.append(f"{demand_id!r} must be met but is not placed")
        cost += demand.unmet_penalty or 0

    if solved and solution.objective is not None:
        if solution.objective != cost:
            errors.append(f"objective {solution.objective} but the solution costs {cost}")
        if solution.bound is not None and solution.bound > solution.objective:
            errors.append(f"bound {solution.bound} above objective {solution.objective}")
        if solution.status == "optimal" and solution.bound != solution.objective:
            errors.append(f"optimal but bound {solution.bound} != objective {solution.objective}")
    return errors
