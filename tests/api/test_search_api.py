"""The search over HTTP: input checks from the one statement, demand signals of empty
searches, and tokens that are cached but can be revoked."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.api.auth import TokenCache
from csomatch.app import create_app
from csomatch.db import services as svc_db
from csomatch.db.tokens import create_token, revoke_token
from csomatch.domain import Principal
from csomatch.search.demand import empty_search_signals, normalised_query
from csomatch.settings import Settings
from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
SEARCH = "/api/v1/services/search"
BELGRADE = "RS-792680"
# No demo service is child-only accommodation for men in Belgrade with Arabic.
EMPTY = {
    "area": BELGRADE, "code": ["ACC.CHILD", "ACC.SECURE"], "gender": "male", "language": "ar",
    "radius_km": 5,
}  # fmt: skip


async def signals_of(db_url: str) -> list[asyncpg.Record]:
    """The signals searches recorded (not the demo's synthetic demand, keyed ``demo:...``)."""
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetch(
            "SELECT kind, source, participant_code, area_code, taxonomy_code, dedup_key"
            " FROM demand_signal WHERE source = 'search' AND dedup_key NOT LIKE 'demo:%'"
            " ORDER BY taxonomy_code, id"
        )
    finally:
        await conn.close()


async def wait_for_signals(db_url: str, n: int) -> list[asyncpg.Record]:
    """The signals, once ``n`` are there (they are written just after the answer)."""
    for _ in range(50):
        rows = await signals_of(db_url)
        if len(rows) >= n:
            return rows
        await asyncio.sleep(0.05)
    return await signals_of(db_url)


async def test_the_demo_demand_is_not_counted_as_searches(demo_db: str) -> None:
    assert await signals_of(demo_db) == []


async def test_unknown_area_and_later_unknown_code_name_their_parameter(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    area = await client.get(SEARCH, params={"area": "RS-1"}, headers=officer)
    assert area.status_code == 422
    assert area.json()["field"] == "query.area"
    assert "RS-1" in area.json()["detail"]
    code = await client.get(
        SEARCH, params={"area": BELGRADE, "code": ["LEGAL.AID", "LEGAL"]}, headers=officer
    )
    assert code.status_code == 422
    assert code.json()["field"] == "query.code[1]"
    half = await client.get(SEARCH, params={"lat": 44.8}, headers=officer)
    assert (half.status_code, half.json()["field"]) == (422, "query.lon")


async def test_an_empty_coded_search_records_one_signal_per_code_once_a_day(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    first = await client.get(SEARCH, params=EMPTY, headers=officer)
    assert first.status_code == 200, first.text
    assert first.json()["items_page"]["total"] == 0
    rows = await wait_for_signals(demo_db, 2)
    assert [
        (r["kind"], r["source"], r["participant_code"], r["area_code"], r["taxonomy_code"])
        for r in rows
    ] == [
        ("search_empty", "search", "RS", BELGRADE, "ACC.CHILD"),
        ("search_empty", "search", "RS", BELGRADE, "ACC.SECURE"),
    ]
    # The same search again, in another order and another page: counted once.
    again = {**EMPTY, "code": ["ACC.SECURE", "ACC.CHILD"], "offset": 20}
    assert (await client.get(SEARCH, params=again, headers=officer)).status_code == 200
    # Another token's identical search is another searcher's demand.
    other = await make_token(demo_db, "officer")
    assert (await client.get(SEARCH, params=EMPTY, headers=other)).status_code == 200
    rows = await wait_for_signals(demo_db, 4)
    await asyncio.sleep(0.2)
    assert len(await signals_of(demo_db)) == 4


async def test_searches_that_find_something_or_name_no_code_record_nothing(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    found = await client.get(
        SEARCH, params={"area": BELGRADE, "code": "PSY.COUNSEL"}, headers=officer
    )
    assert found.json()["items_page"]["total"] > 0
    uncoded = await client.get(
        SEARCH, params={"lat": 44.8, "lon": 20.4, "radius_km": 0.001}, headers=officer
    )
    assert uncoded.json()["items_page"]["total"] == 0
    await asyncio.sleep(0.3)
    assert await signals_of(demo_db) == []


async def test_a_point_search_is_attributed_to_the_nearest_towns_participant(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    # Every participant: a search that keeps to the caller's counts as the caller's demand.
    point = {k: v for k, v in EMPTY.items() if k != "area"} | {
        "lat": 41.33, "lon": 19.82, "participant": "any",
    }  # fmt: skip
    assert (await client.get(SEARCH, params=point, headers=officer)).status_code == 200
    rows = await wait_for_signals(demo_db, 2)
    assert {(r["participant_code"], r["area_code"]) for r in rows} == {("AL", None)}


def test_the_dedup_key_ignores_order_repetition_and_page() -> None:
    f = svc_db.SearchFilter(
        area=BELGRADE, radius_km=5.0, codes=["ACC.CHILD", "ACC.SECURE"], participant=None,
        language="ar", gender="male", age_band=None, unaccompanied_minor=None,
        accompanied_child=None, available_only=False,
        stale_after_hours=72.0, limit=20, offset=0,
    )  # fmt: skip
    g = svc_db.SearchFilter(
        **{
            **{n: getattr(f, n) for n in f.__struct_fields__},
            "codes": ["ACC.SECURE", "ACC.CHILD", "ACC.CHILD"],
            "offset": 40,
            "limit": 10,
        }
    )
    assert normalised_query(f) == normalised_query(g)
    token, day = uuid.uuid4(), dt.date(2026, 12, 1)
    a = empty_search_signals(token, f, participant="RS", area_code=BELGRADE, today=day)
    b = empty_search_signals(token, g, participant="RS", area_code=BELGRADE, today=day)
    assert [s.dedup_key for s in a] == [s.dedup_key for s in b]
    assert len({s.dedup_key for s in a}) == 2
    tomorrow = empty_search_signals(
        token, f, participant="RS", area_code=BELGRADE, today=day + dt.timedelta(days=1)
    )
    assert {s.dedup_key for s in tomorrow}.isdisjoint({s.dedup_key for s in a})


def _record() -> Principal:
    return Principal(id=uuid.uuid4(), role="officer", jurisdiction="RS", organization_id=None)


def test_the_token_cache_forgets_after_its_ttl_and_stays_bounded() -> None:
    now = [100.0]
    cache = TokenCache(10.0, max_entries=2, clock=lambda: now[0])
    rec = _record()
    cache.put(b"a", rec)
    now[0] = 109.9
    assert cache.get(b"a") == rec
    now[0] = 110.0
    assert cache.get(b"a") is None  # revoked in the database? now it is asked again
    cache.put(b"a", rec)
    cache.put(b"b", rec)
    cache.put(b"c", rec)
    assert (cache.get(b"a"), cache.get(b"c")) == (None, rec)  # the oldest went first
    off = TokenCache(0.0)
    off.put(b"a", rec)
    assert off.get(b"a") is None


@pytest.fixture
async def uncached(demo_db: str) -> AsyncIterator[Client]:
    """The app with the token cache off: every request asks the database."""
    settings = Settings(
        database_url=demo_db, pool_min_size=1, pool_max_size=2, token_cache_seconds=0.0
    )
    app = create_app(settings, demo_db)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def test_a_revoked_token_is_refused(uncached: Client, demo_db: str) -> None:
    conn = await asyncpg.connect(demo_db)
    try:
        by_id, record = await create_token(
            conn, role="officer", jurisdiction="RS", organization_id=None, label="t"
        )
        by_secret, _ = await create_token(
            conn, role="officer", jurisdiction="RS", organization_id=None, label="t"
        )
        params = {"area": BELGRADE, "limit": 1}
        for secret in (by_id, by_secret):
            ok = await uncached.get(
                SEARCH, params=params, headers={"Authorization": f"Bearer {secret}"}
            )
            assert ok.status_code == 200
        assert await revoke_token(conn, token_id=record.id) is not None
        assert await revoke_token(conn, secret=by_secret) is not None
        assert await revoke_token(conn, secret=by_secret) is None  # already revoked
    finally:
        await conn.close()
    for secret in (by_id, by_secret):
        refused = await uncached.get(
            SEARCH, params=params, headers={"Authorization": f"Bearer {secret}"}
        )
        assert refused.status_code == 401
