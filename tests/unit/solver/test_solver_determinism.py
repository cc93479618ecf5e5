"""The same problem gives byte-identical JSON, run after run, on both solver paths.

``seconds`` is wall-clock time and the one field that legitimately varies; it is zeroed
before comparing. Everything else, including the choice between equally cheap
placements, must repeat exactly.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest
from solver_factories import random_problem, read_gap
from tests.reference import GAP_DIR

from csomatch.solver import Problem, SolveParams, solve
from csomatch.solver.io import problem_to_json, read_problem, solution_to_json


def _tied_unit_problem() -> Problem:
    """Many equally cheap choices, so a non-deterministic solver would show it."""
    base = random_problem(7, groups=False, max_demands=12, max_providers=5, density=1.0)
    return msgspec.structs.replace(
        base, arcs=tuple(msgspec.structs.replace(a, cost=10) for a in base.arcs)
    )


def _tied_group_problem() -> Problem:
    base = random_problem(12, groups=True, max_demands=12, max_providers=5, density=1.0)
    return msgspec.structs.replace(
        base, arcs=tuple(msgspec.structs.replace(a, cost=10) for a in base.arcs)
    )


@pytest.mark.parametrize(
    ("make", "solver"),
    [
        (_tied_unit_problem, "min-cost-flow"),
        (_tied_group_problem, "cp-sat"),
        (lambda: read_gap(GAP_DIR / "cattrysse1994" / "gap8-0"), "cp-sat"),
    ],
    ids=["flow-ties", "cp-sat-ties", "cp-sat-gap8-0"],
)
def test_ten_runs_give_identical_json(make: Callable[[], Problem], solver: str) -> None:
    problem = make()
    outputs = set()
    for _ in range(10):
        # Decode afresh each time: nothing may depend on object identity or caches.
        solution = solve(read_problem(problem_to_json(problem)), SolveParams(seed=3))
        assert solver in solution.solver
        outputs.add(solution_to_json(msgspec.structs.replace(solution, seconds=0.0)))

    assert len(outputs) == 1
    assert b'"status":"optimal"' in outputs.pop()
