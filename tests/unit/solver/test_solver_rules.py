"""Rule by rule: small problems whose optimum is obvious by hand."""

from __future__ import annotations

import msgspec
import pytest
from solver_factories import arc, demand, problem, provider

from csomatch.solver import (
    Assignment,
    Problem,
    ProblemError,
    Solution,
    SolveParams,
    check_solution,
    solve,
)
from csomatch.solver.compiled import compile_problem
from csomatch.solver.cpsat import solve_cpsat
from csomatch.solver.problem import MAX_COST


def placed(solution: Solution) -> dict[str, str]:
    """Demand id -> provider id."""
    return {a.demand: a.provider for a in solution.assignments}


def solved(p: Problem, params: SolveParams | None = None) -> Solution:
    """Solve and verify with the independent checker."""
    solution = solve(p) if params is None else solve(p, params)
    assert check_solution(p, solution) == []
    return solution


def test_empty_problem_is_optimal_at_zero() -> None:
    solution = solved(problem())

    assert (solution.status, solution.objective, solution.bound) == ("optimal", 0, 0)
    assert solution.assignments == ()
    assert solution.unmet == ()


def test_each_person_takes_the_cheapest_eligible_place() -> None:
    p = problem(
        (demand("d1"),),
        (provider("near"), provider("far")),
        (arc("d1", "near", cost=5), arc("d1", "far", cost=50)),
    )

    solution = solved(p)

    assert placed(solution) == {"d1": "near"}
    assert solution.objective == 5


def test_a_provider_never_receives_more_places_than_it_has() -> None:
    p = problem(
        (demand("a"), demand("b"), demand("c")),
        (provider("near", capacity=2), provider("far", capacity=5)),
        tuple(arc(d, "near", cost=1) for d in "abc") + tuple(arc(d, "far", cost=10) for d in "abc"),
    )

    solution = solved(p)

    assert sorted(placed(solution).values()) == ["far", "near", "near"]
    assert solution.objective == 12
    assert "min-cost-flow" in solution.solver


def test_capacity_counts_group_sizes() -> None:
    p = problem(
        (demand("family", size=3), demand("single")),
        (provider("shelter", capacity=3), provider("other", capacity=3)),
        (
            arc("family", "shelter", cost=1),
            arc("single", "shelter", cost=1),
            arc("family", "other", cost=10),
            arc("single", "other", cost=100),
        ),
    )

    solution = solved(p)

    # The family fills the shelter; the single person goes elsewhere, or vice versa.
    assert placed(solution) == {"family": "other", "single": "shelter"}
    assert solution.objective == 11
    assert "cp-sat" in solution.solver


def test_a_group_stays_together_at_one_provider() -> None:
    p = problem(
        (demand("family", size=3, unmet_penalty=1000),),
        (
            provider("small-a", capacity=2),
            provider("small-b", capacity=2),
            provider("big", capacity=3),
        ),
        (
            arc("family", "small-a", cost=1),
            arc("family", "small-b", cost=1),
            arc("family", "big", cost=90),
        ),
    )

    solution = solved(p)

    assert placed(solution) == {"family": "big"}
    assert solution.objective == 90


def test_a_group_too_big_for_every_provider_goes_unmet() -> None:
    p = problem(
        (demand("family", size=3, unmet_penalty=500),),
        (provider("small-a", capacity=2), provider("small-b", capacity=2)),
        (arc("family", "small-a", cost=1), arc("family", "small-b", cost=1)),
    )

    solution = solved(p)

    assert solution.status == "optimal"
    assert solution.unmet == ("family",)
    assert solution.objective == 500


def test_a_group_that_must_be_met_but_fits_nowhere_is_infeasible() -> None:
    p = problem(
        (demand("family", size=3),),
        (provider("small", capacity=2),),
        (arc("family", "small", cost=1),),
    )

    solution = solved(p)

    assert solution.status == "infeasible"
    assert (solution.objective, solution.bound, solution.assignments) == (None, None, ())
    assert solution.unmet == ("family",)


