"""A child's referral over HTTP: the guardian's status and consent, and a second person's
sign-off before the placement is confirmed (issue 13, item 3)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.db.tokens import create_token
from tests.api.referral_factories import idem, referral_body, service_with_free_places, token

Client = AsyncTestClient  # type: ignore[type-arg]
REFERRALS = "/api/v1/referrals"


def _consent(method: str) -> dict[str, Any]:
    at = dt.datetime.now(dt.UTC).isoformat()
    return {"given": True, "method": method, "scope": ["referral"], "at": at}


def child_body(**overrides: Any) -> dict[str, Any]:
    """A 14-17 year old girl on her own, with an appointed guardian who consented."""
    values: dict[str, Any] = {
        "age_band": "14-17", "guardian_status": "appointed", "consent": _consent("guardian"),
    }  # fmt: skip
    values.update(overrides)
    return referral_body(**values)


BEST_INTEREST = {"reason": "child_best_interest", "scope": ["referral"]}


async def _post(client: Client, path: str, headers: dict[str, str], body: Any = None) -> Any:
    return await client.post(path, json=body, headers=headers | idem())


async def _ok(client: Client, path: str, headers: dict[str, str], body: Any = None) -> Any:
    answer = await _post(client, path, headers, body)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def _refused(
    client: Client, headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    answer = await _post(client, REFERRALS, headers, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


async def _guardianship_officer(db_url: str, jurisdiction: str = "RS") -> dict[str, str]:
    conn = await asyncpg.connect(db_url)
    try:
        secret, _ = await create_token(
            conn, role="officer", jurisdiction=jurisdiction, organization_id=None,
            label="test", agency=f"Centre for Social Work {jurisdiction}",
            guardianship_authority=True,
        )  # fmt: skip
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {secret}"}


async def test_a_childs_referral_says_the_guardian_and_takes_the_guardians_consent(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    await _refused(client, officer, child_body(guardian_status=None), "$.guardian_status")
    # her own verbal consent is not enough; the guardian's needs an appointed guardian
    await _refused(client, officer, child_body(consent=_consent("verbal")), "$.consent.method")
    no_guardian = child_body(guardian_status="none")
    await _refused(client, officer, no_guardian, "$.consent.method")
    danger = child_body(
        consent=None, consent_override={"reason": "imminent_danger", "scope": ["referral"]}
    )
    await _refused(client, officer, danger, "$.consent_override.reason")
    # uncertain age counts as a child
    uncertain = referral_body(age_band="18-24", age_uncertain=True)
    await _refused(client, officer, uncertain, "$.guardian_status")
    # an adult says nothing of a guardian or of being accompanied
    await _refused(client, officer, referral_body(guardian_status="none"), "$.guardian_status")
    await _refused(client, officer, referral_body(accompanied=True), "$.accompanied")

    made = await _ok(client, REFERRALS, officer, child_body(accompanied=True, group_adults=1))
    assert made["profile"]["guardian_status"] == "appointed"
    assert made["profile"]["accompanied"] is True
    assert made["profile"]["child_signed_off_at"] is None
    submitted = await _ok(client, f"{REFERRALS}/{made['id']}/transitions", officer,
                          {"to": "submitted"})  # fmt: skip
    assert submitted["state"] == "submitted"


async def test_without_a_guardian_only_an_approved_best_interest_override_submits(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    coordinator = await token(demo_db, "coordinator")
    body = child_body(guardian_status="requested", consent=None, consent_override=BEST_INTEREST)
    made = await _ok(client, REFERRALS, officer, body)
    path = f"{REFERRALS}/{made['id']}"
    early = await _post(client, f"{path}/transitions", officer, {"to": "submitted"})
    assert early.status_code == 422, early.text
    await _ok(client, f"{path}/override-approval", coordinator)
    assert (await _ok(client, f"{path}/transitions", officer, {"to": "submitted"}))[
        "state"
    ] == "submitted"


async def _child_shelter(db_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A child-only shelter for unaccompanied girls of 14-17 with free places."""
    service_id, org_id = await service_with_free_places(db_url, 3, code="ACC.CHILD")
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "UPDATE service SET age_bands = ARRAY['14-17'], child_only = true,"
            " serves_unaccompanied_minors = true, accepts_accompanied_children = false"
            " WHERE id = $1",
            service_id,
        )
    finally:
        await conn.close()
    return service_id, org_id


