"""A care plan in one referral: every hold or none, the race for the last place, each need
followed to its end, and cancelling releases every place (issue 13, item 4)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.api.hold_factories import Client, matched_referral, post_ok, sql
from tests.api.referral_factories import idem, referral_body, service_with_free_places, token

NEEDS = [
    {"code": "ACC.EMERG", "priority": "must"},
    {"code": "PSY.COUNSEL", "priority": "must"},
    {"code": "LEGAL.AID", "priority": "should"},
]


async def _held(db: str, service_id: uuid.UUID) -> int:
    rows = await sql(db, "SELECT held FROM service_capacity WHERE service_id = $1", service_id)
    return int(rows[0]["held"])


async def _holds_of(db: str, referral_id: str) -> list[Any]:
    return await sql(
        db, "SELECT need_idx, status FROM referral_hold WHERE referral_id = $1 ORDER BY need_idx",
        uuid.UUID(referral_id),
    )  # fmt: skip


class Scene:
    """Three services (a shelter, counselling, legal aid), their providers, an officer."""

    def __init__(self, services: list[tuple[uuid.UUID, uuid.UUID]], officer: dict[str, str]):
        self.services = [s for s, _ in services]
        self.orgs = [o for _, o in services]
        self.officer = officer

    def plan(self, *indexes: int) -> dict[str, Any]:
        return {"needs": [{"index": i, "service_id": str(self.services[i])} for i in indexes]}


async def _another_provider(
    db: str, free: int, code: str, taken: set[uuid.UUID]
) -> tuple[uuid.UUID, uuid.UUID]:
    """A service of ``code`` whose provider runs none of the services chosen already."""
    for nth in range(20):
        found = await service_with_free_places(db, free, code=code, nth=nth)
        if found[1] not in taken:
            return found
    raise AssertionError(f"no {code} service of another provider")


async def _scene(db: str, free: tuple[int, int, int] = (3, 3, 3)) -> Scene:
    shelter = await service_with_free_places(db, free[0])
    counselling = await _another_provider(db, free[1], "PSY.COUNSEL", {shelter[1]})
    legal = await _another_provider(db, free[2], "LEGAL.AID", {shelter[1], counselling[1]})
    officer = await token(db, "officer", agency="RS centre for social work")
    return Scene([shelter, counselling, legal], officer)


async def test_a_plan_holds_every_need_or_nothing(client: Client, demo_db: str) -> None:
    s = await _scene(demo_db, free=(3, 0, 3))
    ref = await matched_referral(client, s.officer, needs=NEEDS)

    refused = await client.post(
        f"/api/v1/referrals/{ref}/plan", json=s.plan(0, 1, 2), headers=s.officer | idem()
    )
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["need"] == 1
    assert problem["service_id"] == str(s.services[1])
    assert problem["field"] == "$.needs[1].service_id"
    assert problem["free_places"] == 0
    assert "need 1 (PSY.COUNSEL)" in problem["detail"]
    assert "Nothing of this plan was held" in problem["detail"]
    # nothing held: no offer, no place taken, every need as it was
    assert await _holds_of(demo_db, ref) == []
    assert [await _held(demo_db, sid) for sid in s.services] == [0, 0, 0]
    got = (await client.get(f"/api/v1/referrals/{ref}", headers=s.officer)).json()
    assert got["state"] == "matched"
    assert [n["state"] for n in got["needs"]] == ["suggested"] * 3

    await sql(
        demo_db,
        "UPDATE service_capacity SET available = 2, maximum = greatest(maximum, 2)"
        " WHERE service_id = $1",
        s.services[1],
    )
    placed = await post_ok(client, f"/api/v1/referrals/{ref}/plan", s.officer, s.plan(0, 1, 2))
    assert placed["state"] == "offered"
    assert [n["state"] for n in placed["needs"]] == ["offered"] * 3
    assert sorted((o["need"], o["service_id"]) for o in placed["offers"]) == [
        (i, str(sid)) for i, sid in enumerate(s.services)
    ]
    assert [await _held(demo_db, sid) for sid in s.services] == [1, 1, 1]


async def test_plan_input_errors_name_the_field(client: Client, demo_db: str) -> None:
    s = await _scene(demo_db)
    ref = await matched_referral(client, s.officer, needs=NEEDS)
    path = f"/api/v1/referrals/{ref}/plan"
    cases = [
        ({"needs": [{"index": 5, "service_id": str(s.services[2])}]}, "$.needs[0].index"),
        ({"needs": [{"index": 0, "service_id": str(s.services[1])}]}, "$.needs[0].service_id"),
        (
            {"needs": [{"index": 0, "service_id": str(s.services[0])}], "matcher_plan": True},
            "$.needs",
        ),
        ({}, "$.needs"),
        (
            {"needs": [{"index": 0, "service_id": str(s.services[0])},
                       {"index": 0, "service_id": str(s.services[0])}]},
            "$.needs[1].index",
        ),
    ]  # fmt: skip
    for body, field in cases:
        answer = await client.post(path, json=body, headers=s.officer | idem())
        assert answer.status_code in (400, 422), answer.text
        assert answer.json()["field"] == field, (body, answer.text)
    assert await _holds_of(demo_db, ref) == []


async def test_two_plans_race_for_the_last_place(client: Client, demo_db: str) -> None:
    s = await _scene(demo_db, free=(1, 3, 3))
    first = await matched_referral(client, s.officer, needs=NEEDS)
    second = await matched_referral(client, s.officer, needs=NEEDS)

    answers = await asyncio.gather(
        *(
            client.post(
                f"/api/v1/referrals/{ref}/plan", json=s.plan(2, 1, 0), headers=s.officer | idem()
            )
            for ref in (first, second)
        )
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409], [a.text for a in answers]
    lost = next(a for a in answers if a.status_code == 409).json()
    assert (lost["need"], lost["service_id"]) == (0, str(s.services[0]))
    # the winner holds all three needs, the loser nothing; the last place is taken once
    assert [await _held(demo_db, sid) for sid in s.services] == [1, 1, 1]
    held = [len(await _holds_of(demo_db, ref)) for ref in (first, second)]
    assert sorted(held) == [0, 3]


async def test_a_plan_is_followed_to_closed(client: Client, demo_db: str) -> None:
    s = await _scene(demo_db)
    ref = await matched_referral(client, s.officer, needs=NEEDS)
    path = f"/api/v1/referrals/{ref}"
    placed = await post_ok(client, f"{path}/plan", s.officer, s.plan(0, 1))
    offers = {o["need"]: o["id"] for o in placed["offers"]}
    providers = [await token(demo_db, "provider", org=org) for org in s.orgs]

    await post_ok(client, f"/api/v1/offers/{offers[0]}/accept", providers[0])
    mixed = (await client.get(path, headers=s.officer)).json()
    assert [n["state"] for n in mixed["needs"]] == ["accepted", "offered", "suggested"]
    assert mixed["state"] == "offered"  # the least advanced need with an offer
    await post_ok(client, f"/api/v1/offers/{offers[1]}/accept", providers[1])
    # legal aid: no service wanted after all
    after = await post_ok(
        client, f"{path}/transitions", s.officer,
        {"to": "unmet", "need": 2, "reason": "person_declined"},
    )  # fmt: skip
    assert after["state"] == "accepted"
    assert after["needs"][2]["unmet_reason"] == "person_declined"

    confirmed = await post_ok(client, f"{path}/transitions", s.officer, {"to": "confirmed"})
    assert confirmed["state"] == "confirmed"
    assert {o["status"] for o in confirmed["offers"]} == {"confirmed"}
    # the shelter starts first, counselling later: one need at a time
    one = await post_ok(client, f"{path}/transitions", s.officer, {"to": "in_service", "need": 0})
    assert [n["state"] for n in one["needs"]] == ["in_service", "confirmed", "unmet"]
    assert one["state"] == "confirmed"
    both = await post_ok(client, f"{path}/transitions", providers[1], {"to": "in_service"})
    assert both["referral_state"] == "in_service"
    # the counselling provider closes its own need; the referral stays open for the shelter
    counselled = await post_ok(
        client, f"{path}/transitions", providers[1], {"to": "closed", "outcome": "placed"}
    )
    assert counselled["referral_state"] == "in_service"
    closed = await post_ok(
        client, f"{path}/transitions", s.officer, {"to": "closed", "outcome": "placed"}
    )
    assert (closed["state"], closed["outcome"]) == ("closed", "placed")
    assert [(n["state"], n["outcome"]) for n in closed["needs"]] == [
        ("closed", "placed"), ("closed", "placed"), ("unmet", None),
    ]  # fmt: skip


async def test_cancelling_releases_every_place_for_a_coded_reason(
    client: Client, demo_db: str
) -> None:
    s = await _scene(demo_db)
    ref = await matched_referral(client, s.officer, needs=NEEDS)
    path = f"/api/v1/referrals/{ref}"
    placed = await post_ok(client, f"{path}/plan", s.officer, s.plan(0, 1, 2))
    provider = await token(demo_db, "provider", org=s.orgs[0])
    shelter = next(o["id"] for o in placed["offers"] if o["need"] == 0)
    await post_ok(client, f"/api/v1/offers/{shelter}/accept", provider)
    assert [await _held(demo_db, sid) for sid in s.services] == [1, 1, 1]

    for body in ({"to": "cancelled"}, {"to": "cancelled", "reason": "because"}):
        refused = await client.post(f"{path}/transitions", json=body, headers=s.officer | idem())
        assert refused.status_code in (400, 422), refused.text
        assert refused.json()["field"] == "$.reason"

    cancelled = await post_ok(
        client, f"{path}/transitions", s.officer, {"to": "cancelled", "reason": "placed_elsewhere"}
    )
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled", "placed_elsewhere")
    assert [n["state"] for n in cancelled["needs"]] == ["closed"] * 3
    assert {o["status"] for o in cancelled["offers"]} == {"released"}
    assert [await _held(demo_db, sid) for sid in s.services] == [0, 0, 0]


async def test_the_matcher_s_plan_is_booked_in_one_call(client: Client, demo_db: str) -> None:
    s = await _scene(demo_db)
    officer = s.officer
    created = await post_ok(client, "/api/v1/referrals", officer, referral_body(needs=NEEDS[:2]))
    path = f"/api/v1/referrals/{created['id']}"
    await post_ok(client, f"{path}/transitions", officer, {"to": "submitted"})
    planned = await post_ok(client, f"{path}/plan", officer, {"matcher_plan": True})
    assert planned["state"] == "offered"
    offered = {o["need"] for o in planned["offers"]}
    assert offered == {n["index"] for n in planned["needs"] if n["state"] == "offered"}
    assert offered, planned


async def test_a_plan_waits_for_matching(client: Client, demo_db: str) -> None:
    s = await _scene(demo_db)
    created = await post_ok(client, "/api/v1/referrals", s.officer, referral_body(needs=NEEDS))
    path = f"/api/v1/referrals/{created['id']}"
    await post_ok(client, f"{path}/transitions", s.officer, {"to": "submitted"})
    early = await client.post(f"{path}/plan", json=s.plan(0), headers=s.officer | idem())
    assert early.status_code == 409, early.text
    assert "it cannot become offered" in early.json()["detail"]
    assert await _holds_of(demo_db, created["id"]) == []


async def test_a_single_hold_is_an_offer_for_one_need(client: Client, demo_db: str) -> None:
    s = await _scene(demo_db)
    ref = await matched_referral(client, s.officer, needs=NEEDS)
    path = f"/api/v1/referrals/{ref}"
    counselling = await post_ok(
        client, f"{path}/holds", s.officer, {"service_id": str(s.services[1])}
    )
    assert counselling["need"] == 1
    again = await client.post(
        f"{path}/holds", json={"service_id": str(s.services[1])}, headers=s.officer | idem()
    )
    assert again.status_code == 409, again.text
    assert "need 1 (PSY.COUNSEL) is offered" in again.json()["detail"]
    shelter = await post_ok(client, f"{path}/holds", s.officer, {"service_id": str(s.services[0])})
    assert shelter["need"] == 0
    got = (await client.get(path, headers=s.officer)).json()
    assert [n["state"] for n in got["needs"]] == ["offered", "offered", "suggested"]


async def test_the_referral_closes_as_placed_once_a_need_was_placed(
    client: Client, demo_db: str
) -> None:
    s = await _scene(demo_db)
    ref = await matched_referral(client, s.officer, needs=NEEDS)
    path = f"/api/v1/referrals/{ref}"
    placed = await post_ok(client, f"{path}/plan", s.officer, s.plan(0, 1))
    offers = {o["need"]: o["id"] for o in placed["offers"]}
    for need in (0, 1):
        provider = await token(demo_db, "provider", org=s.orgs[need])
        await post_ok(client, f"/api/v1/offers/{offers[need]}/accept", provider)
    await post_ok(client, f"{path}/transitions", s.officer, {"to": "confirmed"})
    await post_ok(client, f"{path}/transitions", s.officer, {"to": "in_service", "need": 1})
    await post_ok(
        client, f"{path}/transitions", s.officer, {"to": "closed", "need": 1, "outcome": "placed"}
    )
    # The shelter is confirmed but never started: the referral (confirmed) still closes as
    # placed, the counselling having been given; the rest is left unmet, not pursued.
    closed = await post_ok(
        client, f"{path}/transitions", s.officer, {"to": "closed", "outcome": "placed"}
    )
    assert (closed["state"], closed["outcome"]) == ("closed", "placed")
    assert [(n["state"], n["outcome"], n["unmet_reason"]) for n in closed["needs"]] == [
        ("unmet", None, "not_pursued"), ("closed", "placed", None), ("unmet", None, "not_pursued"),
    ]  # fmt: skip


async def test_a_plan_on_a_service_that_breaks_a_rule_is_refused_naming_it(
    client: Client, demo_db: str
) -> None:
    s = await _scene(demo_db)
    ref = await matched_referral(client, s.officer, needs=NEEDS)
    await sql(
        demo_db, "UPDATE service SET accepting_referrals = false WHERE id = $1", s.services[1]
    )
    refused = await client.post(
        f"/api/v1/referrals/{ref}/plan", json=s.plan(0, 1, 2), headers=s.officer | idem()
    )
    assert refused.status_code == 422, refused.text
    problem = refused.json()
    assert problem["reason"] == "not_accepting"
    assert problem["field"] == "$.needs[1].service_id"
    assert str(s.services[1]) in problem["detail"]
    assert await _holds_of(demo_db, ref) == []
    assert [await _held(demo_db, sid) for sid in s.services] == [0, 0, 0]


async def test_the_handover_shows_once_one_need_of_a_plan_is_confirmed(
    client: Client, demo_db: str
) -> None:
    s = await _scene(demo_db)
    ref = await matched_referral(client, s.officer, needs=NEEDS)
    path = f"/api/v1/referrals/{ref}"
    placed = await post_ok(client, f"{path}/plan", s.officer, s.plan(0, 1))
    offers = {o["need"]: o["id"] for o in placed["offers"]}
    shelter = await token(demo_db, "provider", org=s.orgs[0])
    await post_ok(client, f"/api/v1/offers/{offers[0]}/accept", shelter)
    before = await client.get(f"{path}/handover", headers=s.officer)
    assert before.status_code == 409, before.text
    one = await post_ok(client, f"{path}/transitions", s.officer, {"to": "confirmed", "need": 0})
    assert one["state"] == "offered"  # counselling still waits for its provider
    assert [n["state"] for n in one["needs"]][:2] == ["confirmed", "offered"]
    handover = await client.get(f"{path}/handover", headers=s.officer)
    assert handover.status_code == 200, handover.text
    assert handover.json()["service_id"] == str(s.services[0])
    seen = (await client.get("/api/v1/offers", headers=shelter)).json()["offers"]
    mine = next(o for o in seen if o["id"] == offers[0])
    assert mine["status"] == "confirmed"
    assert "referring_agency" in mine
    # The counselling placement confirmed too: the handover lists both, by need.
    counsellor = await token(demo_db, "provider", org=s.orgs[1])
    await post_ok(client, f"/api/v1/offers/{offers[1]}/accept", counsellor)
    await post_ok(client, f"{path}/transitions", s.officer, {"to": "confirmed", "need": 1})
    both = (await client.get(f"{path}/handover", headers=s.officer)).json()
    placements = {p["need"]: p["service_id"] for p in both["placements"]}
    assert placements == {0: str(s.services[0]), 1: str(s.services[1])}
