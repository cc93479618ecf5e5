"""Holds run the matcher's hard rules: a service that breaks one answers 422 naming the rule."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.matching.eligibility import RULE_DETAILS
from csomatch.matching.rules import REASON_CODES
from tests.api.hold_factories import FORMULA, matched_referral
from tests.api.referral_factories import idem, service_with_free_places, token

Client = AsyncTestClient  # type: ignore[type-arg]

#: Per rule: SQL that makes the service (``$1``) break it, and what the referral says
#: (overrides of ``referral_body``).
BREAKS: dict[str, tuple[str, dict[str, Any]]] = {
    "gender": ("UPDATE service SET genders = ARRAY['male'] WHERE id = $1", {}),
    "age": ("UPDATE service SET age_bands = ARRAY['60+'] WHERE id = $1", {}),
    "group": (
        "UPDATE service SET accepts_families = false, max_group_size = 1 WHERE id = $1",
        {"group_adults": 2},
    ),
    "not_accepting": ("UPDATE service SET accepting_referrals = false WHERE id = $1", {}),
    "licence": (
        "UPDATE service SET licence_required = true WHERE id = $1;"
        " DELETE FROM licence WHERE organization_id ="
        " (SELECT organization_id FROM service WHERE id = $1)",
        {},
    ),
    "language": ("UPDATE service SET languages = ARRAY['de'] WHERE id = $1", {}),
    "excluded_area": ("SELECT $1::uuid", {}),  # the referral excludes the service's area
    "security": (
        "UPDATE service SET security_level = 'standard' WHERE id = $1",
        {"risk_level": "high"},
    ),
}


async def _break(db_url: str, sql: str, service_id: uuid.UUID) -> str:
    """Run the statements of ``sql``; the service's area code."""
    conn = await asyncpg.connect(db_url)
    try:
        for statement in sql.split(";"):
            await conn.execute(statement, service_id)
        area: str = await conn.fetchval(
            "SELECT l.area_code FROM service s JOIN location l ON l.id = s.location_id"
            " WHERE s.id = $1",
            service_id,
        )
        return area
    finally:
        await conn.close()


def test_every_rule_has_a_sentence() -> None:
    assert set(RULE_DETAILS) == set(REASON_CODES)
    assert not any(FORMULA & set(text) for text in RULE_DETAILS.values())


