"""Transnational referrals (issue 14, items 2 and 3): the receiving side's decline, the TRM
record both sides follow (focal points, consents per item, return area, timeline), return
needs ranked from the return area, and a referral kept open (and unpurged) until its last
follow-up is done or cancelled."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest

from csomatch.db.errors import translated
from csomatch.db.tokens import create_token
from csomatch.errors import InvalidInput
from csomatch.geo import haversine_km
from csomatch.referrals.retention import purge
from tests.api.hold_factories import capacity, hold, matched_referral, post_ok, sql
from tests.api.referral_factories import BELGRADE, idem, service_with_free_places, token
from tests.api.test_registry_api import Client

RETURN_NEEDS = [{"code": "RET.VOLUNTARY"}]
TODAY = dt.datetime.now(dt.UTC).date()


def _consent() -> dict[str, Any]:
    return {
        "given": True, "method": "verbal", "scope": ["referral", "cross_border"],
        "at": dt.datetime.now(dt.UTC).isoformat(),
    }  # fmt: skip


async def _transnational(client: Client, officer: dict[str, str], **more: Any) -> str:
    """A matched referral from RS (Belgrade) to AL for a voluntary return."""
    body: dict[str, Any] = {
        "needs": RETURN_NEEDS, "receiving_participant": "AL", "nationality": "AL",
        "consent": _consent(),
    }  # fmt: skip
    return await matched_referral(client, officer, **(body | more))


async def _agency(client: Client, demo_db: str, participant: str, phone: str) -> str:
    coordinator = await token(demo_db, "coordinator", participant)
    made = await post_ok(client, "/api/v1/agencies", coordinator, {
        "jurisdiction": participant, "name": f"TRM focal point {uuid.uuid4().hex[:6]}",
        "duty_phone": phone,
    })  # fmt: skip
    return str(made["id"])


async def _officer_of(demo_db: str, participant: str, agency_id: str) -> dict[str, str]:
    conn = await asyncpg.connect(demo_db)
    try:
        secret, _ = await create_token(
            conn, role="officer", jurisdiction=participant, organization_id=None, label="test",
            agency="focal", agency_id=uuid.UUID(agency_id),
        )  # fmt: skip
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {secret}"}


async def _area(demo_db: str, participant: str) -> str:
    rows = await sql(
        demo_db,
        "SELECT code FROM area WHERE participant_code = $1 ORDER BY population DESC LIMIT 1",
        participant,
    )
    return str(rows[0]["code"])


class Trm:
    """A transnational referral with focal points on both sides and a return area."""

    def __init__(self, ref: str, sending: str, receiving: str, area: str) -> None:
        self.ref, self.sending, self.receiving, self.area = ref, sending, receiving, area
        self.path = f"/api/v1/referrals/{ref}/transnational"


async def _trm(client: Client, demo_db: str, officer: dict[str, str], ref: str) -> Trm:
    found = Trm(
        ref,
        await _agency(client, demo_db, "RS", "+381 11 555 0177"),
        await _agency(client, demo_db, "AL", "+355 69 123 4567"),
        await _area(demo_db, "AL"),
    )
    answer = await client.put(found.path, headers=officer, json={
        "sending_agency_id": found.sending, "receiving_agency_id": found.receiving,
        "return_area": found.area,
        "consents": [
            {"item": "referral", "given": True, "method": "written",
             "at": dt.datetime.now(dt.UTC).isoformat()},
            {"item": "cross_border", "given": True, "method": "verbal",
             "at": dt.datetime.now(dt.UTC).isoformat()},
            {"item": "data_sharing", "given": False, "method": "verbal",
             "at": dt.datetime.now(dt.UTC).isoformat()},
        ],
    })  # fmt: skip
    assert answer.status_code == 200, answer.text
    return found


async def _step(
    client: Client, headers: dict[str, str], trm: Trm, code: str, status: str, day: dt.date | None
) -> Any:
    body: dict[str, Any] = {"code": code, "status": status}
    if day is not None:
        body["date"] = day.isoformat()
    return await client.post(f"{trm.path}/steps", json=body, headers=headers | idem())


# --- B. The receiving side declines -------------------------------------------------------


async def test_the_receiving_side_declines_back_to_submitted_with_holds_released(
    client: Client, demo_db: str
) -> None:
    service, _ = await service_with_free_places(demo_db, 2, participant="AL", code="RET.VOLUNTARY")
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await _transnational(client, officer)
    await hold(client, officer, ref, service)
    albania = await token(demo_db, "coordinator", "AL")
    _, before = await capacity(client, albania, service)
    assert before["held"] == 1
    path = f"/api/v1/referrals/{ref}/decline"

    # The referring side cancels instead; a bad reason names the field; ME cannot see it.
    serbia = await token(demo_db, "coordinator", "RS")
    refused = await client.post(path, json={"reason": "safety"}, headers=serbia | idem())
    assert refused.status_code == 403, refused.text
    assert "coordinator of AL" in refused.json()["detail"]
    bad = await client.post(path, json={"reason": "bored"}, headers=albania | idem())
    assert bad.status_code in (400, 422)
    assert bad.json()["field"] == "$.reason"
    stranger = await token(demo_db, "coordinator", "ME")
    unseen = await client.post(path, json={"reason": "safety"}, headers=stranger | idem())
    assert unseen.status_code == 404

    declined = await post_ok(client, path, albania, {"reason": "no_capacity"})
    assert declined["state"] == "submitted"
    assert declined["receiving_decline_reason"] == "no_capacity"
    assert [o["status"] for o in declined["offers"]] == ["released"]
    assert [n["state"] for n in declined["needs"]] == ["suggested"]
    _, after = await capacity(client, albania, service)
    assert after["held"] == 0
    events = await sql(
        demo_db,
        "SELECT event_type, jurisdictions FROM outbox_event WHERE object_id = $1"
        " AND event_type = 'referral.declined_by_receiving'",
        uuid.UUID(ref),
    )
    assert [sorted(e["jurisdictions"]) for e in events] == [["AL", "RS"]]
    audited = await sql(
        demo_db,
        "SELECT count(*) AS n FROM audit_event WHERE object_id = $1"
        " AND action = 'referral.declined_by_receiving' AND outcome = 'ok'",
        ref,
    )
    assert audited[0]["n"] >= 1
    # The referring side matches it again.
    again = await post_ok(client, f"/api/v1/referrals/{ref}/suggestions", officer)
    assert again["state"] == "matched"


async def test_only_a_transnational_referral_is_declined_by_a_receiving_side(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await matched_referral(client, officer)
    serbia = await token(demo_db, "coordinator", "RS")
    answer = await client.post(
        f"/api/v1/referrals/{ref}/decline", json={"reason": "other"}, headers=serbia | idem()
    )
    assert answer.status_code == 409
    assert "not transnational" in answer.json()["detail"]


# --- C. The TRM record -------------------------------------------------------------------


async def test_focal_points_and_return_area_belong_to_their_side(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await _transnational(client, officer)
    serbian = await _agency(client, demo_db, "RS", "+381 11 555 0100")
    albanian = await _agency(client, demo_db, "AL", "+355 69 765 4321")
    path = f"/api/v1/referrals/{ref}/transnational"
    tirana = await _area(demo_db, "AL")
    for body, field in (
        ({"sending_agency_id": albanian}, "$.sending_agency_id"),
        ({"receiving_agency_id": serbian}, "$.receiving_agency_id"),
        ({"receiving_agency_id": str(uuid.uuid4())}, "$.receiving_agency_id"),
        ({"return_area": BELGRADE}, "$.return_area"),
        ({"consents": [{"item": "referral", "given": True, "method": "verbal",
                        "at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()}]},
         "$.consents[0].at"),
    ):  # fmt: skip
        refused = await client.put(path, json=body, headers=officer)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == field
    # The receiving side reads it but does not set it.
    albania = await token(demo_db, "coordinator", "AL")
    assert (await client.put(path, json={}, headers=albania)).status_code == 403
    unknown = await client.put(path, json={"note": "free text"}, headers=officer)
    assert unknown.status_code == 400

    answer = await client.put(path, headers=officer, json={
        "sending_agency_id": serbian, "receiving_agency_id": albanian, "return_area": tirana,
    })  # fmt: skip
    assert answer.status_code == 200, answer.text
    record = answer.json()
    assert record["sending_focal_point"]["duty_phone"] == "+381115550100"
    assert record["receiving_focal_point"]["jurisdiction"] == "AL"
    assert record["return_area"] == tirana
    assert [(s["code"], s["status"]) for s in record["steps"]] == [
        (code, "planned")
        for code in ("risk_assessment", "documents", "escort", "arrival",
                     "follow_up_3m", "follow_up_6m", "follow_up_12m")
    ]  # fmt: skip

    # The database holds the same rule, whoever writes.
    conn = await asyncpg.connect(demo_db)
    try:
        with pytest.raises(InvalidInput) as caught:
            async with translated():
                await conn.execute(
                    "UPDATE referral_transnational SET return_area = $2 WHERE referral_id = $1",
                    uuid.UUID(ref), BELGRADE,
                )  # fmt: skip
        assert caught.value.field == "$.return_area"
    finally:
        await conn.close()


async def test_a_referral_at_home_has_no_trm_record(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await matched_referral(client, officer)
    answer = await client.get(f"/api/v1/referrals/{ref}/transnational", headers=officer)
    assert answer.status_code == 404


async def test_both_coordinators_see_one_timeline_and_steps_are_checked(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await _transnational(client, officer)
    trm = await _trm(client, demo_db, officer, ref)
    serbia = await token(demo_db, "coordinator", "RS")
    albania = await token(demo_db, "coordinator", "AL")
    focal_officer = await _officer_of(demo_db, "AL", trm.receiving)
    other_officer = await token(demo_db, "officer", "AL", agency="another")

    assert (await _step(client, serbia, trm, "risk_assessment", "done", TODAY)).status_code == 200
    arrival = await _step(client, focal_officer, trm, "arrival", "done", TODAY)
    assert arrival.status_code == 200, arrival.text
    refusals = [
        (await _step(client, albania, trm, "follow_up_3m", "planned",
                     TODAY - dt.timedelta(days=1)), "$.date", "after the arrival"),
        (await _step(client, albania, trm, "escort", "done", None), "$.date", "names the date"),
        (await _step(client, albania, trm, "documents", "done",
                     TODAY + dt.timedelta(days=3)), "$.date", "future"),
    ]  # fmt: skip
    for answer, field, words in refusals:
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == field
        assert words in answer.json()["detail"]
    bad_code = await _step(client, albania, trm, "party", "done", TODAY)
    assert bad_code.status_code == 400
    assert bad_code.json()["field"] == "$.code"
    # An officer of another agency cannot even see it.
    unseen = await _step(client, other_officer, trm, "escort", "done", TODAY)
    assert unseen.status_code == 404
    planned = await _step(client, albania, trm, "follow_up_3m", "planned",
                          TODAY + dt.timedelta(days=90))  # fmt: skip
    assert planned.status_code == 200, planned.text

    seen = []
    for headers in (serbia, albania, officer, focal_officer):
        answer = await client.get(trm.path, headers=headers)
        assert answer.status_code == 200, answer.text
        seen.append(answer.json()["steps"])
    assert all(s == seen[0] for s in seen)
    steps = {s["code"]: s for s in seen[0]}
    assert steps["arrival"]["recorded_by_agency_id"] == trm.receiving
    assert steps["risk_assessment"]["recorded_by_agency_id"] == trm.sending
    assert (steps["follow_up_3m"]["status"], steps["follow_up_3m"]["date"]) == (
        "planned", (TODAY + dt.timedelta(days=90)).isoformat(),
    )  # fmt: skip
    reads = await sql(
        demo_db,
        "SELECT count(*) AS n FROM audit_event WHERE object_id = $1"
        " AND action = 'referral.transnational.read'",
        ref,
    )
    assert reads[0]["n"] == 4


# --- D. Return area ----------------------------------------------------------------------


async def _ret_services(demo_db: str) -> list[tuple[uuid.UUID, str, float]]:
    """AL's return services (id, area, km from Belgrade), nearest to Belgrade first."""
    rows = await sql(
        demo_db,
        "SELECT s.id, a.code, a.latitude, a.longitude FROM service s"
        " JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code"
        " WHERE a.participant_code = 'AL' AND s.taxonomy_code = 'RET.VOLUNTARY' ORDER BY s.id",
    )
    home = await sql(demo_db, "SELECT latitude, longitude FROM area WHERE code = $1", BELGRADE)
    here = (home[0]["latitude"], home[0]["longitude"])
    found = [
        (r["id"], r["code"], haversine_km(here, (r["latitude"], r["longitude"]))) for r in rows
    ]
    return sorted(found, key=lambda f: f[2])


