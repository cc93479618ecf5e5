"""The registry API over HTTP: roles, search, capacity with ETag/If-Match, problem details."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from litestar import Litestar, get
from litestar.testing import AsyncTestClient

from csomatch.api.auth import SCHEMA_PATH, authorize
from csomatch.app import create_app
from csomatch.settings import Settings
from tests.api.conftest import make_token

SHELTER_ORG = uuid.UUID("eb87e9ee-4bf0-598f-ab6d-f11b452b2005")
SHELTER = uuid.UUID("9b8ecbcd-7895-5967-9c12-31e341d4d782")  # confidential, Belgrade
OTHER_ORG = uuid.UUID("b56394d1-5f3d-56c7-8086-8f9e413e70a0")
BELGRADE = "RS-792680"

Client = AsyncTestClient  # type: ignore[type-arg]


def test_every_route_declares_who_may_call_it() -> None:
    app = create_app(Settings(), "postgresql://unused")
    handlers = [
        handler
        for route in app.routes
        if not route.path.startswith(SCHEMA_PATH)
        for handler in getattr(route, "route_handlers", [])
        # Litestar adds an OPTIONS handler to every path itself (CORS preflight).
        if handler.http_methods != {"OPTIONS"}
    ]
    assert len(handlers) >= 10
    undeclared = [h for h in handlers if not h.opt.get("roles")]
    names = [f"{sorted(h.http_methods)} {h.paths}" for h in undeclared]
    assert names == [], f"routes without an access policy: {names}"


async def test_a_route_without_a_policy_is_denied() -> None:
    @get("/undeclared", sync_to_thread=False)
    def undeclared() -> str:
        return "leak"

    app = Litestar(route_handlers=[undeclared], guards=[authorize])
    async with AsyncTestClient(app=app) as bare:
        response = await bare.get("/undeclared")
    assert response.status_code == 403
    assert "leak" not in response.text


async def test_health_and_readiness(client: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200


async def test_openapi_document_is_public(client: Client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    assert "/api/v1/services/search" in response.json()["paths"]


async def test_requests_without_a_valid_token_are_refused(client: Client) -> None:
    response = await client.get("/api/v1/services")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    bad = await client.get("/api/v1/services", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


async def test_funder_may_not_search(client: Client, demo_db: str) -> None:
    funder = await make_token(demo_db, "funder")
    response = await client.get(f"/api/v1/services/search?area={BELGRADE}", headers=funder)
    assert response.status_code == 403


async def test_only_the_token_hash_is_stored(demo_db: str) -> None:
    headers = await make_token(demo_db, "officer")
    secret = headers["Authorization"].removeprefix("Bearer ")
    conn = await asyncpg.connect(demo_db)
    try:
        stored = await conn.fetch("SELECT token_hash::text AS h, label FROM api_token")
    finally:
        await conn.close()
    assert all(secret not in row["h"] for row in stored)


async def test_search_near_belgrade_sorted_by_distance(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    response = await client.get(
        "/api/v1/services/search",
        params={"area": BELGRADE, "code": "PSY.COUNSEL", "radius_km": 150, "limit": 50},
        headers=officer,
    )
    assert response.status_code == 200, response.text
    hits = response.json()["hits"]
    assert hits
    distances = [h["distance_km"] for h in hits]
    assert distances == sorted(distances)
    assert all(d <= 150 for d in distances)
    assert {h["service"]["code"] for h in hits} == {"PSY.COUNSEL"}


async def test_search_available_never_counts_stale_numbers(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    response = await client.get(
        "/api/v1/services/search",
        params={"lat": 44.0, "lon": 20.9, "available": "true", "limit": 100},
        headers=officer,
    )
    hits = response.json()["hits"]
    assert hits
    assert all(h["freshness"] in ("fresh", "aging") and h["free_places"] > 0 for h in hits)


async def test_confidential_shelter_shows_only_its_municipality(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    seen = (await client.get(f"/api/v1/services/{SHELTER}", headers=officer)).json()
    assert seen["location"]["confidential"] is True
    assert seen["location"]["address"] is None
    assert seen["location"]["municipality_code"] == BELGRADE
    coordinator = await make_token(demo_db, "coordinator")
    full = (await client.get(f"/api/v1/services/{SHELTER}", headers=coordinator)).json()
    assert full["location"]["address"]
    assert (full["location"]["latitude"], full["location"]["longitude"]) != (
        seen["location"]["latitude"],
        seen["location"]["longitude"],
    )


async def _put(
    client: Client, headers: dict[str, str], body: dict[str, Any], etag: str | None
) -> Any:
    extra = {"If-Match": etag} if etag is not None else {}
    return await client.put(
        f"/api/v1/services/{SHELTER}/capacity", json=body, headers={**headers, **extra}
    )


async def test_capacity_update_with_etag(client: Client, demo_db: str) -> None:
    provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
    first = await client.get(f"/api/v1/services/{SHELTER}/capacity", headers=provider)
    etag = first.headers["etag"]
    body = {"maximum": 12, "available": 5, "unit": "bed"}

    missing = await _put(client, provider, body, None)
    assert missing.status_code == 428
    ok = await _put(client, provider, body, etag)
    assert ok.status_code == 200, ok.text
    assert ok.json()["free"] == 5
    assert ok.json()["freshness"] == "fresh"
    stale = await _put(client, provider, {**body, "available": 1}, etag)
    assert stale.status_code == 412
    now = (await client.get(f"/api/v1/services/{SHELTER}/capacity", headers=provider)).json()
    assert now["available"] == 5


async def test_bad_capacity_names_the_field_and_changes_nothing(
    client: Client, demo_db: str
) -> None:
    provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
    before = await client.get(f"/api/v1/services/{SHELTER}/capacity", headers=provider)
    etag = before.headers["etag"]

    too_many = await _put(client, provider, {"maximum": 3, "available": 4}, etag)
    assert too_many.status_code == 422
    # A sentence saying what to do, never a formula.
    assert "report at most 3 as free" in too_many.json()["detail"]
    assert not set("<>=") & set(too_many.json()["detail"])
    assert too_many.json()["field"] == "$.available"

    unknown = await _put(client, provider, {"maximum": 3, "available": 1, "beds": 2}, etag)
    assert unknown.status_code == 400
    assert "beds" in unknown.json()["detail"]

    after = await client.get(f"/api/v1/services/{SHELTER}/capacity", headers=provider)
    assert after.json() == before.json()


async def test_provider_cannot_touch_another_organisations_capacity(
    client: Client, demo_db: str
) -> None:
    provider = await make_token(demo_db, "provider", org=OTHER_ORG)
    read = await client.get(f"/api/v1/services/{SHELTER}/capacity", headers=provider)
    response = await _put(client, provider, {"maximum": 12, "available": 1}, read.headers["etag"])
    assert response.status_code == 404


async def test_invalid_taxonomy_code_is_a_clear_400(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    response = await client.get(
        "/api/v1/services/search", params={"area": BELGRADE, "code": "ACC.NOPE"}, headers=officer
    )
    assert response.status_code == 422
    assert "invalid taxonomy code" in response.json()["detail"]
    assert response.json()["field"] == "query.code[0]"


async def test_lists_are_paginated(client: Client, demo_db: str) -> None:
    funder = await make_token(demo_db, "funder")
    page1 = (await client.get("/api/v1/organizations?limit=10", headers=funder)).json()
    page2 = (await client.get("/api/v1/organizations?limit=10&offset=10", headers=funder)).json()
    assert page1["items_page"]["total"] >= 90
    assert len(page1["organizations"]) == 10
    ids1 = {o["id"] for o in page1["organizations"]}
    assert ids1.isdisjoint({o["id"] for o in page2["organizations"]})
    services = (await client.get("/api/v1/services?participant=AL", headers=funder)).json()
    assert {s["location"]["participant"] for s in services["services"]} == {"AL"}


async def test_unknown_service_is_404(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    response = await client.get(f"/api/v1/services/{uuid.uuid4()}", headers=officer)
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_areas_by_name_prefix_and_by_code(client: Client, demo_db: str) -> None:
    funder = await make_token(demo_db, "funder")
    by_name = await client.get("/api/v1/areas", params={"q": "beog"}, headers=funder)
    assert by_name.status_code == 200
    by_code = await client.get(
        "/api/v1/areas",
        params={"code": ["XK-786714", "RS-1", "RS-792680", "XK-786714"]},
        headers=funder,
    )
    assert by_code.status_code == 200
    # The codes' areas in the order asked, once each; an unknown code is left out.
    assert [a["code"] for a in by_code.json()] == ["XK-786714", "RS-792680"]
    assert by_code.json()[1]["participant"] == "RS"
    too_many = await client.get(
        "/api/v1/areas", params={"code": [f"RS-{i}" for i in range(101)]}, headers=funder
    )
    assert too_many.status_code == 400