@pytest.mark.parametrize("rule", sorted(BREAKS))
async def test_a_hold_on_a_service_that_breaks_a_rule_is_refused_naming_it(
    client: Client, demo_db: str, rule: str
) -> None:
    service_id, _ = await service_with_free_places(demo_db, 5)
    sql, overrides = BREAKS[rule]
    area = await _break(demo_db, sql, service_id)
    if rule == "excluded_area":
        overrides = {"excluded_areas": [area], "current_area": "RS-3194360"}  # Novi Sad
    officer = await token(demo_db, "officer", agency="RS police")
    referral_id = await matched_referral(client, officer, **overrides)
    answer = await client.post(
        f"/api/v1/referrals/{referral_id}/holds",
        json={"service_id": str(service_id)},
        headers=officer | idem(),
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["reason"] == rule
    assert problem["field"] == "$.service_id"
    assert RULE_DETAILS[rule] in problem["detail"]
    # Nothing was held.
    offers = (await client.get(f"/api/v1/referrals/{referral_id}", headers=officer)).json()
    assert offers["offers"] == []


async def test_a_hold_abroad_is_refused_for_jurisdiction(client: Client, demo_db: str) -> None:
    service_id, _ = await service_with_free_places(demo_db, 5, participant="BA")
    officer = await token(demo_db, "officer", agency="RS police")
    referral_id = await matched_referral(client, officer)
    answer = await client.post(
        f"/api/v1/referrals/{referral_id}/holds",
        json={"service_id": str(service_id)},
        headers=officer | idem(),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["reason"] == "jurisdiction"
    assert "is in BA" in answer.json()["detail"]
    assert "served by services in RS" in answer.json()["detail"]


async def test_a_transnational_return_is_held_only_with_the_receiving_participant(
    client: Client, demo_db: str
) -> None:
    albania, _ = await service_with_free_places(demo_db, 2, participant="AL", code="RET.VOLUNTARY")
    home, _ = await service_with_free_places(demo_db, 2, participant="RS", code="RET.VOLUNTARY")
    shelter_abroad, _ = await service_with_free_places(demo_db, 2, participant="AL")
    officer = await token(demo_db, "officer", agency="RS police")
    needs = [{"code": "ACC.EMERG"}, {"code": "RET.VOLUNTARY"}]
    consent = {"given": True, "method": "verbal", "scope": ["referral", "cross_border"]}
    consent["at"] = dt.datetime.now(dt.UTC).isoformat()
    referral_id = await matched_referral(
        client, officer, needs=needs, receiving_participant="AL", nationality="AL",
        consent=consent,
    )  # fmt: skip
    for service_id, served_in in ((home, "cross-border (TRM) services in AL"),
                                  (shelter_abroad, "services in RS")):  # fmt: skip
        answer = await client.post(
            f"/api/v1/referrals/{referral_id}/holds",
            json={"service_id": str(service_id)},
            headers=officer | idem(),
        )
        assert answer.status_code == 422, answer.text
        assert answer.json()["reason"] == "jurisdiction"
        assert served_in in answer.json()["detail"]
    held = await client.post(
        f"/api/v1/referrals/{referral_id}/holds",
        json={"service_id": str(albania)},
        headers=officer | idem(),
    )
    assert held.status_code == 201, held.text


async def test_capacity_still_answers_409_with_the_free_count(client: Client, demo_db: str) -> None:
    service_id, _ = await service_with_free_places(demo_db, 0)
    officer = await token(demo_db, "officer", agency="RS police")
    referral_id = await matched_referral(client, officer)
    answer = await client.post(
        f"/api/v1/referrals/{referral_id}/holds",
        json={"service_id": str(service_id)},
        headers=officer | idem(),
    )
    assert answer.status_code == 409, answer.text
    assert answer.json()["free_places"] == 0
    assert "reason" not in answer.json()


async def test_each_need_counts_as_demand_where_it_is_served(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    consent = {
        "given": True, "method": "verbal", "scope": ["referral", "cross_border"],
        "at": dt.datetime.now(dt.UTC).isoformat(),
    }  # fmt: skip
    needs = [{"code": "ACC.EMERG"}, {"code": "RET.VOLUNTARY"}, {"code": "REINT.VOC"}]
    referral_id = await matched_referral(
        client, officer, needs=needs, receiving_participant="AL", nationality="AL",
        consent=consent, preferred_areas=["AL-3183875"],
    )  # fmt: skip
    conn = await asyncpg.connect(demo_db)
    try:
        rows = await conn.fetch(
            "SELECT taxonomy_code, participant_code, area_code FROM demand_signal"
            " WHERE kind = 'need' AND source = 'referral' AND dedup_key NOT LIKE 'demo:%'"
        )
    finally:
        await conn.close()
    assert referral_id
    assert {r["taxonomy_code"]: (r["participant_code"], r["area_code"]) for r in rows} == {
        "ACC.EMERG": ("RS", "RS-792680"),
        "RET.VOLUNTARY": ("AL", "AL-3183875"),
        "REINT.VOC": ("AL", "AL-3183875"),
    }


async def test_an_unaccompanied_child_is_not_held_in_an_adult_shelter(
    client: Client, demo_db: str
) -> None:
    # The case: suggestions would not offer it, and now neither does a hold.
    service_id, _ = await service_with_free_places(demo_db, 5)
    conn = await asyncpg.connect(demo_db)
    try:
        await conn.execute(
            "UPDATE service SET age_bands = ARRAY['14-17', '18-24', '25-59'],"
            " serves_unaccompanied_minors = false WHERE id = $1",
            service_id,
        )
    finally:
        await conn.close()
    officer = await token(demo_db, "officer", agency="RS police")
    consent = {
        "given": True, "method": "guardian", "scope": ["referral"],
        "at": dt.datetime.now(dt.UTC).isoformat(),
    }  # fmt: skip
    referral_id = await matched_referral(
        client, officer, age_band="14-17", guardian_status="appointed", consent=consent
    )
    answer = await client.post(
        f"/api/v1/referrals/{referral_id}/holds",
        json={"service_id": str(service_id)},
        headers=officer | idem(),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["reason"] == "age"
