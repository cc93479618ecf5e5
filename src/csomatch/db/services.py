"""Queries on services and their capacity, including the distance search."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.domain import Capacity, Service

_SERVICE_SELECT = (
    "SELECT s.id, s.organization_id, o.name AS organization_name, s.location_id,"
    " s.taxonomy_code, s.name, s.description, s.genders, s.age_bands, s.accepts_children,"
    " s.child_only, s.accepts_families, s.max_group_size, s.languages, s.accessibility,"
    " s.security_level, s.intake_24_7, s.cross_border, s.licence_required,"
    " (s.accepting_referrals AND o.accepting_referrals) AS accepting_referrals,"
    " s.created_at, s.updated_at, s.version,"
    " l.name AS location_name, l.area_code, a.name AS area_name, a.participant_code,"
    " l.address, l.latitude, l.longitude, l.confidential,"
    " a.latitude AS area_latitude, a.longitude AS area_longitude,"
    " c.unit, c.maximum, c.available, c.held, c.updated_at AS capacity_updated_at,"
    " c.verified_at AS capacity_verified_at, c.version AS capacity_version"
    " FROM service s"
    " JOIN organization o ON o.id = s.organization_id"
    " JOIN location l ON l.id = s.location_id"
    " JOIN area a ON a.code = l.area_code"
    " LEFT JOIN service_capacity c ON c.service_id = s.id"
)
_CAPACITY_COLUMNS = "service_id, unit, maximum, available, held, updated_at, verified_at, version"

# Great-circle distance in km from ($1, $2) to (lat, lon) of the ``points`` CTE below.
_DISTANCE_KM = (
    "2 * 6371.0088 * asin(least(1, sqrt(power(sin(radians(lat - $1) / 2), 2)"
    " + cos(radians($1)) * cos(radians(lat)) * power(sin(radians(lon - $2) / 2), 2))))"
)


class NewService(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a service to insert."""

    id: uuid.UUID
    organization_id: uuid.UUID
    location_id: uuid.UUID
    taxonomy_code: str
    name: str
    description: str
    genders: list[str]
    age_bands: list[str]
    accepts_children: bool
    child_only: bool
    accepts_families: bool
    max_group_size: int
    languages: list[str]
    accessibility: list[str]
    security_level: str
    intake_24_7: bool
    cross_border: bool
    licence_required: bool
    accepting_referrals: bool


