"""Seeded random instances: the solver's optimum equals an independent exact MILP (HiGHS)."""

from __future__ import annotations

import random

import pytest
from solver_factories import milp_optimum, random_problem

from csomatch.solver import (
    Arc,
    Demand,
    Problem,
    Provider,
    SolveParams,
    check_solution,
    solve,
)
from csomatch.solver.compiled import compile_problem
from csomatch.solver.cpsat import usable_arcs
from csomatch.solver.start import best_start

SEEDS = range(120)


@pytest.mark.parametrize("seed", SEEDS)
def test_unit_instances_match_the_milp_optimum(seed: int) -> None:
    problem = random_problem(seed, groups=False)

    solution = solve(problem)

    assert "min-cost-flow" in solution.solver
    reference = milp_optimum(problem)
    if reference.objective is None:
        assert solution.status == "infeasible"
    else:
        assert solution.status == "optimal"
        assert solution.objective == reference.objective
        assert solution.bound == reference.objective
    assert check_solution(problem, solution) == []


@pytest.mark.parametrize("seed", SEEDS)
def test_group_instances_match_the_milp_optimum(seed: int) -> None:
    problem = random_problem(10_000 + seed, groups=True)

    solution = solve(problem)

    assert "cp-sat" in solution.solver
    reference = milp_optimum(problem)
    if reference.objective is None:
        assert solution.status == "infeasible"
    else:
        assert solution.status == "optimal"
        assert solution.objective == reference.objective
        assert solution.bound == reference.objective
    assert check_solution(problem, solution) == []


def test_the_random_instances_cover_both_outcomes() -> None:
    """Guards the generator: the comparisons above must see feasible and infeasible cases."""
    statuses = {
        (groups, solve(random_problem(offset + seed, groups=groups)).status)
        for groups, offset in ((False, 0), (True, 10_000))
        for seed in SEEDS
    }

    assert statuses == {
        (False, "optimal"),
        (False, "infeasible"),
        (True, "optimal"),
        (True, "infeasible"),
    }


@pytest.mark.parametrize("seed", range(40))
def test_starts_and_bounds_bracket_the_optimum(seed: int) -> None:
    """The CP-SAT hint is a valid assignment no better than the optimum; the bound no worse."""
    problem = random_problem(
        20_000 + seed,
        groups=True,
        max_demands=25,
        max_providers=6,
        override_share=0.2 if seed % 2 else 0.0,  # without overrides the flow bound applies
    )
    reference = milp_optimum(problem)
    compiled = compile_problem(problem)

    start, bound = best_start(compiled, usable_arcs(compiled))

    if reference.objective is not None:
        assert bound <= reference.objective
        if start.missing == 0:
            assert start.objective >= reference.objective


def test_a_tiny_time_limit_on_a_large_group_problem_still_answers() -> None:
    rng = random.Random(1)
    demands = tuple(
        Demand(id=f"d{i:04d}", size=rng.randint(1, 4), unmet_penalty=5000) for i in range(1000)
    )
    providers = tuple(Provider(id=f"p{j:03d}", capacity=rng.randint(0, 12)) for j in range(200))
    arcs = tuple(
        Arc(demand=d.id, provider=f"p{j:03d}", cost=rng.randint(1, 1000))
        for d in demands
        for j in rng.sample(range(200), 20)
    )
    problem = Problem(demands=demands, providers=providers, arcs=arcs)

    solution = solve(problem, SolveParams(time_limit_s=0.01))

    assert solution.status in ("optimal", "feasible")
    assert solution.bound is not None
    assert solution.objective is not None
    assert solution.bound <= solution.objective
    assert check_solution(problem, solution) == []
