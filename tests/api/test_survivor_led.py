"""``survivor_led=true|false`` filters the search (from memory and by SQL, alike) and the
registry's lists of organisations and services (issue 14, item 5)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.settings import Settings
from tests.api.hold_factories import Client, sql
from tests.api.referral_factories import token

SEARCH = "/api/v1/services/search"
FROM_BELGRADE = {"lat": "44.8", "lon": "20.46", "participant": "any", "limit": "100"}


@pytest.fixture(params=[True, False], ids=["index", "sql"])
async def searcher(demo_db: str, request: pytest.FixtureRequest) -> AsyncIterator[Client]:
    """The app answering searches from its in-memory index, or by the SQL statement."""
    settings = Settings(
        database_url=demo_db, pool_min_size=1, pool_max_size=4, search_index=request.param
    )
    async with AsyncTestClient(app=create_app(settings, demo_db)) as test_client:
        yield test_client


async def _led(db: str) -> set[str]:
    rows = await sql(
        db,
        "SELECT s.id::text AS id FROM service s JOIN organization o ON o.id = s.organization_id"
        " WHERE o.survivor_led",
    )
    return {r["id"] for r in rows}


async def _search(client: Client, headers: dict[str, str], **params: str) -> Any:
    answer = await client.get(SEARCH, params=FROM_BELGRADE | params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_the_search_keeps_survivor_led_services_or_the_others(
    searcher: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    led = await _led(demo_db)
    assert led  # the demo registry has survivor-led organisations
    every = await _search(searcher, officer)
    only = await _search(searcher, officer, survivor_led="true")
    others = await _search(searcher, officer, survivor_led="false")
    assert {h["service"]["id"] for h in only["hits"]} <= led
    assert not {h["service"]["id"] for h in others["hits"]} & led
    assert only["items_page"]["total"] > 0
    total = every["items_page"]["total"]
    assert only["items_page"]["total"] + others["items_page"]["total"] == total

    # An organisation that becomes survivor-led brings its services along at once.
    [row] = await sql(
        demo_db,
        "SELECT o.id FROM organization o JOIN service s ON s.organization_id = o.id"
        " JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code"
        " WHERE NOT o.survivor_led ORDER BY o.id LIMIT 1",
    )
    await sql(demo_db, "UPDATE organization SET survivor_led = true WHERE id = $1", row["id"])
    more = await _search(searcher, officer, survivor_led="true")
    assert more["items_page"]["total"] > only["items_page"]["total"]


async def test_the_registry_lists_filter_by_survivor_led(client: Client, demo_db: str) -> None:
    funder = await token(demo_db, "funder", "RS")
    orgs = await client.get(
        "/api/v1/organizations", params={"survivor_led": "true", "limit": "200"}, headers=funder
    )
    assert orgs.status_code == 200, orgs.text
    found = orgs.json()["organizations"]
    assert found
    assert all(o["survivor_led"] for o in found)
    not_led = await client.get(
        "/api/v1/organizations", params={"survivor_led": "false", "limit": "200"}, headers=funder
    )
    assert not any(o["survivor_led"] for o in not_led.json()["organizations"])
    every = await client.get("/api/v1/organizations", params={"limit": "1"}, headers=funder)
    assert (
        orgs.json()["items_page"]["total"] + not_led.json()["items_page"]["total"]
        == every.json()["items_page"]["total"]
    )
    services = await client.get(
        "/api/v1/services", params={"survivor_led": "true", "limit": "200"}, headers=funder
    )
    assert services.status_code == 200, services.text
    ids = {s["id"] for s in services.json()["services"]}
    assert ids
    assert ids <= await _led(demo_db)
    assert services.json()["items_page"]["total"] == len(await _led(demo_db))
    bad = await client.get("/api/v1/services", params={"survivor_led": "maybe"}, headers=funder)
    assert bad.status_code == 400
    assert bad.json()["field"] == "query.survivor_led"