async def test_a_childs_placement_is_confirmed_after_a_second_persons_sign_off(
    client: Client, demo_db: str
) -> None:
    service_id, org_id = await _child_shelter(demo_db)
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    made = await _ok(client, REFERRALS, officer,
                     child_body(needs=[{"code": "ACC.CHILD", "priority": "must"}]))  # fmt: skip
    path = f"{REFERRALS}/{made['id']}"
    await _ok(client, f"{path}/transitions", officer, {"to": "submitted"})
    matched = await _ok(client, f"{path}/suggestions", officer)
    # on her own, she is offered only child-appropriate care
    offered = {x["service_id"] for need in matched["needs"] for x in need["suggestions"]}
    assert str(service_id) in offered
    hold = await _ok(client, f"{path}/holds", officer, {"service_id": str(service_id)})
    await _ok(client, f"/api/v1/offers/{hold['id']}/accept", provider)

    unsigned = await _post(client, f"{path}/transitions", officer, {"to": "confirmed"})
    assert unsigned.status_code == 409, unsigned.text
    assert "child-sign-off" in unsigned.json()["detail"]

    # the referrer's agency is not the guardianship authority; another participant's is
    # not this referral's; a provider signs nothing off
    police = await token(demo_db, "officer", agency="RS police")
    assert (await _post(client, f"{path}/child-sign-off", police)).status_code == 403
    albania = await _guardianship_officer(demo_db, "AL")
    assert (await _post(client, f"{path}/child-sign-off", albania)).status_code == 404
    assert (await _post(client, f"{path}/child-sign-off", provider)).status_code == 403

    social_work = await _guardianship_officer(demo_db)
    signed = await _ok(client, f"{path}/child-sign-off", social_work)
    assert (signed["referral_id"], signed["state"]) == (made["id"], "accepted")
    again = await _ok(client, f"{path}/child-sign-off", await token(demo_db, "coordinator"))
    assert again["signed_off_at"] == signed["signed_off_at"]
    # the sign-off gives the guardianship authority no read access to the referral
    assert (await client.get(path, headers=social_work)).status_code == 404

    confirmed = await _ok(client, f"{path}/transitions", officer, {"to": "confirmed"})
    assert confirmed["state"] == "confirmed"
    assert confirmed["profile"]["child_signed_off_at"] == signed["signed_off_at"]
    conn = await asyncpg.connect(demo_db)
    try:
        actions = await conn.fetch(
            "SELECT action FROM audit_event WHERE object_id = $1 AND outcome = 'ok'"
            " AND action = 'referral.child_sign_off'",
            made["id"],
        )
    finally:
        await conn.close()
    assert len(actions) == 1


@pytest.mark.parametrize("who", ["referrer", "adult"])
async def test_no_sign_off_by_the_referrer_nor_for_an_adult(
    client: Client, demo_db: str, who: str
) -> None:
    coordinator = await token(demo_db, "coordinator")
    body = child_body() if who == "referrer" else referral_body()
    made = await _ok(client, REFERRALS, coordinator, body)
    path = f"{REFERRALS}/{made['id']}"
    await _ok(client, f"{path}/transitions", coordinator, {"to": "submitted"})
    if who == "referrer":
        answer = await _post(client, f"{path}/child-sign-off", coordinator)
        assert answer.status_code == 403, answer.text
    else:
        other = await token(demo_db, "coordinator")
        answer = await _post(client, f"{path}/child-sign-off", other)
        assert answer.status_code == 409, answer.text


async def _officer_of(client: Client, db_url: str, marked: bool) -> dict[str, str]:
    """An officer whose token names a new agency record, marked or not as guardianship authority."""
    coordinator = await token(db_url, "coordinator")
    agency = await _ok(client, "/api/v1/agencies", coordinator, {
        "jurisdiction": "RS", "name": f"Centre {uuid.uuid4().hex[:8]}",
        "duty_phone": "+381 11 555 0199", "guardianship_authority": marked,
    })  # fmt: skip
    assert agency["guardianship_authority"] is marked
    conn = await asyncpg.connect(db_url)
    try:
        secret, _ = await create_token(
            conn, role="officer", jurisdiction="RS", organization_id=None, label="test",
            agency=agency["name"], agency_id=uuid.UUID(agency["id"]),
        )  # fmt: skip
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {secret}"}


async def test_the_guardianship_authority_is_a_mark_of_the_agency_record(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    made = await _ok(client, REFERRALS, officer, child_body())
    path = f"{REFERRALS}/{made['id']}"
    await _ok(client, f"{path}/transitions", officer, {"to": "submitted"})
    unmarked = await _officer_of(client, demo_db, marked=False)
    assert (await _post(client, f"{path}/child-sign-off", unmarked)).status_code == 403
    marked = await _officer_of(client, demo_db, marked=True)
    signed = await _ok(client, f"{path}/child-sign-off", marked)
    assert signed["referral_id"] == made["id"]
