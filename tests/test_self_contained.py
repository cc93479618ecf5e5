"""The checkout is self-contained: nothing in it reads files from beside the clone.

A user's clone (and CI's, made in an empty temporary folder) has nothing next to it, so every
file a test or the program reads lives in the repository (``tests/data/`` for reference files,
with their source and licence).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.reference import GAP_DIR, IATI_EXAMPLE

ROOT = Path(__file__).resolve().parents[1]
# Spelled in pieces so that this file does not match itself.
OUTSIDE = re.compile(
    r"\.\./" + "shared|" + "shared" + r"/reference|/\s*\"" + "shared" + r"\"\s*(/|\)|$)"
)
SCANNED = ("src", "tests", "bench", "seed_data", ".ci", "Makefile", "pyproject.toml")


def _files() -> list[Path]:
    found: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix in {"", ".py", ".sh", ".toml", ".js", ".sql"}
            )
    return found


def test_no_file_reaches_outside_the_checkout() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _files()
        for number, line in enumerate(
            path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
        )
        if OUTSIDE.search(line)
    ]
    assert offenders == []


def test_reference_files_are_in_the_repository_with_their_source() -> None:
    assert len(list((GAP_DIR / "cattrysse1994").iterdir())) == 60
    assert (GAP_DIR / "optima.csv").is_file()
    assert IATI_EXAMPLE.is_file()
    for folder in (GAP_DIR, IATI_EXAMPLE.parent):
        assert (folder / "SOURCE.txt").is_file()
    assert (IATI_EXAMPLE.parent / "LICENSE").is_file()
