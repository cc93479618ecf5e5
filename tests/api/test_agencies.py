"""Agencies on the record: who manages them, duty phones checked, tokens that name one."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from csomatch.db.tokens import create_token
from tests.api.hold_factories import Client, sql
from tests.api.referral_factories import idem, token

URL = "/api/v1/agencies"


def _body(**overrides: Any) -> dict[str, Any]:
    body = {"jurisdiction": "RS", "name": "Police directorate, Novi Sad (demo)",
            "duty_phone": "+381 21 555 0100"}  # fmt: skip
    return body | overrides


async def _create(client: Client, headers: dict[str, str], **overrides: Any) -> Any:
    answer = await client.post(URL, json=_body(**overrides), headers=headers | idem())
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_coordinator_manages_the_agencies_of_its_jurisdiction(
    client: Client, demo_db: str
) -> None:
    coordinator = await token(demo_db, "coordinator", "RS")
    made = await _create(client, coordinator)
    assert made["duty_phone"] == "+381215550100"  # kept in E.164
    path = f"{URL}/{made['id']}"
    read = await client.get(path, headers=coordinator)
    assert read.status_code == 200
    assert read.headers["etag"] == '"1"'
    changed = await client.patch(
        path, json={"duty_phone": "+381 21 555 0199"}, headers=coordinator | {"If-Match": '"1"'}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["duty_phone"] == "+381215550199"
    stale = await client.patch(
        path, json={"name": "x y"}, headers=coordinator | {"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    listed = (await client.get(URL, headers=coordinator)).json()["agencies"]
    assert made["id"] in [a["id"] for a in listed]
    assert (await client.delete(path, headers=coordinator)).status_code == 204
    assert (await client.get(path, headers=coordinator)).status_code == 404


async def test_who_may_manage_or_read_an_agency(client: Client, demo_db: str) -> None:
    made = await _create(client, await token(demo_db, "coordinator", "RS"))
    path = f"{URL}/{made['id']}"
    officer = await token(demo_db, "officer", "RS", agency="RS police")
    # Officers of the jurisdiction read it; they do not manage it.
    assert (await client.get(path, headers=officer)).status_code == 200
    assert (await client.patch(path, json={"name": "Renamed"}, headers=officer)).status_code == 403
    assert (await client.post(URL, json=_body(), headers=officer | idem())).status_code == 403
    # Another jurisdiction's coordinator does not find it and cannot make one in RS.
    other = await token(demo_db, "coordinator", "AL")
    assert (await client.get(path, headers=other)).status_code == 404
    assert (await client.delete(path, headers=other)).status_code == 404
    refused = await client.post(URL, json=_body(name="Another"), headers=other | idem())
    assert refused.status_code == 403
    # A region-wide admin manages every jurisdiction's.
    admin = await token(demo_db, "admin", "MARRI")
    renamed = await client.patch(path, json={"name": "Renamed (demo)"}, headers=admin)
    assert renamed.status_code == 200, renamed.text
    for role in ("provider", "funder"):
        org = (await sql(demo_db, "SELECT id FROM organization LIMIT 1"))[0]["id"]
        headers = await token(demo_db, role, org=org if role == "provider" else None)
        assert (await client.get(path, headers=headers)).status_code == 403


async def test_a_duty_phone_is_a_real_number_named_in_the_problem(
    client: Client, demo_db: str
) -> None:
    coordinator = await token(demo_db, "coordinator", "RS")
    for bad in ("call the police", "011 555 0100", "+381 1"):
        answer = await client.post(URL, json=_body(duty_phone=bad), headers=coordinator | idem())
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["field"] == "$.duty_phone"
    await _create(client, coordinator)
    twice = await client.post(URL, json=_body(), headers=coordinator | idem())
    assert twice.status_code == 409
    assert twice.json()["field"] == "$.name"


async def test_a_token_names_its_agency_and_old_tokens_keep_working(
    client: Client, demo_db: str
) -> None:
    made = await _create(client, await token(demo_db, "coordinator", "RS"))
    conn = await asyncpg.connect(demo_db)
    try:
        secret, _ = await create_token(
            conn, role="officer", jurisdiction="RS", organization_id=None, label="test",
            agency=made["name"], agency_id=uuid.UUID(made["id"]),
        )  # fmt: skip
    finally:
        await conn.close()
    me = (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})).json()
    assert (me["agency"], me["agency_id"]) == (made["name"], made["id"])
    old = await token(demo_db, "officer", "RS", agency="RS police")
    me_old = (await client.get("/api/v1/me", headers=old)).json()
    assert (me_old["agency"], me_old["agency_id"]) == ("RS police", None)
