"""The funding ledger on a real PostgreSQL with the demo registry: importers, matching,
idempotency, services, EUR rates, scopes and dry runs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import msgspec
import pytest

from csomatch.db import funding as funding_db
from csomatch.funding import parse
from csomatch.funding.ledger import OPERATOR, Scope, run_import
from csomatch.funding.rates import import_rates, parse_rates
from tests.reference import IATI_EXAMPLE as EXAMPLE
from tests.unit.funding.test_funding_readers import budget, iati_activity, iati_file

HEADER = (
    "funder,recipient,registration number,service codes,amount,currency,start,end,external id\n"
)


@pytest.fixture
async def db(demo_db: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh database holding the demo registry."""
    conn = await asyncpg.connect(demo_db)
    try:
        yield conn
    finally:
        await conn.close()


async def first_org(conn: asyncpg.Connection, participant: str) -> asyncpg.Record:
    """The first demo organisation of a participant that has services, with one service."""
    row = await conn.fetchrow(
        "SELECT o.id, o.name, o.registration_number, s.id AS service_id, s.taxonomy_code"
        " FROM organization o JOIN service s ON s.organization_id = o.id"
        " WHERE o.participant_code = $1 ORDER BY o.name, s.taxonomy_code LIMIT 1",
        participant,
    )
    assert row is not None
    return row


async def import_bytes(
    conn: asyncpg.Connection,
    data: bytes,
    fmt: str,
    *,
    scope: Scope = OPERATOR,
    dry_run: bool = False,
) -> funding_db.ImportRecord | object:
    """Parse and import; return the report."""
    parsed = parse(data, fmt)
    return await run_import(conn, parsed, source=parsed.format, scope=scope, dry_run=dry_run)


async def test_csv_import_is_idempotent_and_a_changed_row_updates(
    db: asyncpg.Connection,
) -> None:
    org = await first_org(db, "AL")
    rows = [
        f"Marigold Foundation,{org['name']},{org['registration_number']},{org['taxonomy_code']},"
        f"{1000 + n},EUR,2025-01-01,2025-12-31,CSV-{n}\n"
        for n in range(3)
    ]
    data = (HEADER + "".join(rows)).encode()
    first = await import_bytes(db, data, "csv")
    assert (first.imported, first.updated, first.unchanged, first.skipped) == (3, 0, 0, 0)
    before = await funding_db.count_funding(db)

    again = await import_bytes(db, data, "csv")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 3)
    assert await funding_db.count_funding(db) == before

    changed = data.replace(b"1001,EUR", b"1999,EUR")
    third = await import_bytes(db, changed, "csv")
    assert (third.imported, third.updated, third.unchanged) == (0, 1, 2)
    amount = await db.fetchval(
        "SELECT amount FROM funding WHERE source = 'csv' AND external_id = $1",
        "FUND-FDN-MARIGOLD:CSV-1",
    )
    assert amount == Decimal("1999.00")
    # The existing seed funder was found by name; its service was linked by code.
    assert first.funders_created == []
    links = await db.fetchval(
        "SELECT count(*) FROM funding_service fs JOIN funding f ON f.id = fs.funding_id"
        " WHERE f.source = 'csv' AND fs.service_id = $1",
        org["service_id"],
    )
    assert links == 3


async def test_recipients_by_identifier_name_and_review(db: asyncpg.Connection) -> None:
    org = await first_org(db, "RS")
    folded = org["name"].upper()
    close = " ".join(org["name"].split()[:-1])
    data = (
        HEADER + f"Marigold Foundation,Whatever Name,{org['registration_number']},,10,EUR,"
        "2025-01-01,2025-12-31,A\n"
        f"Marigold Foundation,{folded},,,20,EUR,2025-01-01,2025-12-31,B\n"
        f"Marigold Foundation,{close},,{org['taxonomy_code']},30,EUR,2025-01-01,2025-12-31,C\n"
        "Marigold Foundation,Zebra Mountain Bicycle Club,,,40,EUR,2025-01-01,2025-12-31,D\n"
    ).encode()
    report = await import_bytes(db, data, "csv")
    assert report.matched_by == {"identifier": 1, "name": 1, "unmatched": 2}
    by_name = {u.name: u for u in report.unmatched}
    assert by_name[close].candidate_id == org["id"]
    assert by_name["Zebra Mountain Bicycle Club"].candidate_id is None

    pending = await funding_db.list_reviews(db, status="pending")
    assert {r.name for r in pending} == {close, "Zebra Mountain Bicycle Club"}
    review_id = by_name[close].review_id
    assert review_id is not None
    async with db.transaction():
        linked = await funding_db.decide_review(
            db, review_id, status="confirmed", organization_id=org["id"]
        )
    assert linked == 1
    row = await db.fetchrow(
        "SELECT f.recipient_organization_id, f.match_method,"
        " (SELECT count(*) FROM funding_service fs WHERE fs.funding_id = f.id) AS links"
        " FROM funding f WHERE f.external_id = 'FUND-FDN-MARIGOLD:C'"
    )
    assert row is not None
    assert (row["recipient_organization_id"], row["match_method"]) == (org["id"], "confirmed")
    assert row["links"] >= 1

    # The decision is remembered: the same file again changes nothing, adds nothing.
    again = await import_bytes(db, data, "csv")
    assert (again.imported, again.updated) == (0, 0)
    assert [u.name for u in again.unmatched] == ["Zebra Mountain Bicycle Club"]


