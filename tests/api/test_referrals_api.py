"""Referrals over HTTP: the minimum data, scoping, lifecycle, consent, signals, audit."""

from __future__ import annotations

import hashlib

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.referrals import lifecycle
from tests.api.referral_factories import idem, referral_body, token

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_an_officer_creates_reads_and_lists_a_referral(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police, Belgrade")
    created = await client.post("/api/v1/referrals", json=referral_body(), headers=officer | idem())
    assert created.status_code == 201, created.text
    ref = created.json()
    assert ref["state"] == "draft"
    assert ref["agency"] == "RS police, Belgrade"
    assert ref["allowed_next"] == ["submitted", "cancelled"]
    assert ref["profile"]["consent"]["given"] is True
    got = await client.get(f"/api/v1/referrals/{ref['id']}", headers=officer)
    assert got.status_code == 200
    assert got.json()["needs"] == [
        {
            "index": 0, "code": "ACC.EMERG", "priority": "must", "state": "suggested",
            "outcome": None, "unmet_reason": None,
        }
    ]  # fmt: skip
    listed = (await client.get("/api/v1/referrals", headers=officer)).json()
    assert [r["id"] for r in listed["referrals"]] == [ref["id"]]


async def test_unknown_and_identity_fields_are_rejected_naming_them(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    for field, value in (
        ("name", "A"),
        ("birth_date", "2000-01-01"),
        ("identification_status", "identified"),
        ("notes", "free text"),
        ("phone", "+381"),
    ):
        answer = await client.post(
            "/api/v1/referrals", json=referral_body(**{field: value}), headers=officer | idem()
        )
        assert answer.status_code == 400, field
        assert field in answer.json()["detail"]
    listed = (await client.get("/api/v1/referrals", headers=officer)).json()
    assert listed["items_page"]["total"] == 0


async def test_nationality_only_for_a_service_that_needs_it(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    refused = await client.post(
        "/api/v1/referrals", json=referral_body(nationality="AL"), headers=officer | idem()
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "$.nationality"
    needs = [{"code": "ACC.EMERG", "priority": "must"}, {"code": "DOC.ID", "priority": "must"}]
    accepted = await client.post(
        "/api/v1/referrals",
        json=referral_body(nationality="AL", needs=needs),
        headers=officer | idem(),
    )
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["profile"]["nationality"] == "AL"


async def test_others_referrals_answer_404(client: Client, demo_db: str) -> None:
    mine = await token(demo_db, "officer", agency="RS police, Belgrade")
    other_agency = await token(demo_db, "officer", agency="CSW Nis")
    other_country = await token(demo_db, "coordinator", "AL")
    coordinator = await token(demo_db, "coordinator", "RS")
    ref = (
        await client.post("/api/v1/referrals", json=referral_body(), headers=mine | idem())
    ).json()
    for headers in (other_agency, other_country):
        assert (
            await client.get(f"/api/v1/referrals/{ref['id']}", headers=headers)
        ).status_code == 404
        listed = (await client.get("/api/v1/referrals", headers=headers)).json()
        assert listed["referrals"] == []
    assert (
        await client.get(f"/api/v1/referrals/{ref['id']}", headers=coordinator)
    ).status_code == 200


async def test_an_illegal_transition_answers_409_and_changes_nothing(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    ref = (
        await client.post("/api/v1/referrals", json=referral_body(), headers=officer | idem())
    ).json()
    answer = await client.post(
        f"/api/v1/referrals/{ref['id']}/transitions",
        json={"to": "confirmed"},
        headers=officer | idem(),
    )
    assert answer.status_code == 409
    assert "draft" in answer.json()["detail"]
    assert "submitted, cancelled" in answer.json()["detail"]
    after = (await client.get(f"/api/v1/referrals/{ref['id']}", headers=officer)).json()
    assert (after["state"], after["version"]) == ("draft", ref["version"])


async def test_the_database_refuses_an_illegal_transition(conn: asyncpg.Connection) -> None:
    allowed = await conn.fetch("SELECT from_state, to_state FROM referral_transition")
    pairs = {(r["from_state"], r["to_state"]) for r in allowed}
    assert ("draft", "confirmed") not in pairs
    # The database's table is the lifecycle the code checks first (accepted -> expired: 0062),
    # with the receiving side's decline back to submitted (0073).
    assert pairs == lifecycle.all_edges()


async def test_submitting_needs_consent_and_records_need_signals(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    body = referral_body(consent=None)
    body["needs"] = [
        {"code": "ACC.EMERG", "priority": "must"},
        {"code": "PSY.COUNSEL", "priority": "should"},
    ]
    ref = (await client.post("/api/v1/referrals", json=body, headers=officer | idem())).json()
    path = f"/api/v1/referrals/{ref['id']}/transitions"
    refused = await client.post(path, json={"to": "submitted"}, headers=officer | idem())
    assert refused.status_code == 422
    assert refused.json()["field"] == "$.consent"
    with_consent = (
        await client.post("/api/v1/referrals", json=referral_body(needs=body["needs"]),
                          headers=officer | idem())
    ).json()  # fmt: skip
    key = idem()
    path = f"/api/v1/referrals/{with_consent['id']}/transitions"
    submitted = await client.post(path, json={"to": "submitted"}, headers=officer | key)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["state"] == "submitted"
    again = await client.post(path, json={"to": "submitted"}, headers=officer | key)
    assert again.json() == submitted.json()
    conn = await asyncpg.connect(demo_db)
    try:
        keys = [
            hashlib.sha256(f"referral-need:{with_consent['id']}:{i}".encode()).hexdigest()
            for i in range(2)
        ]
        rows = await conn.fetch(
            "SELECT taxonomy_code, area_code FROM demand_signal WHERE kind = 'need'"
            " AND source = 'referral' AND dedup_key = ANY($1::text[]) ORDER BY taxonomy_code",
            keys,
        )
        changes = await conn.fetch(
            "SELECT from_state, to_state FROM referral_state_change WHERE referral_id = $1"
            " ORDER BY id",
            with_consent["id"],
        )
        events = await conn.fetch(
            "SELECT action, outcome FROM audit_event WHERE object_id = $1 ORDER BY seq",
            with_consent["id"],
        )
    finally:
        await conn.close()
    assert [(r["taxonomy_code"], r["area_code"]) for r in rows] == [
        ("ACC.EMERG", "RS-792680"),
        ("PSY.COUNSEL", "RS-792680"),
    ]
    assert [(c["from_state"], c["to_state"]) for c in changes] == [
        (None, "draft"),
        ("draft", "submitted"),
    ]
    assert [e["action"] for e in events] == ["referral.create", "referral.submit"]


async def test_a_submitted_referral_needing_an_interpreter_records_the_language_needed(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    body = referral_body(languages=["fa", "en"], interpreter_needed=True)
    ref = (await client.post("/api/v1/referrals", json=body, headers=officer | idem())).json()
    path = f"/api/v1/referrals/{ref['id']}/transitions"
    submitted = await client.post(path, json={"to": "submitted"}, headers=officer | idem())
    assert submitted.status_code == 200, submitted.text
    key = hashlib.sha256(f"referral-need:{ref['id']}:0".encode()).hexdigest()
    conn = await asyncpg.connect(demo_db)
    try:
        row = await conn.fetchrow(
            "SELECT population_group, language FROM demand_signal WHERE dedup_key = $1", key
        )
    finally:
        await conn.close()
    assert row is not None
    assert (row["population_group"], row["language"]) == ("language_not_served", "fa")
