"""Loading the seed data into a real PostgreSQL: complete, consistent and idempotent."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg

from csomatch.domain import PARTICIPANTS
from csomatch.registry.gazetteer import load_areas
from csomatch.registry.seeding import SeedReport, default_seed_dir, load_demo, load_reference

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)
TABLES = (
    "taxonomy_term",
    "area",
    "organization",
    "licence",
    "location",
    "service",
    "service_capacity",
    "funder",
    "funding",
    "funding_service",
)


async def _row_counts(conn: asyncpg.Connection) -> dict[str, int]:
    # Table names come from the constant tuple above, never from input.
    return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in TABLES}


def test_gazetteer_covers_all_six_participants() -> None:
    areas = load_areas()
    assert {a.participant_code for a in areas} == set(PARTICIPANTS)
    assert any(a.participant_code == "XK" and a.kind == "city" for a in areas)
    assert [a.code for a in areas] == sorted(a.code for a in areas)
    assert all(a.code.startswith(a.participant_code + "-") for a in areas)
    assert all(a.population >= 0 for a in areas)
    assert len({a.code for a in areas}) == len(areas)
    assert all((a.kind == "city") == (a.population >= 50_000) for a in areas)


async def test_load_reference_loads_taxonomy_and_areas_only(conn: asyncpg.Connection) -> None:
    report = await load_reference(conn, default_seed_dir())

    taxonomy = json.loads((default_seed_dir() / "taxonomy.json").read_text("utf-8"))
    assert report.taxonomy_terms == len(taxonomy["groups"]) + len(taxonomy["codes"])
    assert report.areas == len(load_areas())
    assert report.organizations == report.services == report.grants == 0
    orphans = await conn.fetchval(
        "SELECT count(*) FROM taxonomy_term WHERE position('.' in code) > 0"
        " AND parent_code <> split_part(code, '.', 1)"
    )
    assert orphans == 0


async def test_load_demo_fills_the_registry(conn: asyncpg.Connection) -> None:
    lines: list[str] = []
    report = await load_demo(conn, default_seed_dir(), now=NOW, progress=lines.append)

    assert report.organizations >= 90
    assert report.services >= 400
    assert report.capacities == report.services
    assert report.funders > 0
    assert report.grants > 0
    assert any(line.startswith("organisations: ") for line in lines)
    counts = await _row_counts(conn)
    assert counts["organization"] == report.organizations
    assert counts["service"] == report.services

    codes_without_service = await conn.fetch(
        "SELECT t.code FROM taxonomy_term t WHERE t.parent_code IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM service s WHERE s.taxonomy_code = t.code)"
    )
    assert codes_without_service == []

    area_participants = {
        r["participant_code"]
        for r in await conn.fetch("SELECT DISTINCT participant_code FROM area")
    }
    assert area_participants == set(PARTICIPANTS)
    service_participants = {
        r["participant_code"]
        for r in await conn.fetch(
            "SELECT DISTINCT a.participant_code FROM service s"
            " JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code"
        )
    }
    assert service_participants == set(PARTICIPANTS)


async def test_every_service_location_is_in_a_known_area(conn: asyncpg.Connection) -> None:
    await load_demo(conn, default_seed_dir(), now=NOW)

    unplaced = await conn.fetchval(
        "SELECT count(*) FROM service s JOIN location l ON l.id = s.location_id"
        " LEFT JOIN area a ON a.code = l.area_code WHERE a.code IS NULL"
    )
    assert unplaced == 0


async def test_funding_is_linked_to_services_of_the_recipient(conn: asyncpg.Connection) -> None:
    await load_demo(conn, default_seed_dir(), now=NOW)

    funding = json.loads((default_seed_dir() / "funding.json").read_text("utf-8"))
    expected_links = sum(len(set(g["services"])) for g in funding["grants"])
    assert await conn.fetchval("SELECT count(*) FROM funding_service") == expected_links
    assert await conn.fetchval("SELECT count(*) FROM funding") == len(funding["grants"])

    foreign_links = await conn.fetchval(
        "SELECT count(*) FROM funding_service fs JOIN funding f ON f.id = fs.funding_id"
        " JOIN service s ON s.id = fs.service_id"
        " WHERE s.organization_id IS DISTINCT FROM f.recipient_organization_id"
    )
    assert foreign_links == 0
    # Relative periods: some grants are current on the load day, some have ended.
    today = NOW.date()
    current = await conn.fetchval(
        "SELECT count(*) FROM funding WHERE period_start <= $1 AND period_end >= $1", today
    )
    ended = await conn.fetchval("SELECT count(*) FROM funding WHERE period_end < $1", today)
    assert current > 0
    assert ended > 0
    # Every shelter has at least one grant.
    unfunded_shelters = await conn.fetchval(
        "SELECT count(*) FROM service s JOIN taxonomy_term t ON t.code = s.taxonomy_code"
        " WHERE t.accommodation AND s.taxonomy_code <> 'ACC.FOSTER'"
        " AND NOT EXISTS (SELECT 1 FROM funding_service fs WHERE fs.service_id = s.id)"
    )
    assert unfunded_shelters == 0


async def test_capacity_times_are_relative_to_now(conn: asyncpg.Connection) -> None:
    await load_demo(conn, default_seed_dir(), now=NOW)

    row = await conn.fetchrow("SELECT max(updated_at), min(updated_at) FROM service_capacity")
    assert row is not None
    newest, oldest = row
    assert newest <= NOW
    assert NOW - oldest > dt.timedelta(hours=72)  # the demo has stale capacity on purpose


async def test_second_load_adds_nothing(conn: asyncpg.Connection) -> None:
    first = await load_demo(conn, default_seed_dir(), now=NOW)
    before = await _row_counts(conn)

    second = await load_demo(conn, default_seed_dir(), now=NOW + dt.timedelta(hours=5))

    assert first.organizations > 0
    assert second == SeedReport(
        taxonomy_terms=0,
        areas=0,
        organizations=0,
        licences=0,
        locations=0,
        services=0,
        capacities=0,
        funders=0,
        grants=0,
    )
    assert await _row_counts(conn) == before