def test_arc_size_overrides_the_demand_size() -> None:
    # A family of three that a flat counts as one place.
    p = problem(
        (demand("family", size=3), demand("other", size=2)),
        (provider("flat", capacity=1), provider("hostel", capacity=2)),
        (
            arc("family", "flat", cost=4, size=1),
            arc("family", "hostel", cost=1),
            arc("other", "hostel", cost=1),
        ),
    )

    solution = solved(p)

    assert placed(solution) == {"family": "flat", "other": "hostel"}
    assert solution.objective == 5


def test_arc_sizes_of_one_make_a_group_problem_a_flow() -> None:
    p = problem(
        (demand("family", size=3),),
        (provider("flat", capacity=1),),
        (arc("family", "flat", cost=4, size=1),),
    )

    solution = solved(p)

    assert "min-cost-flow" in solution.solver
    assert placed(solution) == {"family": "flat"}


@pytest.mark.parametrize("size", [1, 2], ids=["flow", "cp-sat"])
def test_must_meet_demands_that_cannot_all_fit_are_infeasible(size: int) -> None:
    p = problem(
        (demand("a", size=size), demand("b", size=size), demand("c", unmet_penalty=5)),
        (provider("only", capacity=size),),
        (arc("a", "only"), arc("b", "only"), arc("c", "only")),
    )

    solution = solved(p)

    assert solution.status == "infeasible"
    assert solution.assignments == ()
    assert solution.unmet == ("a", "b", "c")


@pytest.mark.parametrize("size", [1, 2], ids=["flow", "cp-sat"])
def test_a_must_meet_demand_without_arcs_is_infeasible(size: int) -> None:
    p = problem((demand("lonely", size=size),), (provider("p", capacity=5),), ())

    assert solved(p).status == "infeasible"


@pytest.mark.parametrize("size", [1, 2], ids=["flow", "cp-sat"])
@pytest.mark.parametrize(
    ("cost", "penalty", "expect_placed", "objective"),
    [(50, 100, True, 50), (150, 100, False, 100), (0, 0, False, 0)],
)
def test_penalty_versus_cost(
    size: int, cost: int, penalty: int, expect_placed: bool, objective: int
) -> None:
    p = problem(
        (demand("d", size=size, unmet_penalty=penalty),),
        (provider("p", capacity=2),),
        (arc("d", "p", cost=cost),),
    )

    solution = solved(p)

    assert solution.objective == objective
    if expect_placed:
        assert placed(solution) == {"d": "p"}
    elif penalty < cost:
        assert solution.unmet == ("d",)


@pytest.mark.parametrize("size", [1, 2], ids=["flow", "cp-sat"])
def test_the_scarce_place_goes_where_it_saves_most(size: int) -> None:
    # One place; placing "urgent" saves 1000 - 10, placing "planned" only 50 - 10.
    p = problem(
        (
            demand("planned", size=size, unmet_penalty=50),
            demand("urgent", size=size, unmet_penalty=1000),
        ),
        (provider("p", capacity=size),),
        (arc("planned", "p", cost=10), arc("urgent", "p", cost=10)),
    )

    solution = solved(p)

    assert placed(solution) == {"urgent": "p"}
    assert solution.unmet == ("planned",)
    assert solution.objective == 60


@pytest.mark.parametrize("size", [1, 2], ids=["flow", "cp-sat"])
def test_a_provider_with_no_capacity_is_never_used(size: int) -> None:
    p = problem(
        (demand("d", size=size, unmet_penalty=100),),
        (provider("full", capacity=0), provider("free", capacity=2)),
        (arc("d", "full", cost=1), arc("d", "free", cost=60)),
    )

    solution = solved(p)

    assert placed(solution) == {"d": "free"}


@pytest.mark.parametrize("size", [1, 2], ids=["flow", "cp-sat"])
def test_negative_costs_are_rewards(size: int) -> None:
    p = problem(
        (demand("d", size=size, unmet_penalty=0),),
        (provider("p", capacity=2),),
        (arc("d", "p", cost=-7),),
    )

    assert solved(p).objective == -7


@pytest.mark.parametrize("size", [1, 2], ids=["flow", "cp-sat"])
def test_maximum_penalties_do_not_overflow(size: int) -> None:
    n = 1000
    p = problem(
        tuple(demand(f"d{i:04d}", size=size, unmet_penalty=MAX_COST) for i in range(n)),
        (provider("p", capacity=size),),
        tuple(arc(f"d{i:04d}", "p", cost=MAX_COST - 1) for i in range(n)),
    )

    solution = solved(p)

    assert solution.objective == (n - 1) * MAX_COST + MAX_COST - 1
    assert len(solution.unmet) == n - 1


