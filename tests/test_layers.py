"""The layers of ``src/csomatch`` stay as docs/architecture.md draws them.

Each top-level package (or module) of csomatch may import only the units below it; the
table ``MAY_IMPORT`` is the rule, read from the source with ``ast`` (every import, also
those inside functions). On top of it: the solver imports nothing of csomatch, ``db``
imports only ``domain``, ``errors`` and ``geo``, Litestar is imported only in ``api/``,
``app.py``, ``runtime/`` and ``web/``, and no two packages import each other, directly or
round a longer loop. (That an api module takes nothing from ``db`` but the pool type is
``tests/test_api_layer.py``.) A failure names the file, the line and the import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "csomatch"

#: The bottom: pure modules and the vocabulary.
BASE = frozenset({"errors", "settings", "geo", "domain", "i18n"})
#: Use cases, one package per feature: they may use each other (without a loop), the
#: database layer, the solver and the base.
FEATURES = frozenset(
    {
        "registry",
        "search",
        "referrals",
        "matching",
        "funding",
        "gaps",
        "notifications",
        "audit",
        "idempotency",
        "feedback",
    }
)
BELOW_FEATURES = BASE | {"db", "solver"}

#: What each unit of csomatch may import (besides itself).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "solver": frozenset(),
    "errors": frozenset(),
    "settings": frozenset(),
    "geo": frozenset(),
    "i18n": frozenset(),
    "domain": frozenset({"errors", "i18n"}),
    "db": frozenset({"domain", "errors", "geo", "i18n"}),
    **{feature: BELOW_FEATURES | FEATURES for feature in FEATURES},
    "runtime": BELOW_FEATURES | FEATURES,
    "api": BELOW_FEATURES | FEATURES | {"runtime"},
    "web": BELOW_FEATURES | FEATURES | {"api"},
    "app": BELOW_FEATURES | FEATURES | {"runtime", "api", "web"},
    "cli": BELOW_FEATURES | FEATURES | {"runtime", "app"},
    "__main__": frozenset({"cli"}),
    "__init__": frozenset(),
}

#: Where the web framework may be named.
LITESTAR_UNITS = frozenset({"api", "app", "runtime", "web"})


def unit_of(module: str) -> str:
    """The top-level package or module of ``csomatch.x.y`` (``x``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    """``csomatch.a.b`` of ``src/csomatch/a/b.py`` (a package by its ``__init__``)."""
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def imports(source: str) -> Iterator[tuple[int, str]]:
    """``(line, module)`` of every absolute import in ``source``, ``from a import b`` as ``a.b``.

    A relative import (``from . import x``) is not used in csomatch; it is reported as
    ``.`` so that the rules refuse it rather than miss it.
    """
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                yield node.lineno, "."
            elif node.module is not None:
                for alias in node.names:
                    yield node.lineno, f"{node.module}.{alias.name}"


def _sources() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def _where(path: Path, line: int, target: str) -> str:
    return f"{path.relative_to(SRC.parent)}:{line}: {target}"


def broken_rules(path: Path, source: str) -> list[str]:
    """Every import of ``source`` (the file ``path``) that ``MAY_IMPORT`` does not allow."""
    unit = unit_of(module_name(path))
    allowed = MAY_IMPORT[unit]
    broken = []
    for line, target in imports(source):
        if target == ".":
            broken.append(_where(path, line, "a relative import"))
        elif target == "litestar" or target.startswith("litestar."):
            if unit not in LITESTAR_UNITS:
                broken.append(_where(path, line, target))
        elif target.startswith("csomatch."):
            other = unit_of(target)
            if other != unit and other not in allowed:
                broken.append(_where(path, line, target))
    return broken


def unit_graph() -> dict[str, set[str]]:
    """Which units each unit of csomatch imports."""
    graph: dict[str, set[str]] = {}
    for path in _sources():
        unit = unit_of(module_name(path))
        edges = graph.setdefault(unit, set())
        for _, target in imports(path.read_text(encoding="utf-8")):
            if target.startswith("csomatch.") and unit_of(target) != unit:
                edges.add(unit_of(target))
    return graph


def a_loop(graph: dict[str, set[str]]) -> list[str]:
    """One import loop among the units (``[a, b, a]``), or ``[]`` when there is none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for nxt in sorted(graph.get(node, ())):
            loop = visit(nxt, [*path, node])
            if loop:
                return loop
        done.add(node)
        return []

    for start in sorted(graph):
        loop = visit(start, [])
        if loop:
            return loop
    return []


def test_every_unit_of_the_source_has_a_rule() -> None:
    units = {unit_of(module_name(p)) for p in _sources()}
    assert units - set(MAY_IMPORT) == set(), "add the new package to MAY_IMPORT (and the docs)"
    assert {"solver", "db", "api", "domain", "registry", "search", "referrals"} <= units


@pytest.mark.parametrize("path", _sources(), ids=lambda p: p.relative_to(SRC).as_posix())
def test_each_module_imports_only_what_its_layer_may(path: Path) -> None:
    assert broken_rules(path, path.read_text(encoding="utf-8")) == []


def test_no_two_packages_import_each_other() -> None:
    assert a_loop(unit_graph()) == []


# The rules themselves, on sources made up for the purpose: each can fail.


@pytest.mark.parametrize(
    ("file", "source", "broken"),
    [
        ("solver/core.py", "from csomatch.solver.flow import x", []),
        ("solver/core.py", "from csomatch.geo import haversine_km", ["geo.haversine_km"]),
        ("solver/core.py", "import csomatch.db.pool", ["csomatch.db.pool"]),
        ("db/services.py", "from csomatch.geo import EARTH_RADIUS_KM", []),
        ("db/services.py", "from csomatch.domain.stored import Service", []),
        ("db/services.py", "from csomatch.registry import capacity", ["registry.capacity"]),
        ("db/services.py", "from csomatch.settings import Settings", ["settings.Settings"]),
        ("registry/seeding.py", "from csomatch import gaps", []),
        ("registry/seeding.py", "from litestar import Litestar", ["litestar.Litestar"]),
        ("search/index.py", "from csomatch.api.search import x", ["api.search.x"]),
        ("runtime/lifespan.py", "from csomatch.api.auth import TokenCache", ["api.auth"]),
        ("runtime/lifespan.py", "from litestar import Litestar", []),
        ("cli/serve.py", "from csomatch.app import create_app", []),
        ("cli/serve.py", "from csomatch.api.registry import x", ["api.registry.x"]),
        ("domain/principal.py", "from csomatch.db.tokens import TokenRecord", ["db.tokens"]),
        ("api/search.py", "from . import deps", ["a relative import"]),
        ("geo.py", "def f():\n    from csomatch.settings import Settings", ["settings"]),
    ],
)
def test_the_rules_refuse_what_they_should(file: str, source: str, broken: list[str]) -> None:
    found = broken_rules(SRC / file, source)
    assert len(found) == len(broken), found
    for reported, expected in zip(found, broken, strict=True):
        assert expected in reported
        assert reported.startswith(f"csomatch/{file}:")


def test_a_loop_is_found_however_long() -> None:
    assert a_loop({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert a_loop({"a": {"b"}, "b": {"c"}, "c": set()}) == []
    assert a_loop({"api": {"runtime"}, "runtime": {"api"}}) == ["api", "runtime", "api"]
