"""The problem file format: what it accepts, what it rejects, and a lossless round trip."""

from __future__ import annotations

import msgspec
import pytest
from solver_factories import random_problem

from csomatch.solver import Arc, Demand, Problem, Provider, solve
from csomatch.solver.io import problem_to_json, read_problem, read_solution, solution_to_json


def test_absent_fields_take_their_documented_defaults() -> None:
    problem = read_problem(
        b'{"demands":[{"id":"d1"}],"providers":[{"id":"p1","capacity":5}],'
        b'"arcs":[{"demand":"d1","provider":"p1","cost":120}]}'
    )

    assert problem == Problem(
        demands=(Demand(id="d1", size=1, unmet_penalty=None),),
        providers=(Provider(id="p1", capacity=5),),
        arcs=(Arc(demand="d1", provider="p1", cost=120, size=None),),
    )


def test_defaults_are_left_out_when_writing() -> None:
    problem = Problem(
        demands=(Demand(id="d1"), Demand(id="d2", size=3, unmet_penalty=7)),
        providers=(Provider(id="p1", capacity=5),),
        arcs=(
            Arc(demand="d1", provider="p1", cost=1),
            Arc(demand="d2", provider="p1", cost=2, size=1),
        ),
    )

    assert problem_to_json(problem) == (
        b'{"demands":[{"id":"d1"},{"id":"d2","size":3,"unmet_penalty":7}],'
        b'"providers":[{"id":"p1","capacity":5}],'
        b'"arcs":[{"demand":"d1","provider":"p1","cost":1},'
        b'{"demand":"d2","provider":"p1","cost":2,"size":1}]}'
    )


@pytest.mark.parametrize("seed", range(5))
def test_problems_and_solutions_round_trip(seed: int) -> None:
    problem = random_problem(seed, groups=seed % 2 == 1)
    solution = solve(problem)

    assert read_problem(problem_to_json(problem)) == problem
    assert read_solution(solution_to_json(solution)) == solution


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (b'{"demands":[{"id":""}],"providers":[],"arcs":[]}', "$.demands[0].id"),
        (b'{"demands":[{"id":"d","size":0}],"providers":[],"arcs":[]}', "$.demands[0].size"),
        (
            b'{"demands":[],"providers":[],"arcs":[{"demand":"d","provider":"p","cost":1e3}]}',
            "$.arcs[0].cost",
        ),
        (
            b'{"demands":[],"providers":[],"arcs":[{"demand":"d","provider":"p","cost":10000000000000}]}',
            "$.arcs[0].cost",
        ),
    ],
)
def test_invalid_documents_name_the_offending_path(document: bytes, path: str) -> None:
    with pytest.raises(msgspec.ValidationError) as raised:
        read_problem(document)

    assert str(raised.value).endswith(f"- at `{path}`")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b'{"demands":[],"providers":[]}', "Object missing required field `arcs`"),
        (b'{"demands":[],"providers":[],"arcs":[],"extra":1}', "unknown field `extra`"),
    ],
)
def test_invalid_top_level_documents_are_rejected(document: bytes, message: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=message):
        read_problem(document)
