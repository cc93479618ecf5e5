"""`solve_arrays`: arcs as arrays of positions give what the equivalent `Problem` gives."""

from __future__ import annotations

import dataclasses

import msgspec
import numpy as np
import pytest
from solver_factories import demand, provider, random_problem

from csomatch.solver import Problem, ProblemError, solve, solve_arrays
from csomatch.solver.compiled import compile_arrays, compile_problem
from csomatch.solver.problem import MAX_COST


def as_arrays(problem: Problem) -> tuple[list[int], list[int], list[int]]:
    """The problem's arcs as positions in its demands and providers, and costs."""
    demand_at = {d.id: i for i, d in enumerate(problem.demands)}
    provider_at = {p.id: j for j, p in enumerate(problem.providers)}
    return (
        [demand_at[a.demand] for a in problem.arcs],
        [provider_at[a.provider] for a in problem.arcs],
        [a.cost for a in problem.arcs],
    )


def without_arc_sizes(problem: Problem) -> Problem:
    """Arrays carry no per-arc size: every arc uses its demand's size."""
    arcs = tuple(msgspec.structs.replace(a, size=None) for a in problem.arcs)
    return msgspec.structs.replace(problem, arcs=arcs)


@pytest.mark.parametrize("seed", range(60))
def test_arrays_compile_and_solve_like_the_problem(seed: int) -> None:
    problem = without_arc_sizes(random_problem(30_000 + seed, groups=seed % 2 == 1))
    demand_at, provider_at, cost = as_arrays(problem)

    compiled = compile_arrays(problem.demands, problem.providers, demand_at, provider_at, cost)
    expected = compile_problem(problem)
    for field in dataclasses.fields(expected):
        assert np.array_equal(getattr(compiled, field.name), getattr(expected, field.name))

    ours = solve_arrays(problem.demands, problem.providers, demand_at, provider_at, cost)
    theirs = solve(problem)
    assert msgspec.structs.replace(ours, seconds=0) == msgspec.structs.replace(theirs, seconds=0)


def test_a_problem_without_arcs() -> None:
    solution = solve_arrays((demand("d1", unmet_penalty=4),), (provider("p1"),), [], [], [])
    assert (solution.status, solution.objective, solution.unmet) == ("optimal", 4, ("d1",))


@pytest.mark.parametrize(
    ("demands", "arcs", "path"),
    [
        (("d1",), ([0, 1], [0, 0], [1, 1]), "$.arcs[1].demand"),
        (("d1",), ([0], [-1], [1]), "$.arcs[0].provider"),
        (("d1", "d2"), ([0, 1, 0], [0, 0, 0], [1, 2, 3]), "$.arcs[2]"),
        (("d1",), ([0], [0], [MAX_COST + 1]), "$.arcs[0].cost"),
        (("d1",), ([0], [0], [1.5]), "$.arcs[0].cost"),
        (("d1", "d1"), ([0], [0], [1]), "$.demands[1].id"),
    ],
    ids=["unknown-demand", "unknown-provider", "duplicate-arc", "cost-too-big", "float", "dup-id"],
)
def test_bad_arrays_name_the_value(
    demands: tuple[str, ...], arcs: tuple[list[int], list[int], list[float]], path: str
) -> None:
    with pytest.raises(ProblemError) as raised:
        solve_arrays(tuple(demand(d) for d in demands), (provider("p1"),), *arcs)
    assert raised.value.path == path
