"""The closed loop over HTTP: suggestions, a hold, the provider's inbox, accept or decline,
confirm, in service, closed; expiry and escalation; a transnational referral."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.referrals.sweeper import sweep
from csomatch.settings import Settings
from tests.api.referral_factories import idem, referral_body, service_with_free_places, token

Client = AsyncTestClient  # type: ignore[type-arg]


async def _post(client: Client, path: str, headers: dict[str, str], body: Any = None) -> Any:
    answer = await client.post(path, json=body, headers=headers | idem())
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def _matched_referral(client: Client, officer: dict[str, str], **overrides: Any) -> str:
    ref = await _post(client, "/api/v1/referrals", officer, referral_body(**overrides))
    await _post(client, f"/api/v1/referrals/{ref['id']}/transitions", officer, {"to": "submitted"})
    matched = await _post(client, f"/api/v1/referrals/{ref['id']}/suggestions", officer)
    assert matched["state"] == "matched"
    return str(ref["id"])


async def _db(db_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_the_closed_loop_from_hold_to_placed(client: Client, demo_db: str) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 2)
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    other_provider_org = (
        await _db(demo_db, "SELECT id FROM organization WHERE id <> $1 LIMIT 1", org_id)
    )[0]["id"]
    other_provider = await token(demo_db, "provider", org=other_provider_org)
    ref_id = await _matched_referral(client, officer, nationality=None)
    hold = await _post(
        client, f"/api/v1/referrals/{ref_id}/holds", officer,
        {"service_id": str(service_id), "places": 1},
    )  # fmt: skip
    assert hold["status"] == "held"
    inbox = (await client.get("/api/v1/offers", headers=provider)).json()["offers"]
    assert [o["id"] for o in inbox] == [hold["id"]]
    offer = inbox[0]
    assert "nationality" not in offer
    assert "excluded_areas" not in offer
    assert offer["needs"] == [{"code": "ACC.EMERG", "priority": "must"}]
    assert (await client.get("/api/v1/offers", headers=other_provider)).json()["offers"] == []
    refused = await client.post(
        f"/api/v1/offers/{hold['id']}/accept", headers=other_provider | idem()
    )
    assert refused.status_code == 404
    await _post(client, f"/api/v1/offers/{hold['id']}/accept", provider)
    path = f"/api/v1/referrals/{ref_id}/transitions"
    assert (await _post(client, path, officer, {"to": "confirmed"}))["state"] == "confirmed"
    # the provider gets its offer view back, with the placement's state, never the referral
    in_service = await _post(client, path, provider, {"to": "in_service"})
    assert (in_service["id"], in_service["referral_state"]) == (hold["id"], "in_service")
    assert not {"profile", "offers", "nationality", "excluded_areas"} & set(in_service)
    closed = await _post(client, path, provider, {"to": "closed", "outcome": "placed"})
    assert (closed["referral_state"], closed["outcome"]) == ("closed", "placed")
    assert set(closed) == set(inbox[0])
    [cap] = await _db(
        demo_db, "SELECT available, held FROM service_capacity WHERE service_id = $1", service_id
    )
    assert (cap["available"], cap["held"]) == (1, 0)
    [track] = await _db(
        demo_db, "SELECT offers, accepted FROM service_track_record WHERE service_id = $1",
        service_id,
    )  # fmt: skip
    assert (track["offers"], track["accepted"]) == (1, 1)
    events = await _db(
        demo_db, "SELECT event_type FROM outbox_event WHERE object_id = $1 ORDER BY id",
        uuid.UUID(ref_id),
    )  # fmt: skip
    assert [e["event_type"] for e in events] == [
        "referral.draft", "referral.submitted", "referral.matched", "referral.offered",
        "referral.accepted", "referral.confirmed", "referral.in_service", "referral.closed",
    ]  # fmt: skip


async def test_a_hold_answers_409_with_the_free_count(client: Client, demo_db: str) -> None:
    service_id, _ = await service_with_free_places(demo_db, 1)
    officer = await token(demo_db, "officer", agency="RS police")
    ref_id = await _matched_referral(client, officer)
    answer = await client.post(
        f"/api/v1/referrals/{ref_id}/holds",
        json={"service_id": str(service_id), "places": 2},
        headers=officer | idem(),
    )
    assert answer.status_code == 409
    assert answer.json()["free_places"] == 1
    after = (await client.get(f"/api/v1/referrals/{ref_id}", headers=officer)).json()
    assert (after["state"], after["offers"]) == ("matched", [])


async def test_a_decline_for_no_capacity_doubts_the_number_and_suggests_the_next(
    client: Client, demo_db: str
) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 3)
    await service_with_free_places(demo_db, 3, nth=1)  # the next one, also in Serbia
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    ref_id = await _matched_referral(client, officer)
    hold = await _post(
        client, f"/api/v1/referrals/{ref_id}/holds", officer, {"service_id": str(service_id)}
    )
    bad = await client.post(
        f"/api/v1/offers/{hold['id']}/decline", json={"reason": "too full"},
        headers=provider | idem(),
    )  # fmt: skip
    assert bad.status_code == 400
    declined = await _post(
        client, f"/api/v1/offers/{hold['id']}/decline", provider, {"reason": "no_capacity"}
    )
    assert (declined["status"], declined["decline_reason"]) == ("declined", "no_capacity")
    ref = (await client.get(f"/api/v1/referrals/{ref_id}", headers=officer)).json()
    assert ref["state"] == "declined"
    assert ref["offers"][0]["answered_by_role"] == "provider"
    assert ref["next_service_id"] not in (None, str(service_id))
    [cap] = await _db(
        demo_db,
        "SELECT held, update_requested_at, updated_at < now() - interval '71 hours' AS stale"
        " FROM service_capacity WHERE service_id = $1",
        service_id,
    )
    assert cap["held"] == 0
    assert cap["update_requested_at"] is not None
    assert cap["stale"]
    signals = await _db(
        demo_db,
        "SELECT reason FROM demand_signal WHERE kind = 'decline_no_capacity' AND dedup_key = $1",
        hashlib.sha256(f"offer-decline:{hold['id']}".encode()).hexdigest(),
    )
    assert [s["reason"] for s in signals] == ["no_capacity"]
    again = await client.post(
        f"/api/v1/referrals/{ref_id}/holds", json={"service_id": str(service_id)},
        headers=officer | idem(),
    )  # fmt: skip
    assert again.status_code == 409
    assert again.json()["free_places"] is None


async def test_an_unanswered_offer_expires_frees_its_places_and_is_escalated(
    client: Client, demo_db: str
) -> None:
    service_id, _ = await service_with_free_places(demo_db, 1)
    await service_with_free_places(demo_db, 1, nth=1)  # the next one, also in Serbia
    officer = await token(demo_db, "officer", agency="RS police")
    coordinator = await token(demo_db, "coordinator")
    ref_id = await _matched_referral(client, officer)
    hold = await _post(
        client, f"/api/v1/referrals/{ref_id}/holds", officer, {"service_id": str(service_id)}
    )
    # The clock moves on: the offer's time is up (the database decides with now()).
    await _db(
        demo_db,
        "UPDATE referral_hold SET created_at = now() - interval '2 hours',"
        " expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(hold["id"]),
    )
    # Before any sweep, the expired hold no longer counts: another referral can take the place.
    other = await _matched_referral(client, officer)
    await _post(
        client, f"/api/v1/referrals/{other}/holds", officer, {"service_id": str(service_id)}
    )
    conn = await asyncpg.connect(demo_db)
    try:
        report = await sweep(conn, Settings())
    finally:
        await conn.close()
    assert report.expired_offers == 1
    ref = (await client.get(f"/api/v1/referrals/{ref_id}", headers=officer)).json()
    assert ref["state"] == "expired"
    assert ref["offers"][0]["status"] == "expired"
    assert ref["next_service_id"] not in (None, str(service_id))
    escalated = (await client.get("/api/v1/offers/escalated", headers=coordinator)).json()
    assert [o["id"] for o in escalated["offers"]] == [hold["id"]]
    [cap] = await _db(
        demo_db, "SELECT available, held FROM service_capacity WHERE service_id = $1", service_id
    )
    assert (cap["available"], cap["held"]) == (1, 1)


async def test_a_transnational_referral_is_seen_by_the_receiving_coordinator(
    client: Client, demo_db: str
) -> None:
    service_id, _ = await service_with_free_places(
        demo_db, 2, participant="AL", code="RET.VOLUNTARY"
    )
    officer = await token(demo_db, "officer", agency="RS police")
    receiving = await token(demo_db, "coordinator", "AL")
    elsewhere = await token(demo_db, "coordinator", "ME")
    needs = [{"code": "RET.VOLUNTARY", "priority": "must"}]
    narrow = await client.post(
        "/api/v1/referrals",
        json=referral_body(needs=needs, receiving_participant="AL", nationality="AL"),
        headers=officer | idem(),
    )
    assert narrow.status_code == 422
    assert narrow.json()["field"] == "$.consent.scope"
    body = referral_body(needs=needs, receiving_participant="AL", nationality="AL")
    body["consent"]["scope"] = ["referral", "cross_border"]
    ref = await _post(client, "/api/v1/referrals", officer, body)
    assert ref["transnational"] is True
    await _post(client, f"/api/v1/referrals/{ref['id']}/transitions", officer, {"to": "submitted"})
    await _post(client, f"/api/v1/referrals/{ref['id']}/suggestions", officer)
    hold = await _post(
        client, f"/api/v1/referrals/{ref['id']}/holds", officer, {"service_id": str(service_id)}
    )
    assert hold["status"] == "held"
    seen = (await client.get("/api/v1/referrals", headers=receiving)).json()["referrals"]
    assert [r["id"] for r in seen] == [ref["id"]]
    assert (
        await client.get(f"/api/v1/referrals/{ref['id']}", headers=receiving)
    ).status_code == 200
    assert (
        await client.get(f"/api/v1/referrals/{ref['id']}", headers=elsewhere)
    ).status_code == 404


async def test_a_consent_override_needs_a_second_person(client: Client, demo_db: str) -> None:
    coordinator = await token(demo_db, "coordinator")
    second = await token(demo_db, "coordinator")
    body = referral_body(
        consent=None,
        consent_override={"reason": "imminent_danger", "scope": ["referral"]},
    )
    ref = await _post(client, "/api/v1/referrals", coordinator, body)
    path = f"/api/v1/referrals/{ref['id']}"
    early = await client.post(
        path + "/transitions", json={"to": "submitted"}, headers=coordinator | idem()
    )
    assert early.status_code == 422
    self_approval = await client.post(path + "/override-approval", headers=coordinator | idem())
    assert self_approval.status_code == 403
    approved = await _post(client, path + "/override-approval", second)
    assert approved["profile"]["consent_override"]["approved"] is True
    submitted = await _post(client, path + "/transitions", coordinator, {"to": "submitted"})
    assert submitted["state"] == "submitted"
    actions = await _db(
        demo_db, "SELECT action, outcome FROM audit_event WHERE object_id = $1 ORDER BY seq",
        ref["id"],
    )  # fmt: skip
    assert ("referral.override_approve", "forbidden") in [tuple(a) for a in actions]
    assert ("referral.override_approve", "ok") in [tuple(a) for a in actions]


async def test_the_server_sweeps_expired_offers_by_itself(demo_db: str) -> None:
    settings = Settings(database_url=demo_db, pool_min_size=1, pool_max_size=4, sweep_seconds=0.2)
    service_id, _ = await service_with_free_places(demo_db, 1)
    officer = await token(demo_db, "officer", agency="RS police")
    async with AsyncTestClient(app=create_app(settings, demo_db)) as client:
        ref_id = await _matched_referral(client, officer)
        hold = await _post(
            client, f"/api/v1/referrals/{ref_id}/holds", officer, {"service_id": str(service_id)}
        )
        await _db(
            demo_db,
            "UPDATE referral_hold SET created_at = now() - interval '2 hours',"
            " expires_at = now() - interval '1 second' WHERE id = $1",
            uuid.UUID(hold["id"]),
        )
        state = "offered"
        for _ in range(100):
            await asyncio.sleep(0.1)
            ref = (await client.get(f"/api/v1/referrals/{ref_id}", headers=officer)).json()
            state = ref["state"]
            if state == "expired":
                break
        assert state == "expired"
    [cap] = await _db(
        demo_db, "SELECT held FROM service_capacity WHERE service_id = $1", service_id
    )
    assert cap["held"] == 0


async def test_a_hold_for_a_family_takes_the_whole_group_or_is_refused(
    client: Client, demo_db: str
) -> None:
    service_id, _ = await service_with_free_places(demo_db, 5)
    await _db(
        demo_db,
        "UPDATE service SET accepts_families = true, accepts_accompanied_children = true,"
        " max_group_size = 6, age_bands = age_bands || ARRAY['0-5', '6-13'] WHERE id = $1",
        service_id,
    )
    officer = await token(demo_db, "officer", agency="RS police")
    family = {"group_adults": 1, "group_children_age_bands": ["0-5", "6-13"]}
    ref_id = await _matched_referral(client, officer, **family)
    path = f"/api/v1/referrals/{ref_id}/holds"
    split = await client.post(
        path, json={"service_id": str(service_id), "places": 1}, headers=officer | idem()
    )
    assert split.status_code == 422
    assert split.json()["field"] == "$.places"
    assert "group of 3" in split.json()["detail"]
    hold = await _post(client, path, officer, {"service_id": str(service_id)})
    assert hold["places"] == 3  # the whole group by default


async def test_a_referral_is_suggested_only_services_it_may_hold(
    client: Client, demo_db: str
) -> None:
    await service_with_free_places(demo_db, 2)
    await service_with_free_places(demo_db, 2, nth=1)
    officer = await token(demo_db, "officer", agency="RS police")
    needs = [{"code": "ACC.EMERG", "priority": "must"}, {"code": "LEGAL.AID", "priority": "should"}]
    ref = await _post(client, "/api/v1/referrals", officer, referral_body(needs=needs))
    await _post(client, f"/api/v1/referrals/{ref['id']}/transitions", officer, {"to": "submitted"})
    matched = await _post(client, f"/api/v1/referrals/{ref['id']}/suggestions", officer)
    # Services over the border are eligible by the matcher's rules, but a referral within
    # Serbia is placed in Serbia: only what a hold would take is suggested.
    offered = [s for need in matched["needs"] for s in need["suggestions"]]
    assert offered
    assert {s["participant"] for s in offered} == {"RS"}
    first = matched["needs"][0]["suggestions"][0]
    hold = await _post(
        client, f"/api/v1/referrals/{ref['id']}/holds", officer, {"service_id": first["service_id"]}
    )
    assert hold["status"] == "held"
