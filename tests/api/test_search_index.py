"""The in-memory search index on the demo registry: it answers exactly as the SQL statement
does, sees every change committed before a search, and falls back to SQL while it cannot."""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.db import services as svc_db
from csomatch.domain import AddressScope, Service
from csomatch.search.index import SearchIndex
from csomatch.settings import Settings
from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
SEARCH = "/api/v1/services/search"
CODES = ["ACC.EMERG", "PSY.COUNSEL", "LEGAL.AID", "LANG.INTERP", "MED.GENERAL", "ACC.CHILD"]
TOWNS = {  # area code: (lat, lon)
    "RS-792680": (44.804, 20.4651), "AL-3183875": (41.3275, 19.8189),
    "BA-3191281": (43.8486, 18.3564), "XK-786714": (42.6727, 21.1669),
}  # fmt: skip


@pytest.fixture
async def index(demo_db: str) -> AsyncIterator[SearchIndex]:
    idx = SearchIndex(demo_db)
    await idx.start()
    assert idx.ready
    try:
        yield idx
    finally:
        await idx.close()


def random_filter(rng: random.Random) -> svc_db.SearchFilter:
    area, (lat, lon) = rng.choice(list(TOWNS.items()))
    by_point = rng.random() < 0.5
    return svc_db.SearchFilter(
        latitude=lat + rng.uniform(-0.2, 0.2) if by_point else None,
        longitude=lon + rng.uniform(-0.2, 0.2) if by_point else None,
        area=None if by_point else rng.choice([area, area, "RS-1"]),
        radius_km=rng.choice([None, 5.0, 25.0, 100.0, 400.0]),
        codes=rng.choice([None, rng.sample(CODES, rng.randint(1, 3)), ["LEGAL.AID", "NOPE.X"]]),
        participant=rng.choice([None, None, "RS", "AL", "XK"]),
        language=rng.choice([None, None, "sr", "sq", "en", "ar", "zz"]),
        gender=rng.choice([None, "female", "male", "other"]),
        age_band=rng.choice([None, "14-17", "18-24", "25-59"]),
        unaccompanied_minor=rng.choice([None, None, True, False]),
        accompanied_child=rng.choice([None, None, True, False]),
        available_only=rng.random() < 0.4,
        stale_after_hours=rng.choice([24.0, 72.0]),
        address_scope=AddressScope(participant=rng.choice(["RS", "AL", "XK"]))
        if rng.random() < 0.3
        else AddressScope(),
        limit=rng.choice([1, 5, 20, 100]),
        offset=rng.choice([0, 0, 0, 3, 30]),
        survivor_led=rng.choice([None, None, True, False]),
    )


def fields(svc: Service) -> tuple[object, ...]:
    """A service record's fields (the statement's records carry more columns)."""
    return tuple(getattr(svc, name) for name in Service.__struct_fields__)


def assert_same(sql: svc_db.SearchPage, mem: svc_db.SearchPage) -> None:
    assert [r.service.id for r in mem.rows] == [r.service.id for r in sql.rows]
    assert [fields(r.service) for r in mem.rows] == [fields(r.service) for r in sql.rows]
    for a, b in zip(sql.rows, mem.rows, strict=True):
        assert abs(a.distance_km - b.distance_km) < 1e-9
    assert (mem.origin, mem.origin_participant) == (sql.origin, sql.origin_participant)
    assert mem.unknown_codes == sql.unknown_codes
    # The statement counts the matches on its page's rows: past the last page it says 0.
    assert mem.total == sql.total or (not sql.rows and mem.total >= sql.total)


async def test_the_index_answers_every_search_as_the_statement(
    demo_db: str, index: SearchIndex
) -> None:
    rng = random.Random(11)
    conn = await asyncpg.connect(demo_db)
    try:
        for _ in range(400):
            f = random_filter(rng)
            assert await index.sync()
            assert_same(await svc_db.search_services(conn, f), index.search(f))
    finally:
        await conn.close()


