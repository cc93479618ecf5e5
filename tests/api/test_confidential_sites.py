"""A confidential site's street address and exact point reach only the coordinators and admins
of its own jurisdiction, through every route that shows, measures or searches a location.

Another participant's coordinator or admin, a region-wide ``MARRI`` token, officers, providers
and funders see the municipality only, and distances to the site are measured from the
municipality's centre (the same figures as an officer gets), so they cannot locate it either.
The search is checked both from the in-memory index and from the SQL statement.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.settings import Settings
from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
SHELTER = uuid.UUID("9b8ecbcd-7895-5967-9c12-31e341d4d782")  # confidential, Belgrade (RS)
BELGRADE = "RS-792680"
#: Who sees the site in full (Serbia's own) and who sees its municipality only.
OWN = (("coordinator", "RS"), ("admin", "RS"))
OTHERS = (
    ("coordinator", "AL"), ("admin", "AL"), ("coordinator", "MARRI"), ("admin", "MARRI"),
    ("officer", "RS"), ("officer", "AL"), ("funder", "RS"),
)  # fmt: skip


class Site:
    """The shelter as stored: its service code, location, address and exact point."""

    def __init__(self, row: asyncpg.Record) -> None:
        self.code: str = row["taxonomy_code"]
        self.location_id: uuid.UUID = row["location_id"]
        self.organization_id: uuid.UUID = row["organization_id"]
        self.address: str = row["address"]
        self.point = (row["latitude"], row["longitude"])
        self.centre = (row["area_latitude"], row["area_longitude"])


@pytest.fixture
async def site(demo_db: str) -> Site:
    """The demo shelter, moved 5 km from its municipality's centre and open to referrals."""
    conn = await asyncpg.connect(demo_db)
    try:
        await conn.execute(
            "UPDATE location SET latitude = a.latitude + 0.05, longitude = a.longitude,"
            " address = 'Fictional street 1', confidential = true FROM service s, area a"
            " WHERE s.id = $1 AND location.id = s.location_id AND a.code = location.area_code",
            SHELTER,
        )
        await conn.execute(
            "UPDATE service SET accepting_referrals = true, genders = ARRAY['female', 'male'],"
            " age_bands = ARRAY['18-24', '25-59'], languages = ARRAY['sr'], child_only = false,"
            " accepts_families = true, max_group_size = 10 WHERE id = $1",
            SHELTER,
        )
        await conn.execute(
            "INSERT INTO service_capacity (service_id, unit, maximum, available, updated_at)"
            " VALUES ($1, 'bed', 9, 9, now()) ON CONFLICT (service_id) DO UPDATE"
            " SET maximum = 9, available = 9, updated_at = now()",
            SHELTER,
        )
        row = await conn.fetchrow(
            "SELECT s.taxonomy_code, s.location_id, s.organization_id, l.address, l.latitude,"
            " l.longitude, a.latitude AS area_latitude, a.longitude AS area_longitude"
            " FROM service s JOIN location l ON l.id = s.location_id"
            " JOIN area a ON a.code = l.area_code WHERE s.id = $1",
            SHELTER,
        )
    finally:
        await conn.close()
    assert row is not None
    assert row["area_latitude"] != row["latitude"]
    return Site(row)


@pytest.fixture
async def sql_client(demo_db: str) -> AsyncIterator[Client]:
    """The app with the search index off: every search runs the SQL statement."""
    settings = Settings(database_url=demo_db, pool_min_size=1, pool_max_size=4, search_index=False)
    async with AsyncTestClient(app=create_app(settings, demo_db)) as test_client:
        yield test_client


def _location(service: dict[str, Any]) -> tuple[str | None, tuple[float, float]]:
    loc = service["location"]
    return loc["address"], (loc["latitude"], loc["longitude"])


def _check(who: tuple[str, str], service: dict[str, Any], site: Site, route: str) -> None:
    """The site in full for its own jurisdiction's coordinators and admins, else the centre."""
    address, point = _location(service)
    if who in OWN:
        assert (address, point) == (site.address, site.point), (who, route)
    else:
        assert (address, point) == (None, site.centre), (who, route)
    assert service["location"]["municipality_code"] == BELGRADE


