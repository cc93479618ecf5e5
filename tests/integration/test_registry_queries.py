"""Migrations and registry queries on a real PostgreSQL: constraints hold, searches find."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from csomatch.db import areas as area_db
from csomatch.db import organizations as org_db
from csomatch.db import services as svc_db
from csomatch.db.migrate import applied_versions, available_migrations, migrate
from csomatch.domain import AddressScope, Area, TaxonomyTerm
from csomatch.errors import Conflict, InvalidInput

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
NIS = Area(
    code="RS-787657", participant_code="RS", name="Niš", kind="city", population=250000,
    latitude=43.32472, longitude=21.90333,
)  # fmt: skip
BELGRADE = Area(
    code="RS-792680", participant_code="RS", name="Belgrade", kind="city", population=1273651,
    latitude=44.80401, longitude=20.46513,
)  # fmt: skip
TIRANA = Area(
    code="AL-3183875", participant_code="AL", name="Tirana", kind="city", population=374801,
    latitude=41.3275, longitude=19.81889,
)  # fmt: skip


def new_org(participant: str = "RS", **overrides: object) -> org_db.NewOrganization:
    values: dict[str, object] = {
        "id": uuid.uuid4(), "participant_code": participant, "name": "Fictional Harbour CSO",
        "kind": "cso", "registration_number": f"REG-{uuid.uuid4().hex[:8]}",
        "survivor_led": False, "email": None, "website": None, "accepting_referrals": True,
    }  # fmt: skip
    values.update(overrides)
    return org_db.NewOrganization(**values)  # type: ignore[arg-type]


def new_location(org_id: uuid.UUID, area: Area, **overrides: object) -> org_db.NewLocation:
    values: dict[str, object] = {
        "id": uuid.uuid4(), "organization_id": org_id, "name": f"{area.name} office",
        "area_code": area.code, "address": "Fernfield Row 1", "latitude": area.latitude + 0.01,
        "longitude": area.longitude + 0.01, "accessibility": [], "confidential": False,
    }  # fmt: skip
    values.update(overrides)
    return org_db.NewLocation(**values)  # type: ignore[arg-type]


def new_service(org_id: uuid.UUID, loc_id: uuid.UUID, **overrides: object) -> svc_db.NewService:
    values: dict[str, object] = {
        "id": uuid.uuid4(), "organization_id": org_id, "location_id": loc_id,
        "taxonomy_code": "ACC.EMERG", "name": "Emergency shelter", "description": "",
        "genders": ["female"], "age_bands": ["18-24", "25-59"],
        "accepts_accompanied_children": False, "serves_unaccompanied_minors": False,
        "child_only": False, "accepts_families": False, "max_group_size": 1,
        "languages": ["sr", "en"], "accessibility": [], "security_level": "standard",
        "intake_24_7": True, "cross_border": False, "licence_required": False,
        "accepting_referrals": True,
    }  # fmt: skip
    values.update(overrides)
    return svc_db.NewService(**values)  # type: ignore[arg-type]


async def seed_reference(conn: asyncpg.Connection) -> None:
    await area_db.upsert_areas(conn, [NIS, BELGRADE, TIRANA])
    await area_db.upsert_taxonomy(
        conn,
        [
            TaxonomyTerm(code="ACC", parent_code=None, name="Accommodation", accommodation=True),
            TaxonomyTerm(code="ACC.EMERG", parent_code="ACC", name="Emergency", accommodation=True),
            TaxonomyTerm(code="LEGAL", parent_code=None, name="Legal", accommodation=False),
            TaxonomyTerm(code="LEGAL.AID", parent_code="LEGAL", name="Aid", accommodation=False),
        ],
    )


async def add_service(
    conn: asyncpg.Connection,
    area: Area,
    *,
    available: int = 3,
    maximum: int = 10,
    hours_ago: float = 1.0,
    confidential: bool = False,
    **overrides: object,
) -> uuid.UUID:
    org = new_org(area.participant_code)
    await org_db.insert_organization(conn, org)
    loc = new_location(org.id, area, confidential=confidential)
    await org_db.insert_location(conn, loc)
    svc = new_service(org.id, loc.id, **overrides)
    await svc_db.insert_service(conn, svc)
    await svc_db.insert_capacity(
        conn,
        svc_db.NewCapacity(
            service_id=svc.id, unit="bed", maximum=maximum, available=available,
            updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago), verified_at=None,
        ),
    )  # fmt: skip
    return svc.id


def search_filter(**overrides: object) -> svc_db.SearchFilter:
    values: dict[str, object] = {
        "latitude": NIS.latitude, "longitude": NIS.longitude, "radius_km": None, "codes": None,
        "participant": None, "language": None, "gender": None, "age_band": None,
        "unaccompanied_minor": None, "accompanied_child": None,
        "available_only": False, "stale_after_hours": 72.0,
        "limit": 20, "offset": 0,
    }  # fmt: skip
    values.update(overrides)
    return svc_db.SearchFilter(**values)  # type: ignore[arg-type]


async def test_migrations_are_recorded_and_idempotent(conn: asyncpg.Connection) -> None:
    expected = [m.version for m in available_migrations()]
    assert await applied_versions(conn) == expected
    assert await migrate(conn) == []
    assert await applied_versions(conn) == expected


async def test_capacity_constraint_rejects_available_above_maximum(
    conn: asyncpg.Connection,
) -> None:
    await seed_reference(conn)
    service_id = await add_service(conn, NIS, available=3, maximum=10)
    cap = await svc_db.get_capacity(conn, service_id)
    assert cap is not None
    with pytest.raises(InvalidInput, match="report at most its maximum as free") as refused:
        await svc_db.upsert_capacity(
            conn, service_id, unit="bed", maximum=5, available=6, expected_version=cap.version
        )
    # A sentence saying what to do: never a formula or a constraint's name.
    assert not set("<>=") & set(refused.value.detail)
    assert "capacity_" not in refused.value.detail
    assert refused.value.field == "$.available"
    unchanged = await svc_db.get_capacity(conn, service_id)
    assert unchanged == cap


async def test_capacity_update_needs_the_current_version(conn: asyncpg.Connection) -> None:
    await seed_reference(conn)
    service_id = await add_service(conn, NIS)
    cap = await svc_db.get_capacity(conn, service_id)
    assert cap is not None
    updated = await svc_db.upsert_capacity(
        conn, service_id, unit="bed", maximum=12, available=7, expected_version=cap.version
    )
    assert updated is not None
    assert (updated.maximum, updated.available, updated.version) == (12, 7, cap.version + 1)
    assert updated.verified_at is not None
    stale = await svc_db.upsert_capacity(
        conn, service_id, unit="bed", maximum=12, available=1, expected_version=cap.version
    )
    assert stale is None
    current = await svc_db.get_capacity(conn, service_id)
    assert current is not None
    assert current.available == 7


async def test_unknown_taxonomy_code_is_rejected(conn: asyncpg.Connection) -> None:
    await seed_reference(conn)
    org = new_org()
    await org_db.insert_organization(conn, org)
    loc = new_location(org.id, NIS)
    await org_db.insert_location(conn, loc)
    with pytest.raises(InvalidInput, match="invalid taxonomy code"):
        await svc_db.insert_service(conn, new_service(org.id, loc.id, taxonomy_code="ACC.NOPE"))
    assert await svc_db.count_services(conn) == 0


async def test_service_location_must_belong_to_the_same_organisation(
    conn: asyncpg.Connection,
) -> None:
    await seed_reference(conn)
    mine, theirs = new_org(), new_org()
    await org_db.insert_organization(conn, mine)
    await org_db.insert_organization(conn, theirs)
    their_loc = new_location(theirs.id, NIS)
    await org_db.insert_location(conn, their_loc)
    with pytest.raises(InvalidInput, match="location does not belong"):
        await svc_db.insert_service(conn, new_service(mine.id, their_loc.id))


async def test_duplicate_registration_number_is_a_conflict(conn: asyncpg.Connection) -> None:
    await seed_reference(conn)
    await org_db.insert_organization(conn, new_org(registration_number="RS-1"))
    with pytest.raises(Conflict):
        await org_db.insert_organization(conn, new_org(registration_number="RS-1"))
    assert await org_db.count_organizations(conn) == 1


async def test_search_sorts_by_distance_and_filters(conn: asyncpg.Connection) -> None:
    await seed_reference(conn)
    near = await add_service(conn, NIS)
    far = await add_service(conn, BELGRADE)
    other = await add_service(conn, TIRANA, taxonomy_code="LEGAL.AID", languages=["sq"])
    page = await svc_db.search_services(conn, search_filter())
    rows = page.rows
    assert [r.service.id for r in rows] == [near, far, other]
    assert page.total == 3
    assert (page.origin, page.unknown_codes) == ((NIS.latitude, NIS.longitude), [])
    assert rows[0].distance_km < 5 < rows[1].distance_km
    assert 190 < rows[1].distance_km < 215  # Niš - Belgrade, about 200 km

    rows = (await svc_db.search_services(conn, search_filter(radius_km=50.0))).rows
    assert [r.service.id for r in rows] == [near]
    rows = (await svc_db.search_services(conn, search_filter(codes=["LEGAL.AID"]))).rows
    assert [r.service.id for r in rows] == [other]
    rows = (await svc_db.search_services(conn, search_filter(language="sq"))).rows
    assert [r.service.id for r in rows] == [other]
    rows = (await svc_db.search_services(conn, search_filter(participant="RS", gender="male"))).rows
    assert rows == []


async def test_search_available_counts_stale_as_unknown(conn: asyncpg.Connection) -> None:
    await seed_reference(conn)
    fresh = await add_service(conn, NIS, available=2, hours_ago=1)
    await add_service(conn, NIS, available=2, hours_ago=100)  # stale: unknown, not free
    await add_service(conn, NIS, available=0, hours_ago=1)  # full
    paused = await add_service(conn, NIS, available=2, hours_ago=1, accepting_referrals=False)
    page = await svc_db.search_services(conn, search_filter(available_only=True))
    rows = page.rows
    assert [r.service.id for r in rows] == [fresh]
    assert page.total == 1
    assert paused not in [r.service.id for r in rows]


async def test_search_places_confidential_sites_at_their_municipality(
    conn: asyncpg.Connection,
) -> None:
    await seed_reference(conn)
    hidden = await add_service(conn, NIS, confidential=True)
    rows = (
        await svc_db.search_services(
            conn, search_filter(latitude=NIS.latitude, longitude=NIS.longitude)
        )
    ).rows
    assert rows[0].service.id == hidden
    assert rows[0].distance_km == pytest.approx(0.0, abs=1e-6)  # the centre, not the site
    own = search_filter(address_scope=AddressScope(participant="RS"))
    rows = (await svc_db.search_services(conn, own)).rows
    assert rows[0].distance_km > 0.5  # the real point is 0.01 degrees away
    elsewhere = search_filter(address_scope=AddressScope(participant="AL"))
    rows = (await svc_db.search_services(conn, elsewhere)).rows
    assert rows[0].distance_km == pytest.approx(0.0, abs=1e-6)  # not Albania's shelter


async def test_list_and_update_services(conn: asyncpg.Connection) -> None:
    await seed_reference(conn)
    first = await add_service(conn, NIS)
    await add_service(conn, TIRANA, taxonomy_code="LEGAL.AID")
    page, total = await svc_db.list_services(
        conn, participant="RS", code=None, organization_id=None, limit=10, offset=0
    )
    assert total == 1
    assert [s.id for s in page] == [first]
    service = await svc_db.get_service(conn, first)
    assert service is not None
    assert await svc_db.update_service(conn, first, {"name": "Night shelter"}, service.version)
    assert not await svc_db.update_service(conn, first, {"name": "Lost"}, service.version)
    renamed = await svc_db.get_service(conn, first)
    assert renamed is not None
    assert (renamed.name, renamed.version) == ("Night shelter", service.version + 1)


async def test_find_areas_ignores_accents(conn: asyncpg.Connection) -> None:
    await seed_reference(conn)
    found = await area_db.find_areas(conn, query="nis", participant=None, limit=5)
    assert [a.code for a in found] == [NIS.code]
    assert await area_db.get_area(conn, TIRANA.code) == TIRANA
    assert await area_db.count_areas(conn) == 3


async def test_audit_log_is_append_only(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO audit_event (action, object_type, outcome, prev_hash, hash)"
        " VALUES ('read', 'referral', 'ok', '\\x00', '\\x01')"
    )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("UPDATE audit_event SET outcome = 'forged'")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute("DELETE FROM audit_event")