def test_outputs_are_sorted_by_demand_id() -> None:
    p = problem(
        (demand("z", unmet_penalty=1), demand("b"), demand("a"), demand("y", unmet_penalty=1)),
        (provider("p", capacity=2),),
        (arc("z", "p"), arc("b", "p", cost=0), arc("a", "p", cost=0), arc("y", "p")),
    )

    solution = solved(p)

    assert solution.assignments == (
        Assignment(demand="a", provider="p"),
        Assignment(demand="b", provider="p"),
    )
    assert solution.unmet == ("y", "z")


def test_cp_sat_and_flow_agree_on_a_unit_problem() -> None:
    p = problem(
        tuple(demand(f"d{i}", unmet_penalty=30 + i) for i in range(6)),
        (provider("a", capacity=2), provider("b", capacity=2)),
        tuple(arc(f"d{i}", "a", cost=i * 3) for i in range(6))
        + tuple(arc(f"d{i}", "b", cost=20 - i) for i in range(0, 6, 2)),
    )
    compiled = compile_problem(p)

    flow = solved(p)
    cpsat = solve_cpsat(compiled, SolveParams())

    assert cpsat.status == "optimal"
    assert cpsat.bound == flow.objective


def test_a_short_time_limit_still_returns_a_checked_answer() -> None:
    p = problem(
        tuple(demand(f"d{i:02d}", size=1 + i % 4, unmet_penalty=200) for i in range(40)),
        tuple(provider(f"p{j}", capacity=7) for j in range(6)),
        tuple(
            arc(f"d{i:02d}", f"p{j}", cost=(i * 37 + j * 11) % 97)
            for i in range(40)
            for j in range(6)
        ),
    )

    solution = solved(p, SolveParams(time_limit_s=0.05))

    assert solution.status in ("optimal", "feasible", "unknown")
    if solution.objective is not None and solution.bound is not None:
        assert solution.bound <= solution.objective


# --- invalid problems are errors that name the value -------------------------------------


@pytest.mark.parametrize(
    ("p", "path"),
    [
        (
            problem((demand("d1"),), (provider("p1"),), (arc("d1", "p1"), arc("ghost", "p1"))),
            "$.arcs[1].demand",
        ),
        (
            problem((demand("d1"),), (provider("p1"),), (arc("d1", "nowhere"),)),
            "$.arcs[0].provider",
        ),
        (problem((demand("d1"), demand("d1")), (), ()), "$.demands[1].id"),
        (problem((), (provider("p"), provider("p")), ()), "$.providers[1].id"),
        (
            problem((demand("d1"),), (provider("p1"),), (arc("d1", "p1"), arc("d1", "p1", cost=3))),
            "$.arcs[1]",
        ),
        (
            problem((demand("d1"),), (provider("p1"),), (arc("d1", "p1", cost=MAX_COST + 1),)),
            "$.arcs[0].cost",
        ),
        (
            problem((demand("d1"),), (provider("p1"),), (arc("d1", "p1", cost=2**70),)),
            "$.arcs[0].cost",
        ),
        (
            problem((demand("d1"),), (provider("p1"),), (arc("d1", "p1", cost=1.5),)),  # type: ignore[arg-type]
            "$.arcs[0].cost",
        ),
        (
            problem((demand("d1"),), (provider("p1"),), (arc("d1", "p1", size=0),)),
            "$.arcs[0].size",
        ),
        (problem((demand("d1", size=0),), (), ()), "$.demands[0].size"),
        (problem((demand("d1"), demand("d2", size=True)), (), ()), "$.demands[1].size"),
        (problem((demand("d1", unmet_penalty=2**70),), (), ()), "$.demands[0].unmet_penalty"),
        (problem((demand("d1", unmet_penalty=-1),), (), ()), "$.demands[0].unmet_penalty"),
        (problem((), (provider("p1", capacity=-1),), ()), "$.providers[0].capacity"),
        (
            problem((), (provider("p1"), provider("p2", capacity=1.0)), ()),  # type: ignore[arg-type]
            "$.providers[1].capacity",
        ),
    ],
    ids=[
        "unknown-demand",
        "unknown-provider",
        "duplicate-demand",
        "duplicate-provider",
        "duplicate-arc",
        "cost-too-big",
        "cost-beyond-int64",
        "cost-float",
        "arc-size-zero",
        "demand-size-zero",
        "demand-size-bool",
        "penalty-beyond-int64",
        "negative-penalty",
        "negative-capacity",
        "capacity-float",
    ],
)
def test_invalid_problems_raise_value_error_naming_the_value(p: Problem, path: str) -> None:
    with pytest.raises(ValueError, match=r"at `\$") as raised:
        solve(p)

    assert isinstance(raised.value, ProblemError)
    assert raised.value.path == path