def _find(items: list[dict[str, Any]], key: str = "id") -> dict[str, Any]:
    return next(item for item in items if item[key] == str(SHELTER))


def _no_point_anywhere(value: Any) -> None:
    """No address, latitude or longitude at any depth of an answer."""
    if isinstance(value, dict):
        assert not {"address", "latitude", "longitude"} & set(value), sorted(value)
        for item in value.values():
            _no_point_anywhere(item)
    elif isinstance(value, list):
        for item in value:
            _no_point_anywhere(item)


async def test_the_registry_and_the_search_show_the_site_only_to_its_own_jurisdiction(
    client: Client, sql_client: Client, demo_db: str, site: Site
) -> None:
    # Named: a caller of another participant searches its own by default.
    search = {
        "lat": site.point[0], "lon": site.point[1], "code": site.code, "limit": 100,
        "participant": "RS",
    }  # fmt: skip
    distances: dict[tuple[str, str], set[float]] = {}
    for who in OWN + OTHERS:
        headers = await make_token(demo_db, *who)
        listed = await client.get(
            "/api/v1/services", params={"participant": "RS", "limit": 200}, headers=headers
        )
        _check(who, _find(listed.json()["services"]), site, "GET /services")
        one = await client.get(f"/api/v1/services/{SHELTER}", headers=headers)
        _check(who, one.json(), site, "GET /services/{id}")
        for app in (client, sql_client):
            found = await app.get("/api/v1/services/search", params=search, headers=headers)
            if who[0] == "funder":
                assert found.status_code == 403
                continue
            assert found.status_code == 200, found.text
            hit = next(h for h in found.json()["hits"] if h["service"]["id"] == str(SHELTER))
            _check(who, hit["service"], site, "GET /services/search")
            distances.setdefault(who, set()).add(hit["distance_km"])
    # searched from the site itself: 0 km for its own jurisdiction, the centre's 5.6 km for
    # everyone else (what an officer gets), from the index and from SQL alike
    [officer_km] = distances[("officer", "RS")]
    assert officer_km > 5.0
    for who, seen in distances.items():
        assert seen == ({0.0} if who in OWN else {officer_km}), (who, seen)


async def test_changes_answer_with_the_site_only_for_its_own_jurisdiction(
    client: Client, demo_db: str, site: Site
) -> None:
    for who in (*OWN, ("admin", "MARRI"), ("coordinator", "MARRI")):
        headers = await make_token(demo_db, *who)
        patched = await client.patch(
            f"/api/v1/services/{SHELTER}", json={"intake_24_7": True}, headers=headers
        )
        assert patched.status_code == 200, patched.text
        _check(who, patched.json(), site, "PATCH /services/{id}")
        body = {
            "organization_id": str(site.organization_id), "location_id": str(site.location_id),
            "code": "PSY.COUNSEL", "name": f"Counselling {who}", "genders": ["female"],
            "age_bands": ["25-59"],
        }  # fmt: skip
        created = await client.post("/api/v1/services", json=body, headers=headers)
        assert created.status_code == 201, created.text
        _check(who, {**created.json(), "id": str(SHELTER)}, site, "POST /services")
    for who in (("admin", "AL"), ("coordinator", "AL")):
        headers = await make_token(demo_db, *who)
        patched = await client.patch(
            f"/api/v1/services/{SHELTER}", json={"intake_24_7": True}, headers=headers
        )
        assert patched.status_code == 404  # another participant's organisation


def _shelter_km(answer: dict[str, Any]) -> float | None:
    for need in answer["needs"]:
        for s in need["suggestions"]:
            if s["service_id"] == str(SHELTER):
                return float(s["distance_km"])
    return None


