"""The JSON file format of problems and solutions (see docs/solver-format.md)."""

from __future__ import annotations

from typing import Final

import msgspec

from csomatch.solver.problem import Problem, Solution

_problem_decoder: Final = msgspec.json.Decoder(Problem)
_solution_decoder: Final = msgspec.json.Decoder(Solution)
_encoder: Final = msgspec.json.Encoder()


def read_problem(data: bytes | str) -> Problem:
    """Decode a problem file; unknown fields and out-of-range numbers are rejected.

    Raises:
        msgspec.DecodeError: the bytes are not JSON.
        msgspec.ValidationError: a value is wrong; the message ends with its path,
            e.g. ``- at `$.arcs[3].cost```.
    """
    return _problem_decoder.decode(data)


def problem_to_json(problem: Problem) -> bytes:
    """Encode a problem in the file format, leaving out defaults (size 1, must be met)."""
    return _encoder.encode(problem)


def solution_to_json(solution: Solution) -> bytes:
    """Encode a solution: status, objective, bound, assignments, unmet, solver, seconds."""
    return _encoder.encode(solution)


def read_solution(data: bytes | str) -> Solution:
    """Decode a solution written by `solution_to_json`."""
    return _solution_decoder.decode(data)
