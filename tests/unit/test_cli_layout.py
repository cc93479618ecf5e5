"""The command line's shape: every command has a handler, and cli/ holds no SQL."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import csomatch.cli
from csomatch.cli import parser

CLI_DIR = Path(csomatch.cli.__file__).parent
#: ``csomatch`` hands ``solve`` over to its own parser before parsing (cli/solve.py).
HANDED_OVER = {"solve"}
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP)\b")


def _leaves(p: argparse.ArgumentParser, path: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every command path down to one that takes no further action."""
    found = []
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _leaves(child, (*path, name))
            return found
    return [path]


def _handler(path: tuple[str, ...]) -> object:
    """The handler the parser names for one command path (the nearest one set on the way)."""
    p, found = parser(), None
    for name in path:
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        p = sub.choices[name]
        found = p.get_default("handler") or found
    return found


def test_every_command_names_its_handler() -> None:
    leaves = _leaves(parser(), ())
    assert {("db", "migrate"), ("token", "create"), ("token", "revoke")} <= set(leaves)
    for path in leaves:
        if path[0] in HANDED_OVER:
            continue
        assert callable(_handler(path)), path


def test_cli_modules_hold_no_sql() -> None:
    for module in sorted(CLI_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not SQL.search(node.value), f"{module.name}: {node.value[:60]!r}"