class NewCapacity(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a capacity record to insert."""

    service_id: uuid.UUID
    unit: str
    maximum: int
    available: int
    updated_at: dt.datetime
    verified_at: dt.datetime | None


class SearchFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What a search asks for; every field narrows the result, None means any."""

    latitude: float
    longitude: float
    radius_km: float | None
    codes: list[str] | None
    participant: str | None
    language: str | None
    gender: str | None
    age_band: str | None
    child: bool | None
    available_only: bool
    stale_after_hours: float
    reveal_confidential: bool
    limit: int
    offset: int


class SearchRow(msgspec.Struct, frozen=True, kw_only=True):
    """A service found by a search, with its distance from the search point."""

    service: Service
    distance_km: float


# Columns a service update may change, an allow-list for building the UPDATE statement.
SERVICE_EDITABLE = (
    "location_id",
    "taxonomy_code",
    "name",
    "description",
    "genders",
    "age_bands",
    "accepts_children",
    "child_only",
    "accepts_families",
    "max_group_size",
    "languages",
    "accessibility",
    "security_level",
    "intake_24_7",
    "cross_border",
    "licence_required",
    "accepting_referrals",
)


async def insert_service(conn: asyncpg.Connection, svc: NewService) -> bool:
    """Insert a service unless its id exists; return whether a row was added."""
    async with translated():
        status = await conn.execute(
            "INSERT INTO service (id, organization_id, location_id, taxonomy_code, name,"
            " description, genders, age_bands, accepts_children, child_only, accepts_families,"
            " max_group_size, languages, accessibility, security_level, intake_24_7,"
            " cross_border, licence_required, accepting_referrals)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
            " $17, $18, $19) ON CONFLICT (id) DO NOTHING",
            svc.id,
            svc.organization_id,
            svc.location_id,
            svc.taxonomy_code,
            svc.name,
            svc.description,
            svc.genders,
            svc.age_bands,
            svc.accepts_children,
            svc.child_only,
            svc.accepts_families,
            svc.max_group_size,
            svc.languages,
            svc.accessibility,
            svc.security_level,
            svc.intake_24_7,
            svc.cross_border,
            svc.licence_required,
            svc.accepting_referrals,
        )
    return bool(status.endswith(" 1"))


async def insert_capacity(conn: asyncpg.Connection, cap: NewCapacity) -> bool:
    """Insert a capacity record unless the service has one; return whether a row was added."""
    async with translated():
        status = await conn.execute(
            "INSERT INTO service_capacity (service_id, unit, maximum, available, held,"
            " updated_at, verified_at) VALUES ($1, $2, $3, $4, 0, $5, $6)"
            " ON CONFLICT (service_id) DO NOTHING",
            cap.service_id,
            cap.unit,
            cap.maximum,
            cap.available,
            cap.updated_at,
            cap.verified_at,
        )
    return bool(status.endswith(" 1"))


async def get_service(conn: asyncpg.Connection, service_id: uuid.UUID) -> Service | None:
    """Return one service with its location and capacity."""
    row = await conn.fetchrow(_SERVICE_SELECT + " WHERE s.id = $1", service_id)
    return None if row is None else msgspec.convert(row, Service, from_attributes=True)


async def list_services(
    conn: asyncpg.Connection,
    *,
    participant: str | None,
    code: str | None,
    organization_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> tuple[list[Service], int]:
    """Return a page of services ordered by participant, code and name, and the total."""
    where = (
        " WHERE ($1::text IS NULL OR a.participant_code = $1)"
        "   AND ($2::text IS NULL OR s.taxonomy_code = $2)"
        "   AND ($3::uuid IS NULL OR s.organization_id = $3)"
    )
    rows = await conn.fetch(
        _SERVICE_SELECT + where + " ORDER BY a.participant_code, s.taxonomy_code, s.name, s.id"
        " LIMIT $4 OFFSET $5",
        participant,
        code,
        organization_id,
        limit,
        offset,
    )
    total = await conn.fetchval(
        "SELECT count(*) FROM service s JOIN location l ON l.id = s.location_id"
        " JOIN area a ON a.code = l.area_code" + where,
        participant,
        code,
        organization_id,
    )
    return msgspec.convert(rows, list[Service], from_attributes=True), int(total)


async def list_services_of(conn: asyncpg.Connection, org_ids: Sequence[uuid.UUID]) -> list[Service]:
    """Return every service of some organisations."""
    rows = await conn.fetch(
        _SERVICE_SELECT + " WHERE s.organization_id = ANY($1::uuid[])"
        " ORDER BY s.organization_id, s.taxonomy_code, s.name, s.id",
        list(org_ids),
    )
    return msgspec.convert(rows, list[Service], from_attributes=True)


async def update_service(
    conn: asyncpg.Connection,
    service_id: uuid.UUID,
    changes: dict[str, object],
    expected_version: int | None,
) -> bool:
    """Apply ``changes`` (keys from SERVICE_EDITABLE); False if the id or version mismatch."""
    columns = [c for c in SERVICE_EDITABLE if c in changes]
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=3))
    sql = (
        "UPDATE service SET "
        + (assignments + ", " if assignments else "")
        + "updated_at = now(), version = version + 1"
        " WHERE id = $1 AND ($2::int IS NULL OR version = $2)"
    )
    async with translated():
        status = await conn.execute(
            sql, service_id, expected_version, *(changes[c] for c in columns)
        )
    return bool(status.endswith(" 1"))


async def get_capacity(conn: asyncpg.Connection, service_id: uuid.UUID) -> Capacity | None:
    """Return the capacity record of a service."""
    row = await conn.fetchrow(
        "SELECT " + _CAPACITY_COLUMNS + " FROM service_capacity WHERE service_id = $1", service_id
    )
    return None if row is None else msgspec.convert(row, Capacity, from_attributes=True)


