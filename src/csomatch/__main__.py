"""The ``csomatch`` command line: one sub-command per job."""

from __future__ import annotations

import sys

USAGE = """\
usage: csomatch COMMAND [ARGS]

commands:
  solve FILE    solve a matching problem file and print the solution as JSON
                (docs/solver-format.md)

Run 'csomatch COMMAND --help' for the options of one command.
"""


def main(argv: list[str] | None = None) -> int:
    """Dispatch to a sub-command; returns the process exit code."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command == "solve":
        from csomatch.solver.cli import main as solve_main

        return solve_main(rest)
    print(f"csomatch: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
