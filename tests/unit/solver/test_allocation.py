"""The allocation optimiser: best use of a budget, checked without the solver."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csomatch.solver import ProblemError, SolveParams
from csomatch.solver.allocation import (
    Allocation,
    AllocationProblem,
    Bucket,
    Link,
    Option,
    Purchase,
    allocate,
    check_allocation,
)

PARAMS = SolveParams(time_limit_s=10, workers=1, seed=0)


def test_the_budget_goes_where_it_covers_most_weighted_demand() -> None:
    problem = AllocationProblem(
        budget=100,
        buckets=(Bucket(id="x", unmet=6, weight=5), Bucket(id="y", unmet=4, weight=1)),
        options=(
            Option(id="A", unit_cost=30, people_per_unit=2, max_units=10),
            Option(id="B", unit_cost=50, people_per_unit=5, max_units=10),
        ),
        links=(
            Link(option="A", bucket="x"),
            Link(option="B", bucket="x"),
            Link(option="B", bucket="y"),
        ),
    )
    result = allocate(problem, PARAMS)
    assert check_allocation(problem, result) == []
    assert result.status == "optimal"
    # two units of B serve 10 people: all 6 of x (weight 5) and all 4 of y: 34
    assert result.covered_weight == 34
    assert result.bound == 34
    assert result.purchases == (Purchase(option="B", units=2, cost=100),)


def test_it_spends_no_more_than_needed() -> None:
    problem = AllocationProblem(
        budget=1000,
        buckets=(Bucket(id="x", unmet=3, weight=2),),
        options=(Option(id="A", unit_cost=40, people_per_unit=1, max_units=50),),
        links=(Link(option="A", bucket="x"),),
    )
    result = allocate(problem, PARAMS)
    assert result.spent == 120
    assert result.covered_weight == 6


def test_bad_links_name_the_field() -> None:
    problem = AllocationProblem(
        budget=10,
        buckets=(Bucket(id="x", unmet=1),),
        options=(Option(id="A", unit_cost=1, max_units=1),),
        links=(Link(option="A", bucket="nope"),),
    )
    with pytest.raises(ProblemError) as raised:
        allocate(problem, PARAMS)
    assert raised.value.path == "$.links[0].bucket"


def test_the_checker_catches_overspending() -> None:
    problem = AllocationProblem(
        budget=10,
        buckets=(Bucket(id="x", unmet=5),),
        options=(Option(id="A", unit_cost=6, max_units=5),),
        links=(Link(option="A", bucket="x"),),
    )
    bad = Allocation(
        status="feasible", covered_weight=0, bound=None, spent=12,
        purchases=(Purchase(option="A", units=2, cost=12),), coverage=(), solver="x", seconds=0,
    )  # fmt: skip
    assert any("more than the budget" in e for e in check_allocation(problem, bad))


@st.composite
def problems(draw: st.DrawFn) -> AllocationProblem:
    n_b = draw(st.integers(1, 5))
    n_o = draw(st.integers(1, 4))
    buckets = tuple(
        Bucket(id=f"b{i}", unmet=draw(st.integers(0, 12)), weight=draw(st.integers(1, 5)))
        for i in range(n_b)
    )
    options = tuple(
        Option(
            id=f"o{i}",
            unit_cost=draw(st.integers(1, 50)),
            people_per_unit=draw(st.integers(1, 4)),
            max_units=draw(st.integers(0, 6)),
        )
        for i in range(n_o)
    )
    pairs = draw(
        st.sets(st.tuples(st.integers(0, n_o - 1), st.integers(0, n_b - 1)), max_size=n_o * n_b)
    )
    links = tuple(Link(option=f"o{o}", bucket=f"b{b}") for o, b in sorted(pairs))
    return AllocationProblem(
        budget=draw(st.integers(0, 200)), buckets=buckets, options=options, links=links
    )


@settings(max_examples=60, deadline=None)
@given(problems())
def test_every_allocation_keeps_the_rules_and_is_proven_best(problem: AllocationProblem) -> None:
    result = allocate(problem, PARAMS)
    assert check_allocation(problem, result) == []
    assert result.status == "optimal"
    assert result.covered_weight == result.bound
    # never more than all the linked demand
    linked = {link.bucket for link in problem.links}
    most = sum(b.unmet * b.weight for b in problem.buckets if b.id in linked)
    assert result.covered_weight is not None
    assert result.covered_weight <= most