async def test_unknown_service_code_is_skipped_naming_the_row(db: asyncpg.Connection) -> None:
    data = (
        HEADER + "Marigold Foundation,X Org,,NOT.ACODE,10,EUR,2025-01-01,2025-12-31,Z\n"
    ).encode()
    report = await import_bytes(db, data, "csv")
    assert report.imported == 0
    (skip,) = report.skips
    assert (skip.where, skip.field) == ("row 2", "services")
    assert "NOT.ACODE" in skip.reason


async def test_amounts_in_eur_follow_the_rate_table(db: asyncpg.Connection) -> None:
    data = (
        HEADER + "Marigold Foundation,X Org,,,1000,USD,2025-01-01,2025-12-31,USD-1\n"
        "Marigold Foundation,X Org,,,1956,BAM,2025-01-01,2025-12-31,BAM-1\n"
    ).encode()
    await import_bytes(db, data, "csv")
    eur = dict(
        await db.fetch(
            "SELECT currency, amount_eur FROM funding WHERE source = 'csv' ORDER BY currency"
        )
    )
    assert eur["USD"] == Decimal("920.00")  # the illustrative default rate 0.92
    assert eur["BAM"] == Decimal("1000.09")  # the BAM peg: 1956 / 1.95583
    rates = parse_rates(
        b"currency,valid_from,eur_per_unit\nUSD,2024-06-01,0.90\nUSD,2025-06-01,0.50\n",
        default_source="test",
    )
    async with db.transaction():
        await import_rates(db, rates)
    usd = await db.fetchval("SELECT amount_eur FROM funding WHERE external_id LIKE '%USD-1'")
    # Converted at the start of the period (no value date): the rate valid on 2025-01-01.
    assert usd == Decimal("900.00")
    # Seed rows carry EUR amounts too (the trigger fills them whoever writes).
    missing = await db.fetchval("SELECT count(*) FROM funding WHERE amount_eur IS NULL")
    assert missing == 0


async def test_the_official_iati_example_imports_once(db: asyncpg.Connection) -> None:
    data = EXAMPLE.read_bytes()
    first = await import_bytes(db, data, "iati")
    assert (first.rows_read, first.imported, first.transactions) == (1, 1, 1)
    assert [u.identifier for u in first.unmatched] == ["AA-AAA-123456789"]
    assert "BB-BBB-123456789" in first.funders_created
    again = await import_bytes(db, data, "iati")
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 1)
    assert await funding_db.count_transactions(db, "AA-AAA-123456789-ABC123") == 1


PARTICIPANT_CURRENCY = {
    "AL": "ALL", "BA": "BAM", "XK": "EUR", "ME": "EUR", "MK": "MKD", "RS": "RSD",
}  # fmt: skip


async def test_synthetic_iati_for_the_six_participants(db: asyncpg.Connection) -> None:
    activities = []
    orgs = {}
    for participant, currency in PARTICIPANT_CURRENCY.items():
        org = await first_org(db, participant)
        orgs[participant] = org
        sector = (
            '<sector vocabulary="99" vocabulary-uri="urn:csomatch:taxonomy"'
            f' code="{org["taxonomy_code"]}"/>'
        )
        activities.append(
            iati_activity(
                f"XM-DAC-99-1-{participant}",
                currency=currency,
                recipient=(org["registration_number"], org["name"]),
                extra='<other-identifier ref="csomatch:units:6:place" type="A1"/>',
                sectors=f'<recipient-country code="{participant}"/>{sector}',
                budgets=budget("2025-01-01", "2025-12-31", "100000", status="2")
                + budget("2026-01-01", "2026-12-31", "100000"),
            )
        )
    report = await import_bytes(db, iati_file(*activities), "iati")
    assert not report.skips
    assert (report.rows_read, report.imported) == (6, 12)
    assert report.matched_by == {"identifier": 12}
    assert report.funders_created == []  # Northwind is in the demo ledger already
    rows = await db.fetch(
        "SELECT f.recipient_organization_id, f.currency, f.amount_eur, f.status,"
        " f.funded_units, f.unit, array_agg(fs.service_id) AS services"
        " FROM funding f JOIN funding_service fs ON fs.funding_id = f.id"
        " WHERE f.source = 'iati' AND f.period_start = '2025-01-01'"
        " GROUP BY f.id"
    )
    assert len(rows) == 6
    by_org = {r["recipient_organization_id"]: r for r in rows}
    for participant, org in orgs.items():
        row = by_org[org["id"]]
        assert row["currency"] == PARTICIPANT_CURRENCY[participant]
        assert row["amount_eur"] is not None
        assert row["amount_eur"] > 0
        assert (row["status"], row["funded_units"], row["unit"]) == ("committed", 6, "place")
        assert org["service_id"] in row["services"]


