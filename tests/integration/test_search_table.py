"""The search's narrow table on a real PostgreSQL: it follows every change it depends on, and
the chord-and-range search finds exactly what a plain great-circle filter finds.

Every test runs twice: with the SQL statement, and with the in-memory search index started
before the changes (so that it learns of each one by notification, as a server does)."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest
from tests.integration.test_registry_queries import (
    BELGRADE,
    NIS,
    TIRANA,
    add_service,
    search_filter,
    seed_reference,
)

from csomatch.db import organizations as org_db
from csomatch.db import services as svc_db
from csomatch.domain import AddressScope
from csomatch.search.index import SearchIndex

Search = Callable[[svc_db.SearchFilter], Awaitable[svc_db.SearchPage]]


@pytest.fixture(name="search", params=["sql", "index"])
async def search_either_way(
    request: pytest.FixtureRequest, db_url: str, conn: asyncpg.Connection
) -> AsyncIterator[Search]:
    """The search: the statement, or the index (brought up to date before each answer)."""
    if request.param == "sql":

        async def by_sql(f: svc_db.SearchFilter) -> svc_db.SearchPage:
            return await svc_db.search_services(conn, f)

        yield by_sql
        return
    index = SearchIndex(db_url)
    await index.start()
    assert index.ready

    async def by_index(f: svc_db.SearchFilter) -> svc_db.SearchPage:
        assert await index.sync()
        return index.search(f)

    try:
        yield by_index
    finally:
        await index.close()


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


async def ids(search: Search, **overrides: object) -> list[uuid.UUID]:
    page = await search(search_filter(**overrides))
    return [r.service.id for r in page.rows]


async def test_the_table_follows_capacity_eligibility_and_pauses(
    conn: asyncpg.Connection, search: Search
) -> None:
    await seed_reference(conn)
    sid = await add_service(conn, NIS, available=0)
    assert await ids(search, available_only=True) == []
    cap = await svc_db.get_capacity(conn, sid)
    assert cap is not None
    await svc_db.upsert_capacity(
        conn, sid, unit="bed", maximum=10, available=4, expected_version=cap.version
    )
    assert await ids(search, available_only=True) == [sid]
    # `held` is the live holds' count (0010's trigger recounts it on every write); this test
    # of the search table stands in four held places without making four referrals.
    await conn.execute("ALTER TABLE service_capacity DISABLE TRIGGER capacity_recount_held")
    await conn.execute("UPDATE service_capacity SET held = 4 WHERE service_id = $1", sid)
    assert await ids(search, available_only=True) == []  # all four places are held
    await conn.execute("UPDATE service_capacity SET held = 0 WHERE service_id = $1", sid)
    await conn.execute("ALTER TABLE service_capacity ENABLE TRIGGER capacity_recount_held")

    await svc_db.update_service(
        conn, sid, {"languages": ["sq"], "taxonomy_code": "LEGAL.AID"}, None
    )
    assert await ids(search, language="sq", codes=["LEGAL.AID"]) == [sid]
    assert await ids(search, codes=["ACC.EMERG"]) == []

    org_id = await conn.fetchval("SELECT organization_id FROM service WHERE id = $1", sid)
    await org_db.update_organization(conn, org_id, {"accepting_referrals": False}, None)
    assert await ids(search, available_only=True) == []  # paused organisation
    assert await ids(search) == [sid]  # still found without ``available``
    await org_db.update_organization(conn, org_id, {"accepting_referrals": True}, None)
    assert await ids(search, available_only=True) == [sid]

    await conn.execute("DELETE FROM service_capacity WHERE service_id = $1", sid)
    assert await ids(search, available_only=True) == []  # no number: unknown, not free


async def test_the_table_follows_a_site_that_moves_or_turns_confidential(
    conn: asyncpg.Connection, search: Search
) -> None:
    await seed_reference(conn)
    sid = await add_service(conn, NIS)
    loc_id = await conn.fetchval("SELECT location_id FROM service WHERE id = $1", sid)
    await conn.execute(
        "UPDATE location SET area_code = $2, latitude = $3, longitude = $4 WHERE id = $1",
        loc_id, TIRANA.code, TIRANA.latitude + 0.02, TIRANA.longitude,
    )  # fmt: skip
    assert await ids(search, participant="AL") == [sid]
    near_tirana = await search(search_filter(latitude=TIRANA.latitude, longitude=TIRANA.longitude))
    assert 2.0 < near_tirana.rows[0].distance_km < 2.5  # 0.02 degrees north

    await conn.execute("UPDATE location SET confidential = true WHERE id = $1", loc_id)
    hidden = await search(search_filter(latitude=TIRANA.latitude, longitude=TIRANA.longitude))
    assert hidden.rows[0].distance_km == 0.0  # measured to the municipality's centre
    revealed = await search(
        search_filter(
            latitude=TIRANA.latitude, longitude=TIRANA.longitude,
            address_scope=AddressScope(participant="AL"),
        ),
    )  # fmt: skip
    assert revealed.rows[0].distance_km > 2.0  # Albania's own coordinators measure to the site
    other = await search(
        search_filter(
            latitude=TIRANA.latitude, longitude=TIRANA.longitude,
            address_scope=AddressScope(participant="RS"),
        ),
    )  # fmt: skip
    assert other.rows[0].distance_km == 0.0  # another participant's: the centre


async def test_chords_and_ranges_find_exactly_the_great_circle_answer(
    conn: asyncpg.Connection, search: Search
) -> None:
    await seed_reference(conn)
    rng = random.Random(7)
    sites: dict[uuid.UUID, tuple[float, float]] = {}
    for _ in range(40):
        area = rng.choice([NIS, BELGRADE, TIRANA])
        sid = await add_service(conn, area)
        lat, lon = area.latitude + rng.uniform(-1.5, 1.5), area.longitude + rng.uniform(-1.5, 1.5)
        loc_id = await conn.fetchval("SELECT location_id FROM service WHERE id = $1", sid)
        await conn.execute(
            "UPDATE location SET latitude = $2, longitude = $3 WHERE id = $1", loc_id, lat, lon
        )
        sites[sid] = (lat, lon)
    for _ in range(25):
        lat, lon = rng.uniform(40.5, 45.5), rng.uniform(18.5, 23.0)
        radius = rng.choice([None, 15.0, 60.0, 120.0, 300.0])
        page = await search(
            search_filter(latitude=lat, longitude=lon, radius_km=radius, limit=100),
        )
        every = sorted((haversine_km(lat, lon, *site), sid) for sid, site in sites.items())
        expected = [(d, sid) for d, sid in every if radius is None or d <= radius]
        assert [r.service.id for r in page.rows] == [sid for _, sid in expected]
        assert page.total == len(expected)
        for row, (d, _) in zip(page.rows, expected, strict=True):
            assert abs(row.distance_km - d) < 1e-6


async def test_the_statement_reports_unknown_codes_and_areas(
    conn: asyncpg.Connection, search: Search
) -> None:
    await seed_reference(conn)
    await add_service(conn, NIS)
    page = await search(search_filter(codes=["ACC.EMERG", "ACC", "NOPE.NOPE"]))
    assert page.unknown_codes == [1, 2]  # a group is not a service code
    by_area = await search(search_filter(latitude=None, longitude=None, area=BELGRADE.code))
    assert by_area.origin == (BELGRADE.latitude, BELGRADE.longitude)
    assert by_area.origin_participant == "RS"
    assert by_area.total == 1
    unknown = await search(search_filter(latitude=None, longitude=None, area="RS-1"))
    assert (unknown.origin, unknown.rows, unknown.total) == (None, [], 0)


async def test_participant_near_a_point(conn: asyncpg.Connection) -> None:
    await seed_reference(conn)
    assert await svc_db.participant_near(conn, 41.35, 19.8, 100.0) == "AL"
    assert await svc_db.participant_near(conn, 43.3, 21.95, 100.0) == "RS"
    assert await svc_db.participant_near(conn, 0.0, 0.0, 100.0) is None
