"""The matcher over HTTP: ranked suggestions whose parts add up, and errors naming the field."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.db.candidates import candidate_services
from csomatch.db.signals import count_signals
from csomatch.db.track_records import record_feedback, record_offer_outcome
from csomatch.domain.acceptance import counted
from csomatch.matching.terms import TERMS
from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
URL = "/api/v1/match/suggestions"
BELGRADE = "RS-792680"


def profile(**overrides: Any) -> dict[str, Any]:
    """A synthetic adult woman in Belgrade who speaks Serbian."""
    body: dict[str, Any] = {
        "needs": [
            {"code": "ACC.EMERG", "priority": "must"},
            {"code": "PSY.COUNSEL", "priority": "should"},
            {"code": "LEGAL.AID", "priority": "must"},
        ],
        "urgency": "urgent",
        "age_band": "25-59",
        "gender": "female",
        "languages": ["sr"],
        "current_area": BELGRADE,
        "jurisdiction": "RS",
    }
    body.update(overrides)
    return body


async def test_suggestions_are_ranked_and_their_parts_add_up(client: Client, demo_db: str) -> None:
    # Every need is served at home (the jurisdiction rule): the demo's licensed women's
    # shelter in Serbia is the plan's.
    headers = await make_token(demo_db, "officer")
    response = await client.post(URL, json=profile(), headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [n["code"] for n in body["needs"]] == ["ACC.EMERG", "PSY.COUNSEL", "LEGAL.AID"]
    counselling, legal = body["needs"][1], body["needs"][2]
    assert counselling["suggestions"]
    assert legal["suggestions"]
    for need in body["needs"]:
        totals = [s["total"] for s in need["suggestions"]]
        # The top five are ranked; the plan's choice may follow them.
        assert totals[:5] == sorted(totals[:5])
        for s in need["suggestions"]:
            assert sum(s["parts"].values()) == s["total"]
            assert s["delta"] == s["total"] - need["suggestions"][0]["total"]
            assert "address" not in s
            assert "latitude" not in s
    shelter = body["needs"][0]
    # An accommodation suggestion has a known, reported number: when is said with it.
    assert all(s["capacity_updated_at"] for s in shelter["suggestions"])
    for need in body["needs"]:
        for s in need["suggestions"]:
            assert set(s["parts"]) == set(TERMS)
    # Counselling is measured from the shelter the plan chose, and there is some near it.
    assert shelter["planned_service_id"] is not None
    assert counselling["suggestions"][0]["distance_from"] == "accommodation"
    assert counselling["suggestions"][0]["distance_km"] < 30
    assert body["plan"]["status"] == "optimal"
    assert [s["stage"] for s in body["plan"]["stages"]] == ["accommodation", "services"]
    assert body["plan"]["objective"] == body["plan"]["bound"]


async def test_an_unknown_code_names_the_field(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "officer")
    body = profile(needs=[{"code": "ACC.EMERG"}, {"code": "NOPE.NOTHING"}])
    response = await client.post(URL, json=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert "$.needs[1].code" in response.text


async def test_an_unknown_area_names_the_field(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "officer")
    response = await client.post(URL, json=profile(current_area="RS-1"), headers=headers)
    assert 400 <= response.status_code < 500
    assert "$.current_area" in response.text


async def test_an_identity_field_is_rejected(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "officer")
    response = await client.post(URL, json=profile(name="Jane Doe"), headers=headers)
    assert response.status_code == 400
    assert "name" in response.text
    assert "Jane Doe" not in response.text


async def test_a_need_no_one_can_meet_reports_reasons(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "officer")
    body = profile(
        needs=[{"code": "ACC.SECURE", "priority": "must"}],
        languages=["ps"],
        interpreter_needed=False,
        excluded_areas=[BELGRADE],
        min_distance_km=50,
    )
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    (need,) = response.json()["needs"]
    assert need["suggestions"] == []
    assert need["planned_service_id"] is None
    assert need["unmet_reasons"]
    assert sum(need["excluded"].values()) >= 1
    assert response.json()["plan"]["unmet_needs"] == [0]


async def test_funders_may_not_ask_for_suggestions(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "funder")
    response = await client.post(URL, json=profile(), headers=headers)
    assert response.status_code == 403


NOVI_SAD_SHELTER = "1146b794-2bb7-5156-b650-f7fc3865ee06"  # its licence expired 2025-06-30


async def test_a_shelter_without_a_valid_licence_is_excluded(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "officer")
    body = profile(needs=[{"code": "ACC.EMERG", "priority": "must"}])
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    (shelter,) = response.json()["needs"]
    assert shelter["excluded"]["licence"] == 1
    assert NOVI_SAD_SHELTER not in {s["service_id"] for s in shelter["suggestions"]}


async def test_on_request_each_excluded_service_names_its_rule(
    client: Client, demo_db: str
) -> None:
    headers = await make_token(demo_db, "officer")
    body = profile(needs=[{"code": "ACC.EMERG", "priority": "must"}])
    plain = await client.post(URL, json=body, headers=headers)
    response = await client.post(URL, json=body, headers=headers, params={"explain": "excluded"})
    assert response.status_code == 200, response.text
    (shelter,) = response.json()["needs"]
    assert plain.json()["needs"][0]["excluded_services"] is None
    listed = shelter["excluded_services"]
    # The list and the counts by rule tell the same story, service by service.
    assert Counter(e["reason"] for e in listed) == Counter(shelter["excluded"])
    assert {"service_id": NOVI_SAD_SHELTER, "reason": "licence"}.items() <= next(
        e for e in listed if e["service_id"] == NOVI_SAD_SHELTER
    ).items()
    for e in listed:
        assert "address" not in e
        assert "latitude" not in e
    bad = await client.post(URL, json=body, headers=headers, params={"explain": "everything"})
    assert bad.status_code == 400


async def test_candidates_carry_the_licence_valid_on_the_day(demo_db: str) -> None:
    conn = await asyncpg.connect(demo_db)
    try:
        before = await candidate_services(conn, ["ACC.EMERG"], dt.date(2025, 6, 30))
        after = await candidate_services(conn, ["ACC.EMERG"], dt.date(2025, 7, 1))
        today = await candidate_services(conn, ["ACC.EMERG"], dt.datetime.now(dt.UTC).date())
    finally:
        await conn.close()
    shelter = uuid.UUID(NOVI_SAD_SHELTER)
    assert shelter in before.licensed
    assert shelter not in after.licensed
    assert {s.id for s in after.services} == {s.id for s in before.services}
    # Every other emergency shelter needs a licence and holds one valid today.
    assert all(s.licence_required for s in today.services)
    assert today.licensed == {s.id for s in today.services} - {shelter}


async def test_candidates_carry_their_track_record_in_the_same_query(demo_db: str) -> None:
    conn = await asyncpg.connect(demo_db)
    try:
        first, second = (await candidate_services(conn, ["PSY.COUNSEL"], dt.date.today())).services[
            :2
        ]
        for outcome in ("accepted", "other", "person_declined"):
            await record_offer_outcome(
                conn, first.id, first.organization_id, outcome,
                counts=counted(outcome), quarter=dt.date(2026, 10, 1),
            )  # fmt: skip
        await record_feedback(conn, first.id, 4)
        found = await candidate_services(conn, ["PSY.COUNSEL"], dt.date.today())
    finally:
        await conn.close()
    record = found.records[first.id]
    assert (record.offers, record.accepted, record.feedback_n, record.feedback_sum) == (2, 1, 1, 4)
    assert second.id not in found.records  # never offered: no record, not a zero one


async def _unmet_signals(db_url: str) -> Counter[tuple[str, str | None, str, str | None]]:
    """Unmet-demand signals of the last day by (participant, area, code, reason).

    The demo registry comes with a year of synthetic demand, so tests compare counts
    before and after a request.
    """
    conn = await asyncpg.connect(db_url)
    try:
        now = dt.datetime.now(dt.UTC)
        found = await count_signals(
            conn, since=now - dt.timedelta(days=1), until=now + dt.timedelta(days=1)
        )
    finally:
        await conn.close()
    return Counter(
        {
            (s.participant_code, s.area_code, s.taxonomy_code, s.reason): s.n
            for s in found
            if s.kind == "unmet"
        }
    )


async def test_an_unmet_need_is_recorded_once_as_a_gap_signal(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "officer")
    before = await _unmet_signals(demo_db)
    # Pashto speakers without an interpreter: the language rule excludes every shelter
    # that the other rules left.
    body = profile(
        needs=[{"code": "ACC.SECURE", "priority": "must"}, {"code": "LEGAL.AID"}],
        languages=["ps"],
        current_area=BELGRADE,
    )
    first = await client.post(URL, json=body, headers=headers)
    assert first.status_code == 200, first.text
    secure = first.json()["needs"][0]
    assert secure["unmet_reason"] == "language"
    assert secure["unmet_reasons"][0] == "language"
    # The same request again, with the needs listed the other way round, counts once.
    again = profile(**{**body, "needs": body["needs"][::-1]})
    assert (await client.post(URL, json=again, headers=headers)).status_code == 200
    cell = ("RS", BELGRADE, "ACC.SECURE", "language")
    added = await _unmet_signals(demo_db) - before
    assert [k for k in added if k[2] == "ACC.SECURE"] == [cell]
    assert added[cell] == 1
    # Another officer asking the same counts again.
    other = await make_token(demo_db, "officer")
    assert (await client.post(URL, json=body, headers=other)).status_code == 200
    assert (await _unmet_signals(demo_db) - before)[cell] == 2


async def test_a_met_need_leaves_no_signal(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "officer")
    before = await _unmet_signals(demo_db)
    body = profile(needs=[{"code": "PSY.COUNSEL", "priority": "must"}])
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 200, response.text
    (need,) = response.json()["needs"]
    assert need["planned_service_id"] is not None
    assert need["unmet_reason"] is None
    assert await _unmet_signals(demo_db) == before


async def test_an_officer_matches_only_for_their_own_participant(
    client: Client, demo_db: str
) -> None:
    # The unmet needs of a match become demand signals of the profile's participant: an
    # officer of Serbia may not ask (and count demand) for Albania; nothing is recorded.
    headers = await make_token(demo_db, "officer")  # jurisdiction RS
    signals = "SELECT count(*) FROM demand_signal"
    conn = await asyncpg.connect(demo_db)
    try:
        before = await conn.fetchval(signals)
    finally:
        await conn.close()
    response = await client.post(
        URL, json=profile(jurisdiction="AL", current_area="AL-3183875"), headers=headers
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == "$.jurisdiction"
    assert "RS" in problem["detail"]
    person = {"key": "p1", **profile(jurisdiction="AL", current_area="AL-3183875")}
    batch = await client.post("/api/v1/match/batch", json={"people": [person]}, headers=headers)
    assert batch.status_code == 422, batch.text
    assert batch.json()["field"] == "$.people[0].jurisdiction"
    conn = await asyncpg.connect(demo_db)
    try:
        assert await conn.fetchval(signals) == before
    finally:
        await conn.close()