async def upsert_capacity(
    conn: asyncpg.Connection,
    service_id: uuid.UUID,
    *,
    unit: str,
    maximum: int,
    available: int,
    expected_version: int | None,
) -> Capacity | None:
    """Set a service's capacity now (reported and verified by a person).

    With ``expected_version`` the row is changed only if it still has that version; with
    None a row is created when the service has none yet. Returns None on a version mismatch.
    """
    async with translated():
        if expected_version is None:
            row = await conn.fetchrow(
                "INSERT INTO service_capacity (service_id, unit, maximum, available, held,"
                " updated_at, verified_at) VALUES ($1, $2, $3, $4, 0, now(), now())"
                " ON CONFLICT (service_id) DO NOTHING RETURNING " + _CAPACITY_COLUMNS,
                service_id,
                unit,
                maximum,
                available,
            )
        else:
            row = await conn.fetchrow(
                "UPDATE service_capacity SET unit = $3, maximum = $4, available = $5,"
                " updated_at = now(), verified_at = now(), version = version + 1"
                " WHERE service_id = $1 AND version = $2 RETURNING " + _CAPACITY_COLUMNS,
                service_id,
                expected_version,
                unit,
                maximum,
                available,
            )
    return None if row is None else msgspec.convert(row, Capacity, from_attributes=True)


async def search_services(conn: asyncpg.Connection, f: SearchFilter) -> tuple[list[SearchRow], int]:
    """Services matching the filter, nearest first, and how many matched in all.

    ``available_only`` keeps services with free places (available - held > 0) whose number is
    younger than ``stale_after_hours``: a stale number counts as unknown, not as free.
    """
    # A confidential site is placed at its municipality's centre unless $3 (reveal), so that
    # distances from chosen points cannot be used to triangulate a shelter.
    sql = (
        "WITH points AS (SELECT s.id,"
        " CASE WHEN l.confidential AND NOT $3 THEN a.latitude ELSE l.latitude END AS lat,"
        " CASE WHEN l.confidential AND NOT $3 THEN a.longitude ELSE l.longitude END AS lon"
        " FROM service s"
        " JOIN organization o ON o.id = s.organization_id"
        " JOIN location l ON l.id = s.location_id"
        " JOIN area a ON a.code = l.area_code"
        " LEFT JOIN service_capacity c ON c.service_id = s.id"
        " WHERE ($4::text[] IS NULL OR s.taxonomy_code = ANY($4))"
        "   AND ($5::text IS NULL OR a.participant_code = $5)"
        "   AND ($6::text IS NULL OR $6 = ANY(s.languages))"
        "   AND ($7::text IS NULL OR $7 = ANY(s.genders))"
        "   AND ($8::text IS NULL OR $8 = ANY(s.age_bands))"
        "   AND ($9::bool IS NULL OR s.accepts_children = $9)"
        "   AND (NOT $10 OR (s.accepting_referrals AND o.accepting_referrals"
        "        AND c.available - c.held > 0"
        "        AND c.updated_at > now() - make_interval(secs => $11 * 3600)))"
        "), hits AS (SELECT id, " + _DISTANCE_KM + " AS distance_km FROM points)"
        ", page AS (SELECT id, distance_km, count(*) OVER () AS total FROM hits"
        " WHERE ($12::float8 IS NULL OR distance_km <= $12)"
        " ORDER BY distance_km, id LIMIT $13 OFFSET $14)"
        # The page's rows in full, in the same query (one round trip).
        " SELECT * FROM ("
        + _SERVICE_SELECT.replace("SELECT ", "SELECT page.distance_km, page.total, ", 1)
        + " JOIN page ON page.id = s.id) found ORDER BY distance_km, id"
    )
    rows = await conn.fetch(
        sql,
        f.latitude,
        f.longitude,
        f.reveal_confidential,
        f.codes,
        f.participant,
        f.language,
        f.gender,
        f.age_band,
        f.child,
        f.available_only,
        f.stale_after_hours,
        f.radius_km,
        f.limit,
        f.offset,
    )
    if not rows:
        return [], 0
    hits = msgspec.convert(rows, list[_Hit], from_attributes=True)
    return [SearchRow(service=h, distance_km=h.distance_km) for h in hits], int(rows[0]["total"])


class _Hit(Service, frozen=True):
    """A service row of a search with its distance (a Service to every reader)."""

    distance_km: float


async def count_services(conn: asyncpg.Connection) -> int:
    """Return how many services the registry holds."""
    return int(await conn.fetchval("SELECT count(*) FROM service"))
