"""A coordinator lists who accessed a referral; nobody else can."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.api.conftest import make_token
from tests.api.test_registry_api import SHELTER_ORG, Client

BELGRADE = "RS-792680"


def _referral_body() -> dict[str, object]:
    return {
        "needs": [{"code": "ACC.EMERG", "priority": "must"}],
        "urgency": "urgent", "age_band": "25-59", "gender": "female", "languages": ["sr"],
        "current_area": BELGRADE, "jurisdiction": "RS",
        "consent": {"given": True, "method": "verbal", "scope": ["referral"],
                    "at": dt.datetime.now(dt.UTC).isoformat()},
    }  # fmt: skip


async def test_a_coordinator_lists_who_accessed_a_referral(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    created = await client.post(
        "/api/v1/referrals", json=_referral_body(),
        headers={**officer, "Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert (await client.get(f"/api/v1/referrals/{rid}", headers=officer)).status_code == 200
    coord = await make_token(demo_db, "coordinator")
    assert (await client.get(f"/api/v1/referrals/{rid}", headers=coord)).status_code == 200

    response = await client.get(f"/api/v1/referrals/{rid}/access-log", headers=coord)
    assert response.status_code == 200, response.text
    log = response.json()
    assert log["referral_id"] == rid
    actions = [(e["action"], e["role"], e["outcome"]) for e in log["events"]]
    assert actions[:3] == [
        ("referral.create", "officer", "ok"),
        ("referral.read", "officer", "ok"),
        ("referral.read", "coordinator", "ok"),
    ]
    assert {e["object_id"] for e in log["events"]} == {rid}
    assert set(log["events"][0]) == {
        "seq", "at", "token_id", "role", "jurisdiction", "organization_id", "agency",
        "action", "object_type", "object_id", "outcome",
    }  # fmt: skip

    # reading the log is logged too; page on from where it ended
    later = await client.get(
        f"/api/v1/referrals/{rid}/access-log?after={log['next_after']}", headers=coord
    )
    assert [(e["action"], e["role"]) for e in later.json()["events"]] == [
        ("referral.access_log", "coordinator")
    ]


async def test_others_get_404_and_their_attempt_is_logged(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    created = await client.post(
        "/api/v1/referrals", json=_referral_body(),
        headers={**officer, "Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    rid = created.json()["id"]
    others = [
        officer,
        await make_token(demo_db, "coordinator", jurisdiction="AL"),
        await make_token(demo_db, "provider", org=SHELTER_ORG),
        await make_token(demo_db, "funder"),
    ]
    for headers in others:
        response = await client.get(f"/api/v1/referrals/{rid}/access-log", headers=headers)
        assert response.status_code == 404, response.text
    coord = await make_token(demo_db, "coordinator")
    unknown = await client.get(f"/api/v1/referrals/{uuid.uuid4()}/access-log", headers=coord)
    assert unknown.status_code == 404
    log = (await client.get(f"/api/v1/referrals/{rid}/access-log", headers=coord)).json()
    refused = [e for e in log["events"] if e["outcome"] == "not_found"]
    assert [(e["action"], e["role"]) for e in refused] == [
        ("referral.access_log", "officer"),
        ("referral.access_log", "coordinator"),
        ("referral.access_log", "provider"),
        ("referral.access_log", "funder"),
    ]
