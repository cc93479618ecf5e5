"""The HTTP layer stays thin: no module of ``csomatch.api`` reaches into ``csomatch.db``.

A handler parses, authorises, calls one use case and shapes the answer; the use case (a
feature package: ``registry``, ``search``, ``referrals``, ...) talks to the database. So an
api module may name only what it passes on from db: the pool (``db.pool.Pool``, a type
alias of asyncpg's). The caller is a ``domain.Principal``, never a db record. Anything else
(a db module, a query function, a row type) is a use case's business and fails this test,
naming the module and the line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

API = Path(__file__).resolve().parents[1] / "src" / "csomatch" / "api"

#: What an api module may import from ``csomatch.db``, by module: the types it passes on.
ALLOWED = {
    "csomatch.db.pool": frozenset({"Pool"}),
}


def db_imports(source: str) -> list[str]:
    """``line: import`` of every import of ``csomatch.db`` the rules do not allow."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"{node.lineno}: import {a.name}"
                for a in node.names
                if a.name == "csomatch.db" or a.name.startswith("csomatch.db.")
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            module = node.module
            if module == "csomatch":
                found += [
                    f"{node.lineno}: from csomatch import {a.name}"
                    for a in node.names
                    if a.name == "db"
                ]
            elif module == "csomatch.db" or module.startswith("csomatch.db."):
                allowed = ALLOWED.get(module, frozenset())
                found += [
                    f"{node.lineno}: from {module} import {a.name}"
                    for a in node.names
                    if a.name not in allowed
                ]
    return found


def _api_modules() -> list[Path]:
    return sorted(API.rglob("*.py"))


def test_the_api_package_is_where_this_test_looks() -> None:
    names = {p.relative_to(API).as_posix() for p in _api_modules()}
    assert {"registry.py", "search.py", "referrals.py", "schemas/views.py"} <= names


@pytest.mark.parametrize("path", _api_modules(), ids=lambda p: p.relative_to(API).as_posix())
def test_no_api_module_reaches_into_db(path: Path) -> None:
    assert db_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ("from csomatch.db.pool import Pool", []),
        (
            "from csomatch.db.tokens import TokenRecord",
            ["1: from csomatch.db.tokens import TokenRecord"],
        ),
        ("from csomatch.db import services as svc_db", ["1: from csomatch.db import services"]),
        (
            "from csomatch.db.services import SearchFilter",
            ["1: from csomatch.db.services import SearchFilter"],
        ),
        (
            "from csomatch.db.tokens import find_token",
            ["1: from csomatch.db.tokens import find_token"],
        ),
        ("import csomatch.db.referrals", ["1: import csomatch.db.referrals"]),
        ("from csomatch import db", ["1: from csomatch import db"]),
        (
            "def f():\n    from csomatch.db.pool import acquire",
            ["2: from csomatch.db.pool import acquire"],
        ),
        ("from csomatch.registry import services", []),
    ],
)
def test_the_rule_tells_a_passed_on_type_from_a_reach_into_db(
    source: str, refused: list[str]
) -> None:
    assert db_imports(source) == refused
