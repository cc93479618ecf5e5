"""A surge over HTTP: many people at once placed jointly and booked, families together,
children only where the rules allow, a retry changing nothing (issue 18, item 2)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from tests.api.referral_factories import idem, token

Client = AsyncTestClient  # type: ignore[type-arg]
URL = "/api/v1/match/surge"
SARAJEVO = "BA-3191281"


def surge_body(**overrides: Any) -> dict[str, Any]:
    """A synthetic surge in Sarajevo: a mother with two children, two unaccompanied boys,
    three men; needs and constraints only."""
    body: dict[str, Any] = {
        "jurisdiction": "BA",
        "current_area": SARAJEVO,
        "consent": {
            "given": True, "method": "verbal", "scope": ["referral"],
            "at": dt.datetime.now(dt.UTC).isoformat(),
        },
        "groups": [
            {"count": 1, "gender": "female", "age_band": "25-59", "languages": ["bs"],
             "group_children_age_bands": ["0-5", "6-13"],
             "needs": [{"code": "ACC.EMERG"}, {"code": "PSY.COUNSEL", "priority": "should"}]},
            {"count": 2, "gender": "male", "age_band": "14-17", "languages": ["bs"],
             "guardian_status": "appointed", "needs": [{"code": "ACC.CHILD"}],
             "consent": {"given": True, "method": "guardian", "scope": ["referral"],
                         "at": dt.datetime.now(dt.UTC).isoformat()}},
            {"count": 3, "gender": "male", "age_band": "25-59", "languages": ["bs"],
             "needs": [{"code": "ACC.EMERG"}, {"code": "LEGAL.AID", "priority": "should"}]},
        ],
    }  # fmt: skip
    body.update(overrides)
    return body


async def _rows(db: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


async def test_a_surge_is_placed_jointly_and_booked_once(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", "BA", agency="BA police, Sarajevo")
    headers, body = officer | idem(), surge_body()
    answer = await client.post(URL, json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    out = answer.json()
    assert [p["key"] for p in out["booked"]] == ["g1-1", "g2-1", "g2-2", "g3-1", "g3-2", "g3-3"]
    placed = {p["key"]: p for p in out["people"]}
    for booked in out["booked"]:
        assert booked["refused"] is None
        planned = [n for n in placed[booked["key"]]["needs"] if n["assigned"] is not None]
        held = {(h["index"], h["service_id"], h["places"]) for h in booked["held"]}
        assert held == {(n["index"], n["assigned"]["service_id"], n["places"]) for n in planned}
    family = placed["g1-1"]
    assert family["group_size"] == 3
    assert family["needs"][0]["assigned"] is not None
    assert family["needs"][0]["places"] == 3

    # The unaccompanied boys went only to services that serve unaccompanied minors.
    children = [placed[k]["needs"][0]["assigned"] for k in ("g2-1", "g2-2")]
    serving = {
        str(r["id"])
        for r in await _rows(demo_db, "SELECT id FROM service WHERE serves_unaccompanied_minors")
    }
    assert all(a is None or a["service_id"] in serving for a in children)

    holds = await _rows(demo_db, "SELECT count(*) AS n FROM referral_hold")
    assert holds[0]["n"] == sum(len(b["held"]) for b in out["booked"])
    referrals = await _rows(demo_db, "SELECT count(*) AS n FROM referral")
    assert referrals[0]["n"] == 6

    again = await client.post(URL, json=body, headers=headers)
    assert again.status_code == 201
    assert again.json()["booked"] == out["booked"]
    assert (await _rows(demo_db, "SELECT count(*) AS n FROM referral"))[0]["n"] == 6


async def test_a_surge_too_large_is_refused_naming_the_field(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", "BA", agency="BA police, Sarajevo")
    group = {
        "count": 40, "gender": "female", "age_band": "25-59", "languages": ["bs"],
        "group_children_age_bands": ["0-5", "6-13"], "needs": [{"code": "ACC.EMERG"}],
    }  # fmt: skip
    answer = await client.post(URL, json=surge_body(groups=[group]), headers=officer | idem())
    assert answer.status_code == 422
    assert "$.groups" in answer.text
    assert (await _rows(demo_db, "SELECT count(*) AS n FROM referral"))[0]["n"] == 0


async def test_a_provider_may_not_enter_a_surge(client: Client, demo_db: str) -> None:
    provider = await token(demo_db, "funder", "BA")
    answer = await client.post(URL, json=surge_body(), headers=provider | idem())
    assert answer.status_code == 403


async def test_a_child_without_the_guardians_consent_refuses_the_surge(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", "BA", agency="BA police, Sarajevo")
    body = surge_body()
    del body["groups"][1]["consent"]  # the boys alone, with the adults' verbal consent
    answer = await client.post(URL, json=body, headers=officer | idem())
    assert answer.status_code == 422
    assert answer.json()["field"].startswith("$.groups[1].")
    assert (await _rows(demo_db, "SELECT count(*) AS n FROM referral"))[0]["n"] == 0
