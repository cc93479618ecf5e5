"""The funding API: one record, file uploads, the ledger, match reviews, rates."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.db import funding as funding_db
from csomatch.db.tokens import create_token
from tests.api.conftest import make_token
from tests.reference import IATI_EXAMPLE as EXAMPLE

Client = AsyncTestClient[Any]


async def funder_token(db_url: str, funder_ref: str | None) -> dict[str, str]:
    """Headers of a funder token, linked to the funder ``funder_ref`` when given."""
    conn = await asyncpg.connect(db_url)
    try:
        secret, record = await create_token(
            conn, role="funder", jurisdiction="MARRI", organization_id=None, label="test"
        )
        if funder_ref is not None:
            funder = await funding_db.get_funder_by_ref(conn, funder_ref)
            assert funder is not None
            await funding_db.link_token_funder(conn, record.id, funder.id)
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {secret}"}


async def demo_org(db_url: str, participant: str = "RS") -> dict[str, Any]:
    """A demo organisation with one of its services."""
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow(
            "SELECT o.id, o.name, o.registration_number, s.taxonomy_code FROM organization o"
            " JOIN service s ON s.organization_id = o.id WHERE o.participant_code = $1"
            " ORDER BY o.name, s.taxonomy_code LIMIT 1",
            participant,
        )
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


def record(**overrides: Any) -> dict[str, Any]:
    """A funding record body."""
    body: dict[str, Any] = {
        "external_id": "API-1",
        "funder": "FUND-FDN-MARIGOLD",
        "recipient_name": "Some Unlisted Shelter",
        "amount": "25000.00",
        "currency": "EUR",
        "period_start": "2025-01-01",
        "period_end": "2025-12-31",
    }
    body.update(overrides)
    return body


async def test_one_record_is_added_then_unchanged(client: Client, demo_db: str) -> None:
    org = await demo_org(demo_db)
    headers = await make_token(demo_db, "admin", "MARRI")
    body = record(
        recipient_id=str(org["id"]), services=[org["taxonomy_code"]], funded_units=3, unit="bed"
    )
    first = await client.post("/api/v1/funding", json=body, headers=headers)
    assert first.status_code == 201, first.text
    assert first.json()["imported"] == 1
    assert first.json()["matched_by"] == {"id": 1}
    again = await client.post("/api/v1/funding", json=body, headers=headers)
    assert (again.status_code, again.json()["unchanged"]) == (200, 1)
    listed = await client.get(
        "/api/v1/funding", params={"source": "api", "recipient": str(org["id"])}, headers=headers
    )
    (row,) = listed.json()["funding"]
    assert (row["amount_eur"], row["funded_units"], len(row["service_ids"])) == ("25000.00", 3, 1)


async def test_a_funder_token_adds_only_where_it_is_the_funder(
    client: Client, demo_db: str
) -> None:
    mine = await funder_token(demo_db, "FUND-FDN-MARIGOLD")
    body = record()
    del body["funder"]
    ok = await client.post("/api/v1/funding", json=body, headers=mine)
    assert ok.status_code == 201, ok.text
    other = await client.post(
        "/api/v1/funding", json=record(funder="FUND-FDN-KESTREL", external_id="X"), headers=mine
    )
    assert other.status_code == 403
    assert "where it is the funder" in other.json()["detail"]
    unlinked = await funder_token(demo_db, None)
    refused = await client.post("/api/v1/funding", json=record(), headers=unlinked)
    assert refused.status_code == 403


async def test_bad_records_name_the_field(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "admin", "MARRI")
    cases = [
        (record(period_end="2024-01-01"), "$.period_end"),
        (record(services=["NOT.ACODE"]), "$.services"),
        (record(currency="euro"), "$.currency"),
    ]
    for body, field in cases:
        answer = await client.post("/api/v1/funding", json=body, headers=headers)
        assert answer.status_code in (400, 422), answer.text
        # Schema errors name the key ("currency"), rule errors the JSON path ("$.services").
        assert answer.json()["field"].removeprefix("$.") == field.removeprefix("$.")
    listed = await client.get("/api/v1/funding", params={"source": "api"}, headers=headers)
    assert listed.json()["items_page"]["total"] == 0


async def test_officers_and_providers_may_not_read_the_ledger(client: Client, demo_db: str) -> None:
    for role in ("officer",):
        headers = await make_token(demo_db, role)
        assert (await client.get("/api/v1/funding", headers=headers)).status_code == 403
    funder = await funder_token(demo_db, None)
    assert (await client.get("/api/v1/funding", headers=funder)).status_code == 200


async def test_upload_csv_dry_run_then_for_real(client: Client, demo_db: str) -> None:
    org = await demo_org(demo_db, "BA")
    headers = await make_token(demo_db, "coordinator", "BA")
    csv = (
        "#org+funder,#org+impl,#org+impl+code,#value,#currency,#date+start,#date+end,#activity+id\n"
        f"Marigold Foundation,{org['name']},{org['registration_number']},500,BAM,2025-01-01,"
        "2025-12-31,UP-1\n"
    ).encode()
    dry = await client.post(
        "/api/v1/funding/imports",
        content=csv,
        params={"dry_run": "true", "filename": "grants.csv"},
        headers=headers,
    )
    assert dry.status_code == 200, dry.text
    assert (dry.json()["imported"], dry.json()["dry_run"]) == (1, True)
    listed = await client.get("/api/v1/funding", params={"source": "csv"}, headers=headers)
    assert listed.json()["items_page"]["total"] == 0

    real = await client.post("/api/v1/funding/imports", content=csv, headers=headers)
    assert real.json()["imported"] == 1
    stored = await client.get(
        f"/api/v1/funding/imports/{real.json()['import_id']}", headers=headers
    )
    assert stored.json()["imported"] == 1
    listed = await client.get("/api/v1/funding", params={"source": "csv"}, headers=headers)
    assert listed.json()["funding"][0]["recipient_organization_id"] == str(org["id"])


async def test_upload_errors_are_problem_details(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "admin", "MARRI")
    no_amount = await client.post(
        "/api/v1/funding/imports", content=b"funder,recipient\nA,B\n", headers=headers
    )
    assert no_amount.status_code == 422
    assert no_amount.json()["field"] == "$"  # the uploaded file as a whole
    laughs = await client.post(
        "/api/v1/funding/imports",
        content=b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><iati-activities/>',
        headers=headers,
    )
    assert laughs.status_code == 422
    empty = await client.post("/api/v1/funding/imports", content=b"", headers=headers)
    assert empty.status_code == 422


async def test_upload_the_iati_example_and_review_its_recipient(
    client: Client, demo_db: str
) -> None:
    headers = await make_token(demo_db, "admin", "MARRI")
    answer = await client.post(
        "/api/v1/funding/imports", content=EXAMPLE.read_bytes(), headers=headers
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["format"], report["imported"], report["transactions"]) == ("iati", 1, 1)
    (unmatched,) = report["unmatched"]
    pending = await client.get("/api/v1/funding/matches", headers=headers)
    assert [m["id"] for m in pending.json()] == [unmatched["review_id"]]
    org = await demo_org(demo_db, "AL")
    confirmed = await client.post(
        f"/api/v1/funding/matches/{unmatched['review_id']}/confirm",
        json={"organization_id": str(org["id"])},
        headers=headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["linked_rows"] == 1
    rs = await make_token(demo_db, "coordinator", "RS")
    assert (await client.get("/api/v1/funding/matches", headers=rs)).json() == []


async def test_a_coordinator_links_only_to_its_jurisdiction(client: Client, demo_db: str) -> None:
    admin = await make_token(demo_db, "admin", "MARRI")
    await client.post("/api/v1/funding", json=record(), headers=admin)
    (review,) = (await client.get("/api/v1/funding/matches", headers=admin)).json()
    org = await demo_org(demo_db, "AL")
    rs = await make_token(demo_db, "coordinator", "RS")
    refused = await client.post(
        f"/api/v1/funding/matches/{review['id']}/confirm",
        json={"organization_id": str(org["id"])},
        headers=rs,
    )
    assert refused.status_code == 403
    rejected = await client.post(f"/api/v1/funding/matches/{review['id']}/reject", headers=rs)
    assert rejected.json()["review"]["status"] == "rejected"


async def test_rates_are_listed_with_the_illustrative_mark(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "coordinator")
    rates = (await client.get("/api/v1/funding/rates", headers=headers)).json()
    by_currency = {r["currency"]: r for r in rates}
    assert set(by_currency) >= {
        "EUR",
        "USD",
        "GBP",
        "CHF",
        "SEK",
        "NOK",
        "ALL",
        "BAM",
        "MKD",
        "RSD",
    }
    assert by_currency["USD"]["illustrative"] is True
    assert by_currency["EUR"]["illustrative"] is False
