"""``csomatch solve FILE``: solve a problem file and print the solution as JSON.

It has a parser of its own: ``csomatch`` hands ``solve`` and what follows to ``main``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import msgspec

from csomatch.i18n import _

EXIT_OK = 0
EXIT_BAD_INPUT = 2

_FIX = "fix it and retry; docs/solver-format.md describes the format"

_DESCRIPTION = """\
Place demands with providers at least total cost and print the solution as JSON.

FILE holds {"demands": [...], "providers": [...], "arcs": [...]} (use - to read stdin).
Problems where every arc uses one place are solved exactly as a min-cost flow; problems
with groups are solved with CP-SAT within --time-limit.
"""

_EPILOG = """\
statuses: optimal (proven best), feasible (time limit hit; "bound" is a proven lower
bound), infeasible (demands without unmet_penalty cannot all be placed), unknown (time
limit hit before any solution).

exit codes: 0 a solution JSON was printed, whatever its status (infeasible is a result,
not an error); 2 the arguments or the file are wrong (one line on stderr says what and
where, e.g. `$.arcs[3].cost`).

example: csomatch solve problem.json --time-limit 30 --workers 2 > solution.json
The file format is described in docs/solver-format.md.
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Name ``solve`` in the ``csomatch`` parser's help (``csomatch.cli.main`` hands it over)."""
    sub.add_parser("solve", help="solve a matching problem file (see 'csomatch solve --help')")


def main(argv: list[str] | None = None) -> int:
    """Run ``csomatch solve``; returns the exit code (argparse exits itself on bad usage)."""
    # Here, not at the top: the solver (OR-Tools, numpy) takes half a second to import, and
    # every command imports this module to name ``solve`` in its help.
    from csomatch.solver import SolveParams, solve
    from csomatch.solver.compiled import ProblemError
    from csomatch.solver.io import read_problem, solution_to_json

    args = _parser().parse_args(argv)
    source = "stdin" if args.file == "-" else args.file
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as error:
        return _fail(f"{source}: cannot read the file ({error.strerror or error})")
    try:
        problem = read_problem(data)
    except msgspec.ValidationError as error:
        return _fail(f"{source}: {error}; {_FIX}")
    except msgspec.DecodeError as error:
        return _fail(f"{source}: {error}; the file must be one JSON object; {_FIX}")
    params = SolveParams(time_limit_s=args.time_limit, workers=args.workers, seed=args.seed)
    try:
        solution = solve(problem, params)
    except ProblemError as error:
        return _fail(f"{source}: {error}; {_FIX}")
    sys.stdout.write(solution_to_json(solution).decode() + "\n")
    return EXIT_OK


def _fail(message: str) -> int:
    print(_("csomatch solve: error: {message}", message=message), file=sys.stderr)
    return EXIT_BAD_INPUT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="csomatch solve",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE", help="problem JSON file, or - for stdin")
    parser.add_argument(
        "--time-limit",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="time budget of a CP-SAT solve, model building included (default: %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=_int_between(1, 256),
        default=1,
        metavar="N",
        help="CP-SAT search threads; 1 is deterministic (default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=_int_between(0, 2**31 - 1),
        default=0,
        metavar="N",
        help="random seed of the CP-SAT search (default: %(default)s)",
    )
    return parser


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number of seconds")
    return value


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        """The whole number in ``text``, if it lies within the bounds."""
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} must be between {low} and {high}")
        return value

    return parse
