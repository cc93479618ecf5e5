"""Licences that live over HTTP: add, renew, suspend, revoke, reinstate; roles; the matcher."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest

from tests.api.conftest import make_token
from tests.api.referral_factories import idem
from tests.api.test_match_api import NOVI_SAD_SHELTER, profile
from tests.api.test_registry_api import OTHER_ORG, SHELTER_ORG, Client

#: The organisation of the Novi Sad women's shelter (RS), whose ACC.EMERG licence expired.
NOVI_SAD_ORG = OTHER_ORG
MATCH = "/api/v1/match/suggestions"


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def licence_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "authority": "Ministry responsible for social protection (Serbia)",
        "number": f"RS-SOC-TEST-{uuid.uuid4().hex[:6]}",
        "service_codes": ["ACC.EMERG"],
        "valid_from": "2025-01-01",
        "valid_to": (today() + dt.timedelta(days=400)).isoformat(),
        "evidence_ref": "Decision 551-02-123/2025",
        "verified_by": "Inspectorate for social protection",
    }
    body.update(overrides)
    return body


def path(org: uuid.UUID | str, licence: str | None = None, action: str | None = None) -> str:
    url = f"/api/v1/organizations/{org}/licences"
    if licence is not None:
        url += f"/{licence}"
    if action is not None:
        url += f"/{action}"
    return url


async def add(client: Client, headers: dict[str, str], org: uuid.UUID | str, **body: Any) -> Any:
    answer = await client.post(path(org), json=licence_body(**body), headers=headers | idem())
    assert answer.status_code == 201, answer.text
    assert answer.headers["ETag"] == '"1"'
    return answer.json()


async def act(
    client: Client,
    headers: dict[str, str],
    lic: dict[str, Any],
    action: str,
    body: dict[str, Any] | None = None,
    *,
    expect: int = 200,
) -> Any:
    answer = await client.post(
        path(lic["organization_id"], lic["id"], action),
        json=body,
        headers=headers | idem() | {"If-Match": f'"{lic["version"]}"'},
    )
    assert answer.status_code == expect, answer.text
    return answer.json()


async def test_coordinator_adds_renews_suspends_reinstates_and_revokes(
    client: Client, demo_db: str
) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    lic = await add(
        client, coord, SHELTER_ORG, valid_to=(today() + dt.timedelta(days=10)).isoformat()
    )
    assert (lic["status"], lic["state"], lic["days_until_expiry"]) == ("active", "expiring", 10)
    assert lic["evidence_ref"] == "Decision 551-02-123/2025"

    listed = (await client.get(path(SHELTER_ORG), headers=coord)).json()["licences"]
    assert listed[0]["id"] == lic["id"]  # the soonest to end first

    new_end = (today() + dt.timedelta(days=800)).isoformat()
    renewed = await act(client, coord, lic, "renew", {"valid_to": new_end, "evidence_ref": "D-2"})
    assert (renewed["valid_to"], renewed["state"], renewed["version"]) == (new_end, "valid", 2)
    assert renewed["evidence_ref"] == "D-2"

    suspended = await act(client, coord, renewed, "suspend", {"reason": "inspection_failed"})
    assert (suspended["state"], suspended["status_reason"]) == ("suspended", "inspection_failed")
    assert suspended["suspended_at"] is not None
    again = await act(client, coord, suspended, "suspend", {"reason": "other"}, expect=409)
    assert "only a licence that is active" in again["detail"]

    back = await act(client, coord, suspended, "reinstate")
    assert (back["state"], back["status_reason"]) == ("valid", None)
    revoked = await act(client, coord, back, "revoke", {"reason": "closed"})
    assert revoked["state"] == "revoked"
    final = await act(client, coord, revoked, "reinstate", expect=409)
    assert "revoked" in final["detail"]
    refused = await act(client, coord, revoked, "renew", {"valid_to": new_end}, expect=409)
    assert "add a new licence" in refused["detail"]

    conn = await asyncpg.connect(demo_db)
    try:
        actions = [
            r["action"]
            for r in await conn.fetch(
                "SELECT action FROM audit_event WHERE object_type = 'licence' AND object_id = $1"
                " AND outcome = 'ok' ORDER BY seq",
                lic["id"],
            )
        ]
        events = [
            (r["event_type"], r["state"])
            for r in await conn.fetch(
                "SELECT event_type, state FROM outbox_event WHERE object_id = $1 ORDER BY id",
                uuid.UUID(lic["id"]),
            )
        ]
    finally:
        await conn.close()
    assert actions == [
        "licence.add", "licence.renew", "licence.suspend", "licence.reinstate", "licence.revoke"
    ]  # fmt: skip
    assert events == [
        ("licence.added", "active"), ("licence.renewed", "active"),
        ("licence.suspended", "suspended"), ("licence.reinstated", "active"),
        ("licence.revoked", "revoked"),
    ]  # fmt: skip


async def test_a_stale_or_missing_if_match_is_refused(client: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    lic = await add(client, coord, SHELTER_ORG)
    await act(client, coord, lic, "suspend", {"reason": "standards_not_met"})
    stale = await act(client, coord, lic, "reinstate", expect=412)  # still version 1
    assert stale["field"] == "header.If-Match"
    missing = await client.post(path(SHELTER_ORG, lic["id"], "reinstate"), headers=coord | idem())
    assert missing.status_code == 428, missing.text


async def test_a_retry_with_the_same_key_replays(client: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    lic = await add(client, coord, SHELTER_ORG)
    headers = coord | idem() | {"If-Match": '"1"'}
    url = path(SHELTER_ORG, lic["id"], "suspend")
    first = await client.post(url, json={"reason": "other"}, headers=headers)
    second = await client.post(url, json={"reason": "other"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()


REFUSED: list[tuple[str, dict[str, Any], int, str]] = [
    ("unknown code", {"service_codes": ["ACC.EMERG", "ACC.NOPE"]}, 422, "$.service_codes[1]"),
    ("malformed code", {"service_codes": ["acc"]}, 400, "$.service_codes[0]"),
    ("end before start", {"valid_from": "2026-01-10", "valid_to": "2026-01-09"}, 422,
     "$.valid_to"),
    ("authority too long", {"authority": "A" * 201}, 400, "$.authority"),
    ("authority too short", {"authority": "A"}, 400, "$.authority"),
    ("evidence too long", {"evidence_ref": "x" * 201}, 400, "$.evidence_ref"),
    ("evidence with a newline", {"evidence_ref": "file 1\nname"}, 400, "$.evidence_ref"),
    ("unknown field", {"notes": "free text"}, 400, "$.notes"),
    ("no codes", {"service_codes": []}, 400, "$.service_codes"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
async def test_bad_input_names_the_field(
    client: Client, demo_db: str, overrides: dict[str, Any], status: int, field: str
) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    answer = await client.post(
        path(SHELTER_ORG), json=licence_body(**overrides), headers=coord | idem()
    )
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field


async def test_a_suspension_needs_a_known_reason_code(client: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    lic = await add(client, coord, SHELTER_ORG)
    bad = await act(client, coord, lic, "suspend", {"reason": "they were rude"}, expect=400)
    assert bad["field"] == "$.reason"
    none = await act(client, coord, lic, "revoke", {}, expect=400)
    assert none["field"] == "$.reason"


async def test_roles_and_isolation(client: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    lic = await add(client, coord, SHELTER_ORG)
    own = await make_token(demo_db, "provider", "RS", org=SHELTER_ORG)
    other = await make_token(demo_db, "provider", "RS", org=NOVI_SAD_ORG)
    albania = await make_token(demo_db, "coordinator", "AL")
    officer = await make_token(demo_db, "officer", "RS")
    funder = await make_token(demo_db, "funder", "RS")

    mine = await client.get(path(SHELTER_ORG), headers=own)
    assert mine.status_code == 200
    assert lic["id"] in [x["id"] for x in mine.json()["licences"]]
    one = await client.get(path(SHELTER_ORG, lic["id"]), headers=own)
    assert (one.status_code, one.headers["ETag"]) == (200, '"1"')
    # Someone else's organisation or licence is "not found"; changes are the coordinators'.
    assert (await client.get(path(SHELTER_ORG), headers=other)).status_code == 404
    assert (await client.get(path(SHELTER_ORG), headers=albania)).status_code == 404
    assert (await client.get(path(NOVI_SAD_ORG, lic["id"]), headers=coord)).status_code == 404
    assert await act(client, albania, lic, "suspend", {"reason": "other"}, expect=404)
    await act(client, own, lic, "suspend", {"reason": "other"}, expect=403)
    refused = await client.post(path(SHELTER_ORG), json=licence_body(), headers=own | idem())
    assert refused.status_code == 403
    for caller in (officer, funder):
        assert (await client.get(path(SHELTER_ORG), headers=caller)).status_code == 403
    assert (await client.get("/api/v1/licences", headers=own)).status_code == 403
    refused_al = await client.post(path(SHELTER_ORG), json=licence_body(), headers=albania | idem())
    assert refused_al.status_code == 404


async def test_coordinators_list_the_licences_ending_soon(client: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    soon = await add(
        client, coord, SHELTER_ORG, valid_to=(today() + dt.timedelta(days=20)).isoformat()
    )
    await add(client, coord, SHELTER_ORG, valid_to=(today() + dt.timedelta(days=200)).isoformat())
    answer = await client.get("/api/v1/licences", params={"expiring_within": 90}, headers=coord)
    assert answer.status_code == 200, answer.text
    found = answer.json()["licences"]
    assert soon["id"] in [x["id"] for x in found]
    assert {x["participant"] for x in found} == {"RS"}
    assert all(x["days_until_expiry"] <= 90 for x in found)
    # The Novi Sad shelter's licence ended in 2025: it is listed too, first, as expired.
    assert found[0]["state"] == "expired"
    assert [x["days_until_expiry"] for x in found] == sorted(x["days_until_expiry"] for x in found)
    everything = (await client.get("/api/v1/licences", headers=coord)).json()["licences"]
    assert len(everything) > len(found)
    albania = await make_token(demo_db, "coordinator", "AL")
    elsewhere = await client.get("/api/v1/licences", params={"participant": "RS"}, headers=albania)
    assert elsewhere.status_code == 403
    region = await make_token(demo_db, "admin", "MARRI")
    all_of_rs = await client.get("/api/v1/licences", params={"participant": "RS"}, headers=region)
    assert {x["participant"] for x in all_of_rs.json()["licences"]} == {"RS"}


async def _licence_excluded(client: Client, officer: dict[str, str]) -> bool:
    """Whether the matcher leaves the Novi Sad shelter out for its licence."""
    body = profile(needs=[{"code": "ACC.EMERG", "priority": "must"}])
    answer = await client.post(MATCH, json=body, headers=officer, params={"explain": "excluded"})
    assert answer.status_code == 200, answer.text
    (need,) = answer.json()["needs"]
    reasons = {e["service_id"]: e["reason"] for e in need["excluded_services"]}
    return reasons.get(NOVI_SAD_SHELTER) == "licence"


async def _novi_sad_licence(client: Client, coord: dict[str, str]) -> dict[str, Any]:
    listed = (await client.get(path(NOVI_SAD_ORG), headers=coord)).json()["licences"]
    return next(x for x in listed if "ACC.EMERG" in x["service_codes"])


async def test_a_licence_expiring_under_a_service(client: Client, demo_db: str) -> None:
    """Renewed to end tomorrow, the shelter is suggested (today is the day before its end);
    moved to end yesterday, today is the day after and it is excluded. Suspended: excluded
    at once; reinstated: back."""
    coord = await make_token(demo_db, "coordinator", "RS")
    officer = await make_token(demo_db, "officer", "RS")
    lic = await _novi_sad_licence(client, coord)
    assert lic["state"] == "expired"
    assert await _licence_excluded(client, officer)

    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    lic = await act(client, coord, lic, "renew", {"valid_to": tomorrow})
    assert (lic["state"], lic["days_until_expiry"]) == ("expiring", 1)
    assert not await _licence_excluded(client, officer)

    yesterday = (today() - dt.timedelta(days=1)).isoformat()
    lic = await act(client, coord, lic, "renew", {"valid_to": yesterday})
    assert (lic["state"], lic["days_until_expiry"]) == ("expired", -1)
    assert await _licence_excluded(client, officer)

    lic = await act(client, coord, lic, "renew", {"valid_to": "2030-12-31"})
    assert not await _licence_excluded(client, officer)
    lic = await act(client, coord, lic, "suspend", {"reason": "inspection_failed"})
    assert await _licence_excluded(client, officer)
    lic = await act(client, coord, lic, "reinstate")
    assert not await _licence_excluded(client, officer)
    await act(client, coord, lic, "revoke", {"reason": "authority_request"})
    assert await _licence_excluded(client, officer)
