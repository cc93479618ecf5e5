"""The demo's synthetic demand: loaded with the demo registry, deterministic, idempotent."""

from __future__ import annotations

import datetime as dt

import asyncpg

from csomatch.gaps.analysis import GapQuery, list_cells
from csomatch.gaps.demo import load_demo_demand
from csomatch.registry.seeding import default_seed_dir, load_demo

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


async def test_demo_demand_is_loaded_once_and_makes_gaps_visible(conn: asyncpg.Connection) -> None:
    report = await load_demo(conn, default_seed_dir(), now=NOW)
    assert report.demand_signals > 1000
    assert await load_demo_demand(conn, now=NOW) == 0  # idempotent
    second = await load_demo(conn, default_seed_dir(), now=NOW)
    assert second.demand_signals == 0
    row = await conn.fetchrow(
        "SELECT min(occurred_at) AS first, max(occurred_at) AS last,"
        " count(DISTINCT participant_code) AS participants,"
        " count(*) FILTER (WHERE kind = 'unmet') AS unmet FROM demand_signal"
    )
    assert row is not None
    assert row["first"] >= dt.datetime(2025, 12, 1, tzinfo=dt.UTC)
    assert row["last"] <= NOW
    assert row["participants"] == 6
    assert row["unmet"] > 0

    cells = await list_cells(
        conn, GapQuery(granularity="quarter", count=4), now=NOW, stale_hours=72
    )
    flags = {f.code for c in cells for f in c.flags}
    assert {"uncovered", "funding_cliff", "single_donor", "under_capacity"} <= flags
    assert {c.severity for c in cells} >= {1, 3, 5}
    assert any(c.suppressed for c in cells)
