"""Nothing identifying slips in through allowed fields (issue 11, item 10).

Language codes are ISO 639 from pycountry's list, nationality ISO 3166-1 alpha-2 (or XK),
consent recent and not in the future, ``needed_by`` within a year, whole kilometres, at most
10 children, and Idempotency-Keys of a fixed form, stored hashed. Every refusal is a 4xx
problem naming the field and saying how to fix it, and stores nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import asyncpg
import pytest

from tests.api.conftest import make_token
from tests.api.referral_factories import idem, referral_body, token
from tests.api.test_match_batch import person
from tests.api.test_registry_api import SHELTER, SHELTER_ORG, Client
from tests.api.test_registry_writes import _location_of, service_body


async def _count(db_url: str, table: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await conn.close()


def _consent(at: dt.datetime) -> dict[str, Any]:
    return {"given": True, "method": "verbal", "scope": ["referral"], "at": at.isoformat()}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


REFUSED_REFERRALS: list[tuple[str, dict[str, Any], int, str, str]] = [
    ("newline", {"languages": ["sr", "sr\n"]}, 400, "$.languages[1]", "ISO 639-1"),
    ("three letters", {"languages": ["qqq"]}, 400, "$.languages[0]", "ISO 639-3"),
    ("long code", {"languages": ["ar", "srp"]}, 400, "$.languages[1]", "send 'sr'"),
    (
        "nationality",
        {"needs": [{"code": "DOC.ID", "priority": "must"}], "nationality": "XX"},
        400, "$.nationality", "ISO 3166-1",
    ),
    ("fraction of a km", {"min_distance_km": 2.5}, 400, "$.min_distance_km", "int"),
    (
        "eleven children",
        {"group_children_age_bands": ["0-5"] * 11},
        400, "$.group_children_age_bands", "10",
    ),
    (
        "old consent",
        {"consent": _consent(_now() - dt.timedelta(days=31))},
        422, "$.consent.at", "ask the person again",
    ),
    (
        "future consent",
        {"consent": _consent(_now() + dt.timedelta(hours=1))},
        422, "$.consent.at", "future",
    ),
    ("needed yesterday", {"needed_by": (_now() - dt.timedelta(days=1)).isoformat()},
     422, "$.needed_by", "from now on"),
    ("needed in 13 months", {"needed_by": (_now() + dt.timedelta(days=400)).isoformat()},
     422, "$.needed_by", "within the next year"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("overrides", "status", "field", "hint"),
    [case[1:] for case in REFUSED_REFERRALS],
    ids=[case[0] for case in REFUSED_REFERRALS],
)
async def test_a_referral_field_out_of_bounds_is_refused_at_its_path(
    client: Client, demo_db: str, overrides: dict[str, Any], status: int, field: str, hint: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    answer = await client.post(
        "/api/v1/referrals", json=referral_body(**overrides), headers=officer | idem()
    )
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["field"] == field
    assert hint in problem["detail"]
    assert await _count(demo_db, "referral") == 0


async def test_the_edges_of_each_bound_are_accepted(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    accepted = referral_body(
        needs=[{"code": "RET.VOLUNTARY", "priority": "must"}],
        languages=["rom", "cnr", "sq"],
        nationality="XK",
        min_distance_km=3,
        group_children_age_bands=["0-5"] * 5 + ["14-17"] * 5,
        # two minutes ahead: within the five minutes allowed for the device's clock
        consent=_consent(_now() + dt.timedelta(minutes=2)),
        needed_by=(_now() + dt.timedelta(days=365)).isoformat(),
    )
    answer = await client.post("/api/v1/referrals", json=accepted, headers=officer | idem())
    assert answer.status_code == 201, answer.text
    profile = answer.json()["profile"]
    assert profile["languages"] == ["rom", "cnr", "sq"]
    assert profile["min_distance_km"] == 3
    assert profile["nationality"] == "XK"
    almost_30_days = referral_body(consent=_consent(_now() - dt.timedelta(days=29, hours=23)))
    again = await client.post("/api/v1/referrals", json=almost_30_days, headers=officer | idem())
    assert again.status_code == 201, again.text


async def test_service_languages_come_from_the_list_too(client: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    location_id = await _location_of(demo_db)
    before = await _count(demo_db, "service")
    created = await client.post(
        "/api/v1/services",
        json=service_body(str(SHELTER_ORG), location_id, languages=["sr", "ar\n"]),
        headers=coord,
    )
    assert created.status_code == 400
    assert created.json()["field"] == "$.languages[1]"
    assert await _count(demo_db, "service") == before
    changed = await client.patch(
        f"/api/v1/services/{SHELTER}", json={"languages": ["srp"]}, headers=coord
    )
    assert changed.status_code == 400
    assert "send 'sr'" in changed.json()["detail"]
    now = (await client.get(f"/api/v1/services/{SHELTER}", headers=coord)).json()
    assert "srp" not in now["languages"]


async def test_the_search_language_filter_takes_only_listed_codes(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    url = "/api/v1/services/search?area=RS-792680&language="
    refused = await client.get(url + "sr%0A", headers=officer)
    assert refused.status_code == 400
    assert refused.json()["field"].removeprefix("query.") == "language"
    assert "ISO 639-1" in refused.json()["detail"]
    found = await client.get(url + "sr", headers=officer)
    assert found.status_code == 200
    assert found.json()["hits"]


async def test_the_matcher_and_the_batch_check_languages(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    body = {k: v for k, v in referral_body(languages=["sr", "xx"]).items() if k != "consent"}
    one = await client.post("/api/v1/match/suggestions", json=body, headers=officer)
    assert one.status_code == 400, one.text
    assert one.json()["field"] == "$.languages[1]"
    batch = await client.post(
        "/api/v1/match/batch",
        json={"people": [person("p1"), person("p2", languages=["sr\n"])]},
        headers=officer,
    )
    assert batch.status_code == 400, batch.text
    assert batch.json()["field"] == "$.people[1].languages[0]"


@pytest.mark.parametrize(
    "key",
    [
        "short-key",  # 9 characters
        "x" * 129,
        "a key with spaces in it",
        "slash/is/not/allowed/here",
        "ünïcödé-is-not-allowed",
    ],
)
async def test_a_malformed_idempotency_key_is_refused(
    client: Client, demo_db: str, key: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    answer = await client.post(
        "/api/v1/referrals",
        json=referral_body(),
        headers={**officer, "Idempotency-Key": key.encode()},  # type: ignore[dict-item]
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "header.Idempotency-Key"
    assert "UUID" in answer.json()["detail"]
    assert await _count(demo_db, "referral") == 0


@pytest.mark.parametrize(
    "key",
    ["6f1c2a9e-3b7d-4e2a-9c1f-0d5e8b7a4c21", "a" * 16, "Z_9-" * 32],
    ids=["uuid", "16", "128"],
)
async def test_a_uuid_or_16_to_128_safe_characters_is_a_key(
    client: Client, demo_db: str, key: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    headers, body = officer | {"Idempotency-Key": key}, referral_body()
    first = await client.post("/api/v1/referrals", json=body, headers=headers)
    again = await client.post("/api/v1/referrals", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert await _count(demo_db, "referral") == 1


async def test_keys_are_stored_only_as_their_sha256(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    key = "case-RS-2026-0042-visible"
    answer = await client.post(
        "/api/v1/referrals", json=referral_body(), headers=officer | {"Idempotency-Key": key}
    )
    assert answer.status_code == 201
    conn = await asyncpg.connect(demo_db)
    try:
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'idempotency_key' ORDER BY column_name"
        )
        rows = await conn.fetch("SELECT * FROM idempotency_key")
    finally:
        await conn.close()
    assert [c["column_name"] for c in columns] == [
        "body", "created_at", "fingerprint", "headers", "key_hash", "status", "token_id",
    ]  # fmt: skip
    assert [r["key_hash"] for r in rows] == [hashlib.sha256(key.encode()).digest()]
    assert all(key.encode() not in bytes(str(dict(r)), "utf-8") for r in rows)