async def test_a_return_is_ranked_from_the_return_area_not_from_belgrade(
    client: Client, demo_db: str
) -> None:
    services = await _ret_services(demo_db)
    near, far = services[0], services[-1]
    assert far[2] - near[2] > 50, "the demo needs AL return services far apart"
    for nth in range(len(services)):
        await service_with_free_places(demo_db, 3, participant="AL", code="RET.VOLUNTARY", nth=nth)
    officer = await token(demo_db, "officer", agency="RS police")

    def ranked(answer: dict[str, Any]) -> list[dict[str, Any]]:
        need = next(n for n in answer["needs"] if n["code"] == "RET.VOLUNTARY")
        return list(need["suggestions"])

    # Without a return area: from Belgrade, the nearest to Belgrade first.
    plain = await _transnational(client, officer)
    from_home = ranked(await post_ok(client, f"/api/v1/referrals/{plain}/suggestions", officer))
    assert from_home[0]["distance_from"] == "current_area"
    assert from_home[0]["service_id"] == str(near[0])

    # With a return area at the far service's town: from there.
    ref = await _transnational(client, officer, return_area=far[1])
    answer = await post_ok(client, f"/api/v1/referrals/{ref}/suggestions", officer)
    from_return = ranked(answer)
    assert from_return[0]["distance_from"] == "return_area"
    assert from_return[0]["service_id"] == str(far[0])
    assert from_return[0]["distance_km"] < from_home[0]["distance_km"]
    ids = [s["service_id"] for s in from_return]
    assert ids.index(str(far[0])) < ids.index(str(near[0]))
    record = (await client.get(f"/api/v1/referrals/{ref}/transnational", headers=officer)).json()
    assert record["return_area"] == far[1]


