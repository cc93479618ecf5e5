"""Demand signals on a real PostgreSQL: stored once per dedup key, counted per cell."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from csomatch.db import areas as area_db
from csomatch.db import signals
from csomatch.domain import Area, TaxonomyTerm
from csomatch.errors import InvalidInput

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NIS = Area(
    code="RS-787657", participant_code="RS", name="Niš", kind="city", population=250000,
    latitude=43.32472, longitude=21.90333,
)  # fmt: skip


async def registry(conn: asyncpg.Connection) -> None:
    await area_db.upsert_areas(conn, [NIS])
    await area_db.upsert_taxonomy(
        conn,
        [
            TaxonomyTerm(code="ACC", parent_code=None, name="Accommodation", accommodation=True),
            TaxonomyTerm(code="ACC.EMERG", parent_code="ACC", name="Emergency", accommodation=True),
        ],
    )


def unmet(**overrides: object) -> signals.NewSignal:
    values: dict[str, object] = {
        "kind": "unmet", "source": "suggestion", "participant_code": "RS",
        "area_code": NIS.code, "taxonomy_code": "ACC.EMERG", "reason": "no_capacity",
        "occurred_at": T0,
    }  # fmt: skip
    values.update(overrides)
    return signals.NewSignal(**values)  # type: ignore[arg-type]


async def test_a_repeated_dedup_key_counts_once(conn: asyncpg.Connection) -> None:
    await registry(conn)
    first = await signals.record_signals(conn, [unmet(dedup_key="k1"), unmet()])
    again = await signals.record_signals(conn, [unmet(dedup_key="k1")])
    counts = await signals.count_signals(conn, since=T0, until=T0 + dt.timedelta(days=1))
    assert (first, again) == (2, 0)
    assert [(c.kind, c.reason, c.n) for c in counts] == [("unmet", "no_capacity", 2)]


async def test_counts_only_the_period(conn: asyncpg.Connection) -> None:
    await registry(conn)
    await signals.record_signals(conn, [unmet(), unmet(occurred_at=T0 - dt.timedelta(days=40))])
    counts = await signals.count_signals(conn, since=T0, until=T0 + dt.timedelta(days=1))
    assert sum(c.n for c in counts) == 1


async def test_a_reason_is_a_code_never_free_text(conn: asyncpg.Connection) -> None:
    await registry(conn)
    with pytest.raises(InvalidInput):
        await signals.record_signals(conn, [unmet(reason="She said the trafficker is here")])
    assert await conn.fetchval("SELECT count(*) FROM demand_signal") == 0


async def test_a_signal_keeps_its_population_group_and_older_ones_are_unknown(
    conn: asyncpg.Connection,
) -> None:
    await registry(conn)
    await signals.record_signals(conn, [unmet(population_group="women"), unmet()])
    groups = await conn.fetch(
        "SELECT population_group, count(*) AS n FROM demand_signal GROUP BY 1 ORDER BY 1"
    )
    assert [(g["population_group"], g["n"]) for g in groups] == [("unknown", 1), ("women", 1)]
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO demand_signal (kind, source, participant_code, taxonomy_code,"
            " population_group) VALUES ('need', 'referral', 'RS', 'ACC.EMERG', 'syrian')"
        )


async def test_need_signals_lists_needs_of_the_period_oldest_first(
    conn: asyncpg.Connection,
) -> None:
    await registry(conn)
    later = T0 + dt.timedelta(hours=5)
    await signals.record_signals(
        conn,
        [
            unmet(kind="need", reason=None, occurred_at=later, population_group="families"),
            unmet(kind="need", reason=None, occurred_at=T0),
            unmet(),
            unmet(kind="need", reason=None, occurred_at=T0 - dt.timedelta(days=40)),
        ],
    )
    found = await signals.need_signals(conn, since=T0, until=T0 + dt.timedelta(days=1))
    assert [(s.occurred_at, s.population_group) for s in found] == [
        (T0, "unknown"),
        (later, "families"),
    ]
    assert found[0].area_code == NIS.code
