"""A handover on the record: the service's duty phone and a confidential shelter's address
reach the referring officer only while the placement is active (each read audited), and the
provider sees the referring agency and its duty phone."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from csomatch.db.tokens import create_token
from tests.api.hold_factories import Client, hold, matched_referral, post_ok, sql
from tests.api.referral_factories import idem, token
from tests.api.test_registry_api import SHELTER, SHELTER_ORG
from tests.api.test_registry_writes import _location_of, service_body

AGENCY_PHONE = "+381115550199"


async def _officer_of_an_agency(client: Client, db: str) -> tuple[dict[str, str], str]:
    """An officer whose token names a new agency record; (headers, agency name)."""
    coordinator = await token(db, "coordinator", "RS")
    body = {"jurisdiction": "RS", "name": "Police directorate, Belgrade (demo)",
            "duty_phone": "+381 11 555 0199"}  # fmt: skip
    made = await post_ok(client, "/api/v1/agencies", coordinator, body)
    conn = await asyncpg.connect(db)
    try:
        secret, _ = await create_token(
            conn, role="officer", jurisdiction="RS", organization_id=None, label="test",
            agency=made["name"], agency_id=uuid.UUID(made["id"]),
        )  # fmt: skip
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {secret}"}, made["name"]


async def _shelter_with_places(db: str) -> None:
    await sql(
        db,
        "INSERT INTO service_capacity (service_id, unit, maximum, available, updated_at)"
        " VALUES ($1, 'bed', 5, 5, now()) ON CONFLICT (service_id) DO UPDATE"
        " SET maximum = 5, available = 5, updated_at = now()",
        SHELTER,
    )
    await sql(db, "UPDATE service SET accepting_referrals = true WHERE id = $1", SHELTER)


def _mine(offers: list[dict[str, Any]], offer_id: str) -> dict[str, Any]:
    [found] = [o for o in offers if o["id"] == offer_id]
    return found


async def test_the_contacts_show_while_the_placement_is_active_and_each_read_is_audited(
    client: Client, demo_db: str
) -> None:
    await _shelter_with_places(demo_db)
    [shelter] = await sql(
        demo_db,
        "SELECT l.address, s.duty_phone FROM service s JOIN location l ON l.id = s.location_id"
        " WHERE s.id = $1 AND l.confidential",
        SHELTER,
    )
    assert shelter["address"]
    assert shelter["duty_phone"]  # the demo's fictional number
    officer, agency = await _officer_of_an_agency(client, demo_db)
    provider = await token(demo_db, "provider", org=SHELTER_ORG)
    ref_id = await matched_referral(client, officer, gender="male")
    offer = await hold(client, officer, ref_id, SHELTER)
    path = f"/api/v1/referrals/{ref_id}/handover"
    inbox = "/api/v1/offers?status={}"

    async def contact() -> Any:
        return await client.get(path, headers=officer)

    # Held, then accepted: nothing yet, on either side.
    assert (await contact()).status_code == 409
    seen = _mine((await client.get(inbox.format("held"), headers=provider)).json()["offers"],
                 offer["id"])  # fmt: skip
    assert (seen["referring_agency"], seen["referring_agency_duty_phone"]) == (None, None)
    await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    assert (await contact()).status_code == 409

    transitions = f"/api/v1/referrals/{ref_id}/transitions"
    await post_ok(client, transitions, officer, {"to": "confirmed"})
    shown = await contact()
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert (body["address"], body["duty_phone"]) == (shelter["address"], shelter["duty_phone"])
    assert body["confidential"] is True
    placed = _mine(
        (await client.get(inbox.format("confirmed"), headers=provider)).json()["offers"],
        offer["id"],
    )
    assert (placed["referring_agency"], placed["referring_agency_duty_phone"]) == (
        agency, AGENCY_PHONE,
    )  # fmt: skip

    # Someone else never sees them: another officer, the coordinator by this route.
    for other in (await token(demo_db, "officer", agency="RS police"),
                  await token(demo_db, "coordinator", "RS")):  # fmt: skip
        assert (await client.get(path, headers=other)).status_code == 404
    assert (await client.get(path, headers=provider)).status_code == 403

    await post_ok(client, transitions, provider, {"to": "in_service"})
    assert (await contact()).status_code == 200
    await post_ok(client, transitions, provider, {"to": "closed", "outcome": "placed"})
    # Closed: hidden again, on both sides.
    assert (await contact()).status_code == 409
    closed = _mine(
        (await client.get(inbox.format("confirmed"), headers=provider)).json()["offers"],
        offer["id"],
    )
    assert (closed["referring_agency"], closed["referring_agency_duty_phone"]) == (None, None)

    log = await client.get(
        f"/api/v1/referrals/{ref_id}/access-log?limit=200",
        headers=await token(demo_db, "coordinator", "RS"),
    )
    assert log.status_code == 200, log.text
    reads = [e for e in log.json()["events"] if e["action"] == "placement.contact"]
    assert [e["role"] for e in reads] == ["officer", "officer"]


async def test_a_confidential_shelters_phone_follows_its_address(
    client: Client, demo_db: str
) -> None:
    path = f"/api/v1/services/{SHELTER}"
    officer = await token(demo_db, "officer", agency="RS police")
    hidden = (await client.get(path, headers=officer)).json()
    assert (hidden["location"]["address"], hidden["duty_phone"]) == (None, None)
    coordinator = await token(demo_db, "coordinator", "RS")
    shown = (await client.get(path, headers=coordinator)).json()
    assert shown["location"]["address"]
    assert shown["duty_phone"].startswith("+381")
    # A site that is not confidential shows its duty phone to everyone.
    [open_site] = await sql(
        demo_db,
        "SELECT s.id FROM service s JOIN location l ON l.id = s.location_id"
        " WHERE NOT l.confidential AND s.duty_phone IS NOT NULL ORDER BY s.id LIMIT 1",
    )
    seen = (await client.get(f"/api/v1/services/{open_site['id']}", headers=officer)).json()
    assert seen["duty_phone"].startswith("+")


async def test_a_services_duty_phone_is_checked_and_kept_as_e164(
    client: Client, demo_db: str
) -> None:
    coordinator = await token(demo_db, "coordinator", "RS")
    location = await _location_of(demo_db)
    bad = service_body(str(SHELTER_ORG), location, duty_phone="0800 HELP")
    refused = await client.post("/api/v1/services", json=bad, headers=coordinator | idem())
    assert refused.status_code == 422
    assert refused.json()["field"] == "$.duty_phone"
    good = service_body(str(SHELTER_ORG), location, duty_phone="+381 11 555 0142")
    made = await client.post("/api/v1/services", json=good, headers=coordinator | idem())
    assert made.status_code == 201, made.text
    assert made.json()["duty_phone"] == "+381115550142"
    changed = await client.patch(
        f"/api/v1/services/{made.json()['id']}", json={"duty_phone": "+381 21 555 0143"},
        headers=coordinator,
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.json()["duty_phone"] == "+381215550143"