async def test_a_return_area_outside_the_receiving_participant_is_refused(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    body = {
        "needs": RETURN_NEEDS, "receiving_participant": "AL", "nationality": "AL",
        "consent": _consent(), "return_area": BELGRADE, "current_area": BELGRADE,
        "urgency": "planned", "age_band": "25-59", "gender": "female", "languages": ["sq"],
        "jurisdiction": "RS",
    }  # fmt: skip
    answer = await client.post("/api/v1/referrals", json=body, headers=officer | idem())
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "$.return_area"


# --- E. Kept open and out of the purge until the last follow-up --------------------------


async def test_a_transnational_referral_stays_open_and_unpurged_until_its_follow_ups(
    client: Client, demo_db: str
) -> None:
    service, org = await service_with_free_places(
        demo_db, 2, participant="AL", code="RET.VOLUNTARY"
    )
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await _transnational(client, officer)
    trm = await _trm(client, demo_db, officer, ref)
    offer = await hold(client, officer, ref, service)
    provider = await token(demo_db, "provider", org=org)
    await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    path = f"/api/v1/referrals/{ref}/transitions"
    await post_ok(client, path, officer, {"to": "confirmed"})
    await post_ok(client, path, officer, {"to": "in_service"})
    # The return's service ends: the need closes, the referral does not.
    placed = await post_ok(client, path, officer, {"to": "closed", "need": 0, "outcome": "placed"})
    assert [n["state"] for n in placed["needs"]] == ["closed"]
    assert placed["state"] == "in_service"
    refused = await client.post(
        path, json={"to": "closed", "outcome": "placed"}, headers=officer | idem()
    )
    assert refused.status_code == 409
    assert "follow_up_12m" in refused.json()["detail"]

    conn = await asyncpg.connect(demo_db)
    try:
        far_future = dt.datetime.now(dt.UTC) + dt.timedelta(days=3000)
        await purge(conn, now=far_future, retention_days=1)
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM referral_profile WHERE referral_id = $1", uuid.UUID(ref)
            )
            == 1
        )
        with pytest.raises(asyncpg.IntegrityConstraintViolationError):
            await conn.execute(
                "UPDATE referral SET state = 'closed', outcome = 'placed' WHERE id = $1",
                uuid.UUID(ref),
            )
    finally:
        await conn.close()

    albania = await token(demo_db, "coordinator", "AL")
    arrived = TODAY - dt.timedelta(days=400)
    for code, day in (("arrival", arrived), ("follow_up_3m", arrived + dt.timedelta(days=91)),
                      ("follow_up_6m", arrived + dt.timedelta(days=182))):  # fmt: skip
        answer = await _step(client, albania, trm, code, "done", day)
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "in_service"
    last = await _step(client, albania, trm, "follow_up_12m", "cancelled", None)
    assert last.status_code == 200, last.text
    assert last.json()["state"] == "closed"
    closed = (await client.get(f"/api/v1/referrals/{ref}", headers=officer)).json()
    assert (closed["state"], closed["outcome"]) == ("closed", "placed")

    conn = await asyncpg.connect(demo_db)
    try:
        await purge(conn, now=far_future, retention_days=1)
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM referral_profile WHERE referral_id = $1", uuid.UUID(ref)
            )
            == 0
        )
    finally:
        await conn.close()