async def test_the_matcher_measures_to_the_centre_for_everyone_else(
    client: Client, demo_db: str, site: Site
) -> None:
    profile = {
        "needs": [{"code": site.code, "priority": "must"}], "urgency": "urgent",
        "age_band": "25-59", "gender": "female", "languages": ["sr"], "current_area": BELGRADE,
        "jurisdiction": "RS",
    }  # fmt: skip
    seen: dict[tuple[str, str], float | None] = {}
    batches: dict[tuple[str, str], Any] = {}
    callers = (*OWN, ("admin", "MARRI"), ("coordinator", "MARRI"), ("officer", "RS"))
    for who in (("coordinator", "AL"), ("admin", "AL")):
        # Another participant's people do not match for Serbia (nor count its demand).
        headers = await make_token(demo_db, *who)
        answer = await client.post("/api/v1/match/suggestions", json=profile, headers=headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["field"] == "$.jurisdiction"
    for who in callers:
        headers = await make_token(demo_db, *who)
        answer = await client.post("/api/v1/match/suggestions", json=profile, headers=headers)
        assert answer.status_code == 200, answer.text
        _no_point_anywhere(answer.json())
        seen[who] = _shelter_km(answer.json())
        batch = await client.post(
            "/api/v1/match/batch", json={"people": [{**profile, "key": "p1"}]}, headers=headers
        )
        assert batch.status_code == 200, batch.text
        _no_point_anywhere(batch.json())
        batches[who] = batch.json()["people"]
    officer = seen[("officer", "RS")]
    assert officer is not None
    for who, km in seen.items():
        if who in OWN:
            assert km is not None, who
            assert km > officer + 1, (who, km)  # the site, 5.6 km north
        else:
            assert km == officer, (who, km)
            assert batches[who] == batches[("officer", "RS")], who


async def test_referral_suggestions_of_a_regional_coordinator_hide_the_site(
    client: Client, demo_db: str, site: Site
) -> None:
    officer = await make_token(demo_db, "officer")
    body = {
        "needs": [{"code": site.code, "priority": "must"}], "urgency": "urgent",
        "age_band": "25-59", "gender": "female", "languages": ["sr"], "current_area": BELGRADE,
        "jurisdiction": "RS",
        "consent": {"given": True, "method": "verbal", "scope": ["referral"],
                    "at": dt.datetime.now(dt.UTC).isoformat()},
    }  # fmt: skip

    def idem() -> dict[str, str]:
        return {"Idempotency-Key": str(uuid.uuid4())}

    ref = (await client.post("/api/v1/referrals", json=body, headers=officer | idem())).json()
    path = f"/api/v1/referrals/{ref['id']}"
    await client.post(f"{path}/transitions", json={"to": "submitted"}, headers=officer | idem())
    km: dict[str, float | None] = {}
    for name, headers in (
        ("officer", officer),
        ("MARRI", await make_token(demo_db, "coordinator", jurisdiction="MARRI")),
        ("RS", await make_token(demo_db, "coordinator")),
    ):
        answer = await client.post(f"{path}/suggestions", headers=headers | idem())
        assert answer.status_code == 200, answer.text
        _no_point_anywhere(answer.json())
        km[name] = _shelter_km(answer.json())
    assert km["officer"] is not None
    assert km["MARRI"] == km["officer"]
    assert km["RS"] is not None
    assert km["RS"] > km["officer"] + 1


async def test_gap_evidence_names_no_address_or_point(
    client: Client, demo_db: str, site: Site
) -> None:
    first = dt.datetime.now(dt.UTC).date().replace(day=1)
    month = (first - dt.timedelta(days=1)).strftime("%Y-%m")  # the last closed month
    for cell in (f"RS:{BELGRADE}:{site.code}:{month}", f"RS:ALL:{site.code}:{month}"):
        for who in (("funder", "RS"), ("admin", "AL"), ("admin", "MARRI"), ("coordinator", "RS")):
            answer = await client.get(
                f"/api/v1/gaps/{cell}", headers=await make_token(demo_db, *who)
            )
            assert answer.status_code == 200, (who, answer.text)
            assert str(SHELTER) in answer.text  # the shelter is evidence of this cell
            _no_point_anywhere(answer.json())