async def test_360giving_import(db: asyncpg.Connection) -> None:
    org = await first_org(db, "ME")
    grants = {
        "grants": [
            {
                "id": "360G-KESTREL-1",
                "title": "Reintegration",
                "amountAwarded": 30000,
                "currency": "GBP",
                "awardDate": "2025-01-15",
                "plannedDates": [{"startDate": "2025-02-01", "endDate": "2026-01-31"}],
                "recipientOrganization": [{"id": org["registration_number"], "name": "x"}],
                "fundingOrganization": [{"id": "GB-CHC-1", "name": "Kestrel Family Foundation"}],
            }
        ]
    }
    data = msgspec.json.encode(grants)
    report = await import_bytes(db, data, "360giving")
    assert (report.imported, report.matched_by) == (1, {"identifier": 1})
    assert (await import_bytes(db, data, "360giving")).unchanged == 1


async def test_a_funder_token_adds_only_its_own_funding(db: asyncpg.Connection) -> None:
    marigold = await funding_db.get_funder_by_ref(db, "FUND-FDN-MARIGOLD")
    assert marigold is not None
    scope = Scope(role="funder", jurisdiction="MARRI", funder_id=marigold.id)
    data = (
        HEADER + "Marigold Foundation,X Org,,,10,EUR,2025-01-01,2025-12-31,M-1\n"
        "Kestrel Family Foundation,X Org,,,10,EUR,2025-01-01,2025-12-31,K-1\n"
    ).encode()
    report = await import_bytes(db, data, "csv", scope=scope)
    assert report.imported == 1
    (skip,) = report.skips
    assert (skip.where, "where it is the funder" in skip.reason) == ("row 3", True)
    unlinked = Scope(role="funder", jurisdiction="MARRI", funder_id=None)
    assert (await import_bytes(db, data, "csv", scope=unlinked)).imported == 0


async def test_a_coordinator_adds_funding_of_its_jurisdiction(db: asyncpg.Connection) -> None:
    al, rs = await first_org(db, "AL"), await first_org(db, "RS")
    data = (
        HEADER + f"Marigold Foundation,x,{al['registration_number']},,10,EUR,2025-01-01,"
        "2025-12-31,J-1\n"
        f"Marigold Foundation,x,{rs['registration_number']},,10,EUR,2025-01-01,2025-12-31,J-2\n"
    ).encode()
    report = await import_bytes(db, data, "csv", scope=Scope(role="coordinator", jurisdiction="RS"))
    assert report.imported == 1
    assert report.skips[0].where == "row 2"


async def test_a_dry_run_saves_nothing(db: asyncpg.Connection) -> None:
    before = await funding_db.count_funding(db)
    data = (HEADER + "Brand New Funder,X Org,,,10,EUR,2025-01-01,2025-12-31,D-1\n").encode()
    report = await import_bytes(db, data, "csv", dry_run=True)
    assert (report.imported, report.funders_created) == (1, ["name:brand-new-funder"])
    assert await funding_db.count_funding(db) == before
    assert await funding_db.list_reviews(db, status=None) == []


async def test_ledger_listing_filters_and_totals(db: asyncpg.Connection) -> None:
    entries, total, eur = await funding_db.list_ledger(
        db, funding_db.LedgerFilter(funder_ref="FUND-FDN-MARIGOLD", limit=5)
    )
    assert total > 0
    assert eur > 0
    assert all(e.funder_ref == "FUND-FDN-MARIGOLD" for e in entries)
    today = dt.date.today()
    active, _, _ = await funding_db.list_ledger(
        db, funding_db.LedgerFilter(active_on=today, limit=200)
    )
    assert all(e.period_start <= today <= e.period_end for e in active)
    _ = uuid