async def test_cancelling_a_transnational_referral_cancels_its_planned_steps(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await _transnational(client, officer)
    trm = await _trm(client, demo_db, officer, ref)
    await post_ok(
        client, f"/api/v1/referrals/{ref}/transitions", officer,
        {"to": "cancelled", "reason": "person_withdrew"},
    )  # fmt: skip
    record = (await client.get(trm.path, headers=officer)).json()
    assert {s["status"] for s in record["steps"]} == {"cancelled"}
    late = await _step(client, officer, trm, "arrival", "done", TODAY)
    assert late.status_code in (403, 409)


async def test_a_batch_places_a_return_from_the_return_area(client: Client, demo_db: str) -> None:
    services = await _ret_services(demo_db)
    near, far = services[0], services[-1]
    for nth in range(len(services)):
        await service_with_free_places(demo_db, 3, participant="AL", code="RET.VOLUNTARY", nth=nth)
    officer = await token(demo_db, "officer", agency="RS police")
    person = {
        "needs": RETURN_NEEDS, "age_band": "25-59", "gender": "female", "languages": ["sq"],
        "current_area": BELGRADE, "jurisdiction": "RS", "receiving_participant": "AL",
    }  # fmt: skip
    people = [person | {"key": "home"}, person | {"key": "away", "return_area": far[1]}]
    answer = await post_ok(client, "/api/v1/match/batch", officer, {"people": people})
    placed = {p["key"]: p["needs"][0]["assigned"] for p in answer["people"]}
    assert placed["home"]["distance_from"] == "current_area"
    assert placed["home"]["service_id"] == str(near[0])
    assert placed["away"]["distance_from"] == "return_area"
    assert placed["away"]["service_id"] == str(far[0])
