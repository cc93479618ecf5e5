"""Creating and changing organisations, locations and services over HTTP, role by role."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import make_token
from tests.api.test_registry_api import OTHER_ORG, SHELTER, SHELTER_ORG, Client

NEW_ORG = {"participant": "RS", "name": "Fictional Linden Support Centre", "kind": "cso"}


def service_body(org_id: str, loc_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "organization_id": org_id, "location_id": loc_id, "code": "LEGAL.AID",
        "name": "Legal counselling", "genders": ["female", "male"],
        "age_bands": ["18-24", "25-59"], "languages": ["sr", "ar"],
        "capacity": {"unit": "case", "maximum": 10, "available": 4},
    }  # fmt: skip
    body.update(overrides)
    return body


async def test_coordinator_registers_an_organisation_with_a_service(
    client: Client, demo_db: str
) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    created = await client.post("/api/v1/organizations", json=NEW_ORG, headers=coord)
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    loc = await client.post(
        f"/api/v1/organizations/{org_id}/locations",
        json={"name": "Niš office", "area": "RS-787657", "latitude": 43.32, "longitude": 21.9},
        headers=coord,
    )
    assert loc.status_code == 201, loc.text
    svc = await client.post(
        "/api/v1/services", json=service_body(org_id, loc.json()["id"]), headers=coord
    )
    assert svc.status_code == 201, svc.text
    assert svc.json()["capacity"]["free"] == 4
    officer = await make_token(demo_db, "officer")
    found = await client.get(
        "/api/v1/services/search",
        params={"area": "RS-787657", "code": "LEGAL.AID", "language": "ar", "radius_km": 5},
        headers=officer,
    )
    assert svc.json()["id"] in [h["service"]["id"] for h in found.json()["hits"]]


async def test_coordinator_cannot_register_in_another_jurisdiction(
    client: Client, demo_db: str
) -> None:
    coord = await make_token(demo_db, "coordinator", "AL")
    response = await client.post("/api/v1/organizations", json=NEW_ORG, headers=coord)
    assert response.status_code == 403


async def test_officer_may_not_register_organisations(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    response = await client.post("/api/v1/organizations", json=NEW_ORG, headers=officer)
    assert response.status_code == 403


async def test_provider_edits_only_its_own_services(client: Client, demo_db: str) -> None:
    mine = await make_token(demo_db, "provider", org=SHELTER_ORG)
    ok = await client.patch(
        f"/api/v1/services/{SHELTER}", json={"languages": ["sr", "en"]}, headers=mine
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["languages"] == ["sr", "en"]
    theirs = await make_token(demo_db, "provider", org=OTHER_ORG)
    denied = await client.patch(
        f"/api/v1/services/{SHELTER}", json={"languages": ["de"]}, headers=theirs
    )
    assert denied.status_code == 404
    renamed = await client.patch(
        f"/api/v1/organizations/{SHELTER_ORG}", json={"website": None}, headers=theirs
    )
    assert renamed.status_code == 404


async def test_stale_service_edit_is_refused(client: Client, demo_db: str) -> None:
    mine = await make_token(demo_db, "provider", org=SHELTER_ORG)
    version = (await client.get(f"/api/v1/services/{SHELTER}", headers=mine)).json()["version"]
    first = await client.patch(
        f"/api/v1/services/{SHELTER}",
        json={"intake_24_7": False},
        headers={**mine, "If-Match": f'"{version}"'},
    )
    assert first.status_code == 200
    second = await client.patch(
        f"/api/v1/services/{SHELTER}",
        json={"intake_24_7": True},
        headers={**mine, "If-Match": f'"{version}"'},
    )
    assert second.status_code == 412
    now = (await client.get(f"/api/v1/services/{SHELTER}", headers=mine)).json()
    assert now["intake_24_7"] is False


async def test_bad_service_input_names_the_field(client: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    org_id = str(SHELTER_ORG)
    loc_id = (await client.get(f"/api/v1/services/{SHELTER}", headers=coord)).json()
    before = (await client.get("/api/v1/services?limit=1", headers=coord)).json()
    location_id = await _location_of(demo_db)
    bad_code = await client.post(
        "/api/v1/services",
        json=service_body(org_id, location_id, code="ACC.NOPE"),
        headers=coord,
    )
    assert bad_code.status_code == 422
    assert "invalid taxonomy code" in bad_code.json()["detail"]
    assert bad_code.json()["field"] == "$.code"
    unknown = await client.post(
        "/api/v1/services",
        json=service_body(org_id, location_id, client_name="x"),
        headers=coord,
    )
    assert unknown.status_code == 400
    assert "client_name" in unknown.json()["detail"]
    too_many = await client.post(
        "/api/v1/services",
        json=service_body(
            org_id, location_id, capacity={"unit": "bed", "maximum": 2, "available": 3}
        ),
        headers=coord,
    )
    assert too_many.status_code == 422
    assert too_many.json()["field"] == "$.capacity.available"
    after = (await client.get("/api/v1/services?limit=1", headers=coord)).json()
    assert after["items_page"]["total"] == before["items_page"]["total"]
    assert loc_id["id"] == str(SHELTER)


async def _location_of(db_url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        return str(await conn.fetchval("SELECT location_id FROM service WHERE id = $1", SHELTER))
    finally:
        await conn.close()
