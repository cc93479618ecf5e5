"""OR-Library GAP instances gap1-gap12 (Cattrysse 1994) reach their published optima.

The instances are in ``tests/data/gap`` (with their source and licence);
``optima.csv`` lists minimisation optima. Every job must be assigned and the weight matrix
gives the arc sizes, so these exercise the CP-SAT path with tight knapsack capacities.
"""

from __future__ import annotations

import csv

import pytest
from solver_factories import read_gap
from tests.reference import GAP_DIR

from csomatch.solver import SolveParams, check_solution, solve

NAMES = [f"gap{family}-{variant}" for family in range(1, 13) for variant in range(5)]


def _optima() -> dict[str, int]:
    with (GAP_DIR / "optima.csv").open(newline="") as file:
        return {
            row["Path"].removeprefix("cattrysse1994/"): int(row["Optimum"])
            for row in csv.DictReader(file)
            if row["Path"].startswith("cattrysse1994/")
        }


def test_the_optima_file_lists_all_sixty_instances() -> None:
    assert sorted(_optima()) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_gap_instance_reaches_the_published_optimum(name: str) -> None:
    problem = read_gap(GAP_DIR / "cattrysse1994" / name)

    solution = solve(problem, SolveParams(time_limit_s=60, workers=1))

    assert solution.status == "optimal"
    assert solution.objective == _optima()[name]
    assert solution.unmet == ()
    assert check_solution(problem, solution) == []
