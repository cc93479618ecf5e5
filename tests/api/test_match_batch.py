"""Batch placement over HTTP: families in one shelter, the joint optimum, never overbooked."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.db.services import get_capacity, list_services, upsert_capacity
from csomatch.db.signals import count_signals
from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
URL = "/api/v1/match/batch"
SARAJEVO = "BA-3191281"
# Emergency shelters in the demo registry: one for anyone (families too) in Sarajevo, one
# for men only in Mostar.
SARAJEVO_SHELTER = uuid.UUID("9da52af6-9fdd-5b57-b3de-403efa6beb1f")
MOSTAR_MEN = uuid.UUID("4abc0ad6-5cfb-5edc-b158-3cd9a2cdd31d")


def person(key: str, **overrides: Any) -> dict[str, Any]:
    """A synthetic adult woman in Sarajevo who speaks Bosnian and needs emergency shelter."""
    body: dict[str, Any] = {
        "key": key,
        "needs": [{"code": "ACC.EMERG", "priority": "must"}],
        "age_band": "25-59",
        "gender": "female",
        "languages": ["bs"],
        "current_area": SARAJEVO,
        "jurisdiction": "BA",
    }
    body.update(overrides)
    return body


async def only_these_shelters_free(db_url: str, free: dict[uuid.UUID, int]) -> None:
    """Fill every emergency shelter but these, which get exactly this many free places."""
    conn = await asyncpg.connect(db_url)
    try:
        shelters, _ = await list_services(
            conn, participant=None, code="ACC.EMERG", organization_id=None, limit=100, offset=0
        )
        for s in shelters:
            cap = await get_capacity(conn, s.id)
            assert cap is not None
            places = free.get(s.id, 0)
            await upsert_capacity(
                conn,
                s.id,
                unit=cap.unit,
                maximum=max(cap.maximum, places),
                available=places,
                expected_version=cap.version,
            )
    finally:
        await conn.close()


async def unmet_count(db_url: str) -> int:
    """Unmet-demand signals of the last day (the demo also holds synthetic ones)."""
    conn = await asyncpg.connect(db_url)
    try:
        now = dt.datetime.now(dt.UTC)
        found = await count_signals(
            conn, since=now - dt.timedelta(days=1), until=now + dt.timedelta(days=1)
        )
    finally:
        await conn.close()
    return sum(s.n for s in found if s.kind == "unmet")


def placements(body: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {p["key"]: p["needs"] for p in body["people"]}


async def test_a_family_of_three_goes_to_one_shelter(client: Client, demo_db: str) -> None:
    await only_these_shelters_free(demo_db, {SARAJEVO_SHELTER: 4})
    headers = await make_token(demo_db, "officer", jurisdiction="BA")
    family = person("f1", group_children_age_bands=["0-5", "6-13"])
    response = await client.post(
        URL, json={"people": [family, person("p2"), person("p3")]}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    placed = placements(body)
    (shelter,) = placed["f1"]
    assert shelter["places"] == 3
    assert shelter["assigned"]["service_id"] == str(SARAJEVO_SHELTER)
    # Four places: the family and one of the two women; the other is unmet for capacity.
    others = [placed["p2"][0], placed["p3"][0]]
    assert sorted(n["assigned"] is None for n in others) == [False, True]
    assert {n["unmet_reason"] for n in others} == {None, "no_capacity"}
    plan = body["plan"]
    assert plan["status"] == "optimal"
    assert "cp-sat" in plan["solver"]  # groups of different sizes: a generalised assignment
    assert (plan["assigned"], plan["unmet"], plan["gap"]) == (2, 1, 0.0)


async def test_the_joint_optimum_serves_both_where_greedy_would_not(
    client: Client, demo_db: str
) -> None:
    # One place in Sarajevo (anyone) and one in Mostar (men only). The man is listed first
    # and Sarajevo is nearer to him: first come, first served would give him Sarajevo and
    # leave the woman with nothing. The joint plan sends him to Mostar.
    await only_these_shelters_free(demo_db, {SARAJEVO_SHELTER: 1, MOSTAR_MEN: 1})
    headers = await make_token(demo_db, "officer", jurisdiction="BA")
    man = person("m1", gender="male")
    response = await client.post(URL, json={"people": [man, person("w1")]}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    placed = placements(body)
    him, her = placed["m1"][0]["assigned"], placed["w1"][0]["assigned"]
    assert him["service_id"] == str(MOSTAR_MEN)
    assert her["service_id"] == str(SARAJEVO_SHELTER)
    assert him["distance_km"] > her["distance_km"]  # Mostar is further for him than Sarajevo
    for need in (placed["m1"][0], placed["w1"][0]):
        assert sum(need["assigned"]["parts"].values()) == need["assigned"]["total"]
    assert body["plan"]["unmet"] == 0
    assert body["plan"]["objective"] == him["total"] + her["total"]


async def test_a_batch_never_assigns_more_than_the_free_places(
    client: Client, demo_db: str
) -> None:
    headers = await make_token(demo_db, "coordinator", jurisdiction="MARRI")
    before = await unmet_count(demo_db)
    areas = ["BA-3191281", "RS-792680", "AL-3183875", "MK-785842", "XK-786714", "ME-3193044"]
    people = [
        person(
            f"p{i}",
            current_area=areas[i % len(areas)],
            languages=["bs", "sr", "sq", "mk", "en"],
            gender="female" if i % 3 else "male",
            needs=[{"code": "ACC.EMERG"}, {"code": "PSY.COUNSEL", "priority": "should"}],
        )
        for i in range(40)
    ]
    response = await client.post(URL, json={"people": people}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    used: Counter[str] = Counter()
    for p in body["people"]:
        for need in p["needs"]:
            if need["assigned"]:
                used[need["assigned"]["service_id"]] += need["places"]
    conn = await asyncpg.connect(demo_db)
    try:
        for service_id, places in used.items():
            cap = await get_capacity(conn, uuid.UUID(service_id))
            assert cap is not None
            assert places <= cap.available - cap.held
    finally:
        await conn.close()
    # There are far fewer free shelter places than 40 people: the rest are unmet, and each
    # unmet need is a batch signal (no person data, one per person and need).
    shelters_unmet = sum(p["needs"][0]["assigned"] is None for p in body["people"])
    assert shelters_unmet > 0
    assert body["plan"]["unmet"] >= shelters_unmet
    assert await unmet_count(demo_db) - before == body["plan"]["unmet"]


async def test_bad_input_names_the_field(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "officer", jurisdiction="BA")
    people = [person(f"p{i}") for i in range(4)]
    people[3]["needs"] = [{"code": "NOPE.NOTHING"}]
    response = await client.post(URL, json={"people": people}, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "$.people[3].needs[0].code"

    people = [person("p1"), person("p1")]
    response = await client.post(URL, json={"people": people}, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "$.people[1].key"

    people = [person("p1", current_area="RS-1")]
    response = await client.post(URL, json={"people": people}, headers=headers)
    assert response.json()["field"] == "$.people[0].current_area"

    people = [person("Jane Doe")]
    response = await client.post(URL, json={"people": people}, headers=headers)
    assert response.status_code == 400
    assert response.json()["field"] == "$.people[0].key"
    assert "Jane Doe" not in response.text


async def test_a_batch_is_bounded(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "officer", jurisdiction="BA")
    people = [person(f"p{i}") for i in range(501)]
    response = await client.post(URL, json={"people": people}, headers=headers)
    assert response.status_code == 422
    assert response.json()["field"] == "$.people"
    assert "at most 500" in response.json()["detail"]


async def test_providers_and_funders_may_not_place(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "funder")
    response = await client.post(URL, json={"people": [person("p1")]}, headers=headers)
    assert response.status_code == 403
