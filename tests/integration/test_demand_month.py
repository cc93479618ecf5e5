"""The monthly demand counts (``demand_month``) always equal a fresh count of the signals."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
from tests.conftest import fresh_database
from tests.integration.test_signals import NIS, T0, registry, unmet

from csomatch.db import signals
from csomatch.db.migrate import available_migrations, migrate

_MONTH = "date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date"
_FRESH = (
    f"SELECT {_MONTH} AS month, participant_code, taxonomy_code, area_code,"
    " count(*) FILTER (WHERE kind = 'need')::int,"
    " count(*) FILTER (WHERE kind = 'unmet')::int,"
    " count(*) FILTER (WHERE kind = 'unmet' AND reason = 'no_capacity')::int,"
    " count(*) FILTER (WHERE kind = 'decline_no_capacity')::int,"
    " count(*) FILTER (WHERE kind = 'search_empty')::int"
    " FROM demand_signal GROUP BY 1, 2, 3, 4"
)
_ROLLUP = (
    "SELECT month, participant_code, taxonomy_code, area_code, needs, unmet, unmet_capacity,"
    " declines, searches FROM demand_month"
)
_FRESH_UNMET = (
    f"SELECT {_MONTH} AS month, participant_code, taxonomy_code, reason, count(*)::int"
    " FROM demand_signal WHERE kind = 'unmet' GROUP BY 1, 2, 3, 4"
)
_ROLLUP_UNMET = "SELECT month, participant_code, taxonomy_code, reason, n FROM unmet_month"


async def _same(conn: asyncpg.Connection) -> list[tuple[object, ...]]:
    """The demand counts, after checking both tables equal a fresh GROUP BY of the signals."""

    async def rows(sql: str) -> list[tuple[object, ...]]:
        return sorted((tuple(r) for r in await conn.fetch(sql)), key=repr)

    assert await rows(_ROLLUP_UNMET) == await rows(_FRESH_UNMET)
    counts = await rows(_ROLLUP)
    assert counts == await rows(_FRESH)
    return counts


async def test_the_rollup_follows_inserts_conflicts_updates_and_deletes(
    conn: asyncpg.Connection,
) -> None:
    await registry(conn)
    late_oct = T0 - dt.timedelta(seconds=1)  # 31 October 23:59:59 UTC: still October
    batch = [
        unmet(dedup_key="k1"),
        unmet(),
        unmet(occurred_at=late_oct),
        unmet(kind="need", reason=None),
        unmet(kind="need", reason=None, area_code=None),
        unmet(kind="search_empty", reason=None, area_code=None),
        unmet(reason="language"),
    ]
    assert await signals.record_signals(conn, batch) == 7
    assert len(await _same(conn)) == 3  # Niš in November and October; no area in November
    # A repeated dedup key is skipped by ON CONFLICT DO NOTHING and counts nothing.
    assert await signals.record_signals(conn, [unmet(dedup_key="k1"), unmet()]) == 1
    rows = await _same(conn)
    # 3 unmet (all for no capacity but one for language) and 1 need in Niš in November
    assert (T0.date(), "RS", "ACC.EMERG", NIS.code, 1, 4, 3, 0, 0) in rows

    await conn.execute("UPDATE demand_signal SET reason = 'age' WHERE reason = 'language'")
    await conn.execute(
        "UPDATE demand_signal SET occurred_at = occurred_at - interval '40 days'"
        " WHERE kind = 'need'"
    )
    await _same(conn)
    # A purge of old signals, a single delete, then everything.
    await conn.execute("DELETE FROM demand_signal WHERE occurred_at < $1", T0)
    await _same(conn)
    await conn.execute("DELETE FROM demand_signal WHERE dedup_key = 'k1'")
    await _same(conn)
    await conn.execute("DELETE FROM demand_signal")
    assert await _same(conn) == []
    assert await conn.fetchval("SELECT count(*) FROM demand_month") == 0
    assert await conn.fetchval("SELECT count(*) FROM unmet_month") == 0


async def test_a_truncate_empties_the_rollup(conn: asyncpg.Connection) -> None:
    await registry(conn)
    await signals.record_signals(conn, [unmet(), unmet(kind="need", reason=None)])
    await conn.execute("TRUNCATE demand_signal")
    assert await _same(conn) == []


async def test_a_rolled_back_insert_counts_nothing(conn: asyncpg.Connection) -> None:
    await registry(conn)
    await signals.record_signals(conn, [unmet()])
    tx = conn.transaction()
    await tx.start()
    await signals.record_signals(conn, [unmet(), unmet()])
    await tx.rollback()
    rows = await _same(conn)
    assert [r[4:] for r in rows] == [(0, 1, 1, 0, 0)]


async def test_concurrent_writers_to_one_count_lose_nothing(db_url: str) -> None:
    setup = await asyncpg.connect(db_url)
    a = await asyncpg.connect(db_url)
    b = await asyncpg.connect(db_url)
    try:
        await registry(setup)
        # Neither row exists yet: the second writer waits on the first's new row, then adds.
        first, second = a.transaction(), b.transaction()
        await first.start()
        await second.start()
        await signals.record_signals(a, [unmet(), unmet(kind="need", reason=None)])
        waiting = asyncio.create_task(
            signals.record_signals(b, [unmet(kind="need", reason=None), unmet()])
        )
        await asyncio.sleep(0.1)  # let b reach the row lock (the result holds either way)
        await first.commit()
        assert await waiting == 2
        await second.commit()
        rows = await _same(setup)
        assert [r[4:] for r in rows] == [(2, 2, 2, 0, 0)]
    finally:
        for c in (setup, a, b):
            await c.close()


async def test_a_purge_and_a_writer_at_once_keep_the_counts(db_url: str) -> None:
    setup = await asyncpg.connect(db_url)
    a = await asyncpg.connect(db_url)
    b = await asyncpg.connect(db_url)
    try:
        await registry(setup)
        old = T0 - dt.timedelta(days=40)
        await signals.record_signals(setup, [unmet(), unmet(occurred_at=old)])
        purge, writer = a.transaction(), b.transaction()
        await purge.start()
        await writer.start()
        await a.execute("DELETE FROM demand_signal WHERE occurred_at < $1", T0)
        await a.execute("DELETE FROM demand_signal WHERE occurred_at >= $1", T0)
        waiting = asyncio.create_task(signals.record_signals(b, [unmet(), unmet()]))
        await asyncio.sleep(0.1)  # let b reach the row lock (the result holds either way)
        await purge.commit()
        assert await waiting == 2
        await writer.commit()
        rows = await _same(setup)
        assert [r[4:] for r in rows] == [(0, 2, 2, 0, 0)]
    finally:
        for c in (setup, a, b):
            await c.close()


async def test_the_migration_back_fills_the_counts_of_signals_already_stored(
    pg_server_url: str,
) -> None:
    # A database as it was before 0060, holding signals; then 0060 (and later) applied.
    async with fresh_database(pg_server_url, "template0") as url:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                "CREATE TABLE schema_migration (version integer PRIMARY KEY, name text NOT NULL,"
                " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for m in available_migrations():
                if m.version < 60:
                    await conn.execute(m.sql)
                    await conn.execute(
                        "INSERT INTO schema_migration (version, name, checksum)"
                        " VALUES ($1, $2, $3)",
                        m.version, m.name, m.checksum,
                    )  # fmt: skip
            await registry(conn)
            stored = [
                unmet(dedup_key="old1"),
                unmet(occurred_at=T0 - dt.timedelta(days=40)),
                unmet(kind="need", reason=None),
                unmet(kind="need", reason=None, area_code=None),
                unmet(kind="search_empty", reason=None),
                unmet(kind="decline_no_capacity", reason=None),
                unmet(reason="language"),
            ]
            # written as a writer of that time did: without the population group (0080)
            await conn.executemany(
                "INSERT INTO demand_signal (occurred_at, kind, source, participant_code,"
                " area_code, taxonomy_code, reason, dedup_key)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                [
                    (s.occurred_at, s.kind, s.source, s.participant_code, s.area_code,
                     s.taxonomy_code, s.reason, s.dedup_key)
                    for s in stored
                ],
            )  # fmt: skip
            applied = await migrate(conn)
            assert applied[0].version == 60
            counts = await _same(conn)
            # needs + unmet + declines + empty searches: every stored signal, counted once
            assert sum(c[4] + c[5] + c[7] + c[8] for c in counts) == len(stored)
            # And the triggers count what comes after.
            await signals.record_signals(conn, [unmet(dedup_key="new1")])
            await _same(conn)
        finally:
            await conn.close()
