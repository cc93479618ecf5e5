"""``csomatch solve FILE``: stdout JSON, exit codes and one-line errors on bad files."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from solver_factories import arc, demand, problem, provider

from csomatch.cli.solve import main
from csomatch.solver import check_solution
from csomatch.solver.io import problem_to_json, read_problem, read_solution

EXAMPLE = b"""{
  "demands": [
    {"id": "d1", "size": 1, "unmet_penalty": 1000000},
    {"id": "d2", "unmet_penalty": 500},
    {"id": "d3"}
  ],
  "providers": [{"id": "p1", "capacity": 2}, {"id": "p2", "capacity": 0}],
  "arcs": [
    {"demand": "d1", "provider": "p1", "cost": 120},
    {"demand": "d2", "provider": "p1", "cost": 900},
    {"demand": "d3", "provider": "p1", "cost": 80},
    {"demand": "d3", "provider": "p2", "cost": 1}
  ]
}"""


def _write(tmp_path: Path, content: bytes) -> str:
    path = tmp_path / "problem.json"
    path.write_bytes(content)
    return str(path)


def test_solve_prints_the_solution_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([_write(tmp_path, EXAMPLE), "--time-limit", "5", "--workers", "1", "--seed", "4"])

    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert out.endswith("\n")
    body = json.loads(out)
    assert list(body) == [
        "status",
        "objective",
        "bound",
        "assignments",
        "unmet",
        "solver",
        "seconds",
    ]
    assert body["status"] == "optimal"
    assert body["objective"] == body["bound"] == 120 + 80 + 500
    assert body["assignments"] == [
        {"demand": "d1", "provider": "p1"},
        {"demand": "d3", "provider": "p1"},
    ]
    assert body["unmet"] == ["d2"]
    assert check_solution(read_problem(EXAMPLE), read_solution(out)) == []


def test_solve_reads_stdin_for_a_dash(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(EXAMPLE)))

    code = main(["-"])

    assert code == 0
    assert json.loads(capsys.readouterr().out)["objective"] == 700


def test_infeasible_is_a_result_with_exit_code_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    infeasible = problem(
        (demand("a"), demand("b")), (provider("p", capacity=1),), (arc("a", "p"), arc("b", "p"))
    )

    code = main([_write(tmp_path, problem_to_json(infeasible))])

    body = json.loads(capsys.readouterr().out)
    assert code == 0
    assert body["status"] == "infeasible"
    assert body["objective"] is None
    assert body["unmet"] == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"demands": [], "providers": [', "Input data was truncated; the file must be one JSON"),
        (b'{"demands": [] "providers": []}', "JSON is malformed: expected ','"),
        (
            EXAMPLE.replace(b'"cost": 1}', b'"cost": "cheap"}'),
            "Expected `int`, got `str` - at `$.arcs[3].cost`",
        ),
        (
            EXAMPLE.replace(b'"capacity": 0', b'"capacity": -3'),
            "Expected `int` >= 0 - at `$.providers[1].capacity`",
        ),
        (
            EXAMPLE.replace(b'{"id": "d3"}', b'{"id": "d3", "name": "Ana"}'),
            "Object contains unknown field `name` - at `$.demands[2]`",
        ),
        (
            EXAMPLE.replace(
                b'"demand": "d3", "provider": "p2"', b'"demand": "d9", "provider": "p2"'
            ),
            "demand 'd9' is not in demands; add it there or remove the arc - at `$.arcs[3].demand`",
        ),
        (
            EXAMPLE.replace(b'{"id": "d3"}', b'{"id": "d1"}'),
            "is already used by $.demands[0]; ids must be unique - at `$.demands[2].id`",
        ),
    ],
    ids=[
        "truncated",
        "malformed",
        "wrong-type",
        "out-of-range",
        "unknown-field",
        "unknown-demand",
        "dup-id",
    ],
)
def test_a_bad_file_prints_one_line_saying_what_and_where(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    path = _write(tmp_path, content)

    code = main([path])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"csomatch solve: error: {path}: ")
    assert expected in err
    assert "fix it and retry" in err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main([str(tmp_path / "absent.json")])

    assert code == 2
    assert "cannot read the file" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [["--time-limit", "0"], ["--time-limit", "soon"], ["--workers", "0"], ["--seed", "-1"]],
)
def test_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main([_write(tmp_path, EXAMPLE), *argv])

    assert exited.value.code == 2
    assert "csomatch solve: error: argument" in capsys.readouterr().err


def test_help_describes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])

    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert out.startswith("usage: csomatch solve [-h]")
    for words in ("--time-limit SECONDS", "--workers N", "--seed N", "infeasible", "exit codes"):
        assert words in out


def test_the_documented_example_gives_the_documented_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "solver-format.md").read_text()
    example = doc.split("```json\n", 1)[1].split("```", 1)[0]

    code = main([_write(tmp_path, example.encode())])

    body = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (body["status"], body["objective"], body["unmet"]) == ("optimal", 345, ["d3"])
    assert '"objective":345' in doc