def test_an_unknown_arc_reference_says_how_to_fix_it() -> None:
    p = problem((demand("d1"),), (provider("p1"),), (arc("d1", "p1"), arc("d9", "p1")))

    with pytest.raises(ValueError, match=r"demand 'd9' is not in demands; add it there or remove"):
        solve(p)


@pytest.mark.parametrize(
    "params",
    [
        SolveParams(time_limit_s=0),
        SolveParams(workers=0),
        SolveParams(seed=-1),
    ],
)
def test_invalid_params_raise_value_error(params: SolveParams) -> None:
    with pytest.raises(ValueError, match="must be"):
        solve(problem(), params)


# --- the checker catches broken solutions -------------------------------------------------


def _two_people_one_place() -> Problem:
    return problem(
        (demand("a"), demand("b", unmet_penalty=40)),
        (provider("p", capacity=1), provider("q", capacity=1)),
        (arc("a", "p", cost=5), arc("b", "p", cost=7)),
    )


def _valid() -> Solution:
    return Solution(
        status="optimal",
        objective=45,
        bound=45,
        assignments=(Assignment(demand="a", provider="p"),),
        unmet=("b",),
        solver="hand",
        seconds=0.0,
    )


def test_the_checker_accepts_a_valid_solution_and_the_solver_finds_it() -> None:
    p = _two_people_one_place()

    assert check_solution(p, _valid()) == []
    assert msgspec.structs.replace(solved(p), seconds=0.0, solver="hand") == _valid()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {
                "assignments": (
                    Assignment(demand="a", provider="p"),
                    Assignment(demand="b", provider="p"),
                ),
                "unmet": (),
                "objective": 12,
                "bound": 12,
            },
            "receives 2 places but has 1",
        ),
        (
            {"assignments": (Assignment(demand="a", provider="q"),)},
            "not eligible",
        ),
        (
            {
                "assignments": (
                    Assignment(demand="a", provider="p"),
                    Assignment(demand="a", provider="p"),
                )
            },
            "placed twice",
        ),
        ({"objective": 44, "bound": 44}, "objective 44 but the solution costs 45"),
        ({"bound": 46}, "bound 46 above objective 45"),
        ({"bound": 40}, "optimal but bound 40"),
        ({"unmet": ()}, "neither placed nor listed as unmet"),
        ({"unmet": ("b", "b")}, "2 times"),
        ({"unmet": ("b", "ghost")}, "unknown demand 'ghost'"),
        (
            {"assignments": (Assignment(demand="b", provider="p"),), "unmet": ("a",)},
            "must be met but is not placed",
        ),
        ({"status": "infeasible"}, "status infeasible but objective 45"),
        ({"objective": None}, "no objective"),
    ],
)
def test_the_checker_reports_each_broken_rule(changes: dict[str, object], message: str) -> None:
    broken = msgspec.structs.replace(_valid(), **changes)

    errors = check_solution(_two_people_one_place(), broken)

    assert any(message in error for error in errors), errors


def test_a_capacity_beyond_64_bits_is_valid_and_changes_nothing() -> None:
    p = problem(
        (demand("d1"), demand("d2", unmet_penalty=5)),
        (provider("p1", capacity=2**70), provider("p2", capacity=0)),
        (arc("d1", "p1", cost=3), arc("d2", "p1", cost=4), arc("d2", "p2", cost=1)),
    )
    solution = solve(p)
    assert solution.status == "optimal"
    assert solution.objective == 7
    assert check_solution(p, solution) == []