async def test_changes_from_another_connection_are_in_the_next_search(
    demo_db: str, index: SearchIndex
) -> None:
    rng = random.Random(3)
    conn = await asyncpg.connect(demo_db)
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM service ORDER BY id LIMIT 40")]
        for step in range(30):
            sid = rng.choice(ids)
            change = step % 5
            if change == 0:
                await conn.execute(
                    "UPDATE service_capacity SET available = maximum - held, updated_at = now()"
                    " WHERE service_id = $1",
                    sid,
                )
            elif change == 1:
                await conn.execute(
                    "UPDATE service SET accepting_referrals = NOT accepting_referrals,"
                    " name = name || '.' WHERE id = $1",
                    sid,
                )
            elif change == 2:
                await conn.execute(
                    "UPDATE organization SET name = name || '.', accepting_referrals ="
                    " NOT accepting_referrals"
                    " WHERE id = (SELECT organization_id FROM service WHERE id = $1)",
                    sid,
                )
            elif change == 3:
                await conn.execute(
                    "UPDATE location SET latitude = latitude + 0.05, confidential = NOT"
                    " confidential WHERE id = (SELECT location_id FROM service WHERE id = $1)",
                    sid,
                )
            else:
                await conn.execute(
                    "UPDATE area SET latitude = latitude + 0.01 WHERE code ="
                    " (SELECT l.area_code FROM service s JOIN location l ON l.id = s.location_id"
                    " WHERE s.id = $1)",
                    sid,
                )
            for _ in range(10):
                f = random_filter(rng)
                assert await index.sync()
                assert_same(await svc_db.search_services(conn, f), index.search(f))
        # A truncation reloads everything.
        await conn.execute("TRUNCATE service_capacity")
        f = random_filter(rng)
        assert await index.sync()
        assert_same(await svc_db.search_services(conn, f), index.search(f))
    finally:
        await conn.close()


async def test_a_change_committed_before_a_search_is_in_its_answer(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    params = {"area": "RS-792680", "code": "ACC.EMERG", "radius_km": 300, "limit": 100}
    before = (await client.get(SEARCH, params=params, headers=officer)).json()
    hit = before["hits"][0]["service"]
    conn = await asyncpg.connect(demo_db)
    try:
        for available in (0, 1, 0, 2):
            await conn.execute(
                "UPDATE service_capacity SET available = $2 + held, maximum ="
                " greatest(maximum, $2 + held), updated_at = now() WHERE service_id = $1",
                hit["id"], available,
            )  # fmt: skip
            after = (await client.get(SEARCH, params=params, headers=officer)).json()
            mine = [h for h in after["hits"] if h["service"]["id"] == hit["id"]]
            assert mine[0]["free_places"] == available
    finally:
        await conn.close()


async def test_while_its_connection_is_lost_searches_use_sql_and_it_comes_back(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    params = {"area": "RS-792680", "code": "LEGAL.AID", "radius_km": 300}
    expected = (await client.get(SEARCH, params=params, headers=officer)).json()
    index: SearchIndex = client.app.state.search_index
    assert index.ready
    conn = await asyncpg.connect(demo_db)
    try:
        killed = await conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'csomatch-search-index' AND datname = current_database()"
        )
        assert killed == 1
        for _ in range(100):  # the termination reaches the index asynchronously
            if not index.ready:
                break
            await asyncio.sleep(0.01)
        assert not index.ready
        # Changed while the index is away: the SQL answers, then the reloaded index does.
        await conn.execute(
            "UPDATE service SET name = 'Fictional Renamed Legal Desk' WHERE id = $1",
            expected["hits"][0]["service"]["id"],
        )
        during = await client.get(SEARCH, params=params, headers=officer)
        assert during.status_code == 200
        assert during.json()["hits"][0]["service"]["name"] == "Fictional Renamed Legal Desk"
        for _ in range(200):
            if index.ready:
                break
            await asyncio.sleep(0.05)
        assert index.ready
        after = await client.get(SEARCH, params=params, headers=officer)
        assert after.json() == during.json()
    finally:
        await conn.close()


async def test_the_server_freezes_its_heap_once_started_with_the_index_loaded(
    demo_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded_when_frozen: list[bool] = []
    settings = Settings(database_url=demo_db, pool_min_size=1, pool_max_size=2)
    app = create_app(settings, demo_db, freeze_heap=True)

    def freeze() -> None:
        loaded_when_frozen.append(app.state.search_index.ready)

    monkeypatch.setattr(gc, "freeze", freeze)
    async with AsyncTestClient(app=app):
        pass
    assert loaded_when_frozen == [True]
    plain = create_app(settings, demo_db)
    async with AsyncTestClient(app=plain):
        pass
    assert loaded_when_frozen == [True]  # tests and tools build apps without freezing
