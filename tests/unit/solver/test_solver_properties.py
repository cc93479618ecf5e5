"""Properties over generated problems: every answer checks, and order of input does not matter."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from csomatch.solver import Arc, Demand, Problem, Provider, SolveParams, check_solution, solve
from csomatch.solver.compiled import compile_problem
from csomatch.solver.cpsat import solve_cpsat

# Deterministic and without an example database, so CI runs the same cases every time.
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)


@st.composite
def problems(draw: st.DrawFn, *, groups: bool) -> Problem:
    """Small problems; group sizes only when ``groups``."""
    n = draw(st.integers(0, 7))
    m = draw(st.integers(0, 4))
    sizes = st.integers(1, 3) if groups else st.just(1)
    demands = tuple(
        Demand(
            id=f"d{i}",
            size=draw(sizes),
            unmet_penalty=draw(st.one_of(st.none(), st.integers(0, 10**12))),
        )
        for i in range(n)
    )
    providers = tuple(Provider(id=f"p{j}", capacity=draw(st.integers(0, 6))) for j in range(m))
    pairs = draw(st.sets(st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, max(m - 1, 0)))))
    arcs = tuple(
        Arc(
            demand=f"d{d}",
            provider=f"p{p}",
            cost=draw(st.integers(-(10**12), 10**12)),
            size=draw(st.one_of(st.none(), sizes)),
        )
        for d, p in sorted(pairs)
        if d < n and p < m
    )
    return Problem(demands=demands, providers=providers, arcs=arcs)


@PROPERTY
@given(problem=problems(groups=True), data=st.data())
def test_every_solution_checks_and_ignores_input_order(
    problem: Problem, data: st.DataObject
) -> None:
    shuffled = Problem(
        demands=tuple(data.draw(st.permutations(problem.demands))),
        providers=tuple(data.draw(st.permutations(problem.providers))),
        arcs=tuple(data.draw(st.permutations(problem.arcs))),
    )

    solution = solve(problem)
    again = solve(shuffled)

    assert check_solution(problem, solution) == []
    assert check_solution(shuffled, again) == []
    assert (again.status, again.objective) == (solution.status, solution.objective)


@PROPERTY
@given(problem=problems(groups=False))
def test_flow_and_cp_sat_agree_on_unit_problems(problem: Problem) -> None:
    flow = solve(problem)
    cpsat = solve_cpsat(compile_problem(problem), SolveParams())

    assert cpsat.status == flow.status
    assert cpsat.bound == flow.bound
