"""Migrations form one numbered sequence: from 0061 on, each number follows the last.

Numbers before 0061 keep the gaps they had when they landed (databases in the field have
applied them under those names); new ones continue the sequence without gaps or repeats.
"""

from __future__ import annotations

import re
from pathlib import Path

import csomatch.db

MIGRATIONS = Path(csomatch.db.__file__).resolve().parent / "migrations"
#: The last number of the older, gapped numbering.
LAST_OF_OLD_NUMBERING = 60


def test_migration_numbers_are_unique_and_continuous_from_0061() -> None:
    names = sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    numbers = [int(re.match(r"(\d{4})_[a-z0-9_]+\.sql$", n).group(1)) for n in names]  # type: ignore[union-attr]
    assert len(numbers) == len(set(numbers))
    new = [n for n in numbers if n > LAST_OF_OLD_NUMBERING]
    assert new == list(range(LAST_OF_OLD_NUMBERING + 1, LAST_OF_OLD_NUMBERING + 1 + len(new)))
