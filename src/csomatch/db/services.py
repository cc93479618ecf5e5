"""Queries on services and their capacity, including the distance search."""

from __future__ import annotations

import datetime as dt
import functools
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.domain import AddressScope, Capacity, Service, ServiceFields
from csomatch.geo import EARTH_RADIUS_KM, chord_of_km

_SERVICE_SELECT = (
    "SELECT s.id, s.organization_id, o.name AS organization_name, s.location_id,"
    " s.taxonomy_code, s.name, s.description, s.genders, s.age_bands,"
    " s.accepts_accompanied_children, s.serves_unaccompanied_minors, s.child_only,"
    " s.accepts_families, s.max_group_size, s.languages, s.accessibility,"
    " s.security_level, s.intake_24_7, s.cross_border, s.licence_required,"
    " (s.accepting_referrals AND o.accepting_referrals) AS accepting_referrals,"
    " s.created_at, s.updated_at, s.version,"
    " l.name AS location_name, l.area_code, a.name AS area_name, a.participant_code,"
    " l.address, l.latitude, l.longitude, l.confidential,"
    " a.latitude AS area_latitude, a.longitude AS area_longitude,"
    " c.unit, c.maximum, c.available, c.held, c.updated_at AS capacity_updated_at,"
    " c.verified_at AS capacity_verified_at, c.version AS capacity_version, s.duty_phone"
    " FROM service s"
    " JOIN organization o ON o.id = s.organization_id"
    " JOIN location l ON l.id = s.location_id"
    " JOIN area a ON a.code = l.area_code"
    " LEFT JOIN service_capacity c ON c.service_id = s.id"
)
_CAPACITY_COLUMNS = "service_id, unit, maximum, available, held, updated_at, verified_at, version"


class NewService(ServiceFields, frozen=True):
    """Values of a service to insert."""

    #: The intake duty phone, E.164.
    duty_phone: str | None = None


class NewCapacity(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a capacity record to insert."""

    service_id: uuid.UUID
    unit: str
    maximum: int
    available: int
    updated_at: dt.datetime
    verified_at: dt.datetime | None


class SearchFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What a search asks for; every field narrows the result, None means any.

    The search measures from ``latitude``/``longitude``, or from the centre of ``area`` when
    they are None.
    """

    latitude: float | None = None
    longitude: float | None = None
    area: str | None = None
    radius_km: float | None
    codes: list[str] | None
    participant: str | None
    language: str | None
    gender: str | None
    age_band: str | None
    #: Serves unaccompanied minors (True), or does not (False).
    unaccompanied_minor: bool | None
    #: Accepts children accompanied by a parent or carer (True), or does not (False).
    accompanied_child: bool | None
    available_only: bool
    stale_after_hours: float
    limit: int
    offset: int
    #: Whose confidential sites are measured at their own point
    #: (``registry.addresses.address_scope``); every other confidential site is at its
    #: municipality's centre.
    address_scope: AddressScope = AddressScope()
    #: Offered by a survivor-led organisation (True), or not (False).
    survivor_led: bool | None = None


class SearchRow(msgspec.Struct, frozen=True, kw_only=True):
    """A service found by a search, with its distance from the search point."""

    service: Service
    distance_km: float


class SearchPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of a search, with what the statement learnt about its own input.

    ``origin`` is None when ``area`` names no area of the gazetteer; ``unknown_codes`` holds
    the positions in ``codes`` of those that are not service codes of the taxonomy;
    ``origin_participant`` is the participant of ``area`` (None for a point).
    """

    rows: list[SearchRow]
    total: int
    origin: tuple[float, float] | None
    origin_participant: str | None
    unknown_codes: list[int]


# Columns a service update may change, an allow-list for building the UPDATE statement.
SERVICE_EDITABLE = (
    "location_id",
    "taxonomy_code",
    "name",
    "description",
    "genders",
    "age_bands",
    "accepts_accompanied_children",
    "serves_unaccompanied_minors",
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
    "duty_phone",
)


async def insert_service(conn: asyncpg.Connection, svc: NewService) -> bool:
    """Insert a service unless its id exists; return whether a row was added."""
    async with translated():
        status = await conn.execute(
            "INSERT INTO service (id, organization_id, location_id, taxonomy_code, name,"
            " description, genders, age_bands, accepts_accompanied_children,"
            " serves_unaccompanied_minors, child_only, accepts_families,"
            " max_group_size, languages, accessibility, security_level, intake_24_7,"
            " cross_border, licence_required, accepting_referrals, duty_phone)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
            " $17, $18, $19, $20, $21) ON CONFLICT (id) DO NOTHING",
            svc.id,
            svc.organization_id,
            svc.location_id,
            svc.taxonomy_code,
            svc.name,
            svc.description,
            svc.genders,
            svc.age_bands,
            svc.accepts_accompanied_children,
            svc.serves_unaccompanied_minors,
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
            svc.duty_phone,
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
    survivor_led: bool | None = None,
) -> tuple[list[Service], int]:
    """Return a page of services ordered by participant, code and name, and the total.

    ``survivor_led``: only services of survivor-led organisations (True), or of the others.
    """
    where = (
        " WHERE ($1::text IS NULL OR a.participant_code = $1)"
        "   AND ($2::text IS NULL OR s.taxonomy_code = $2)"
        "   AND ($3::uuid IS NULL OR s.organization_id = $3)"
        "   AND ($4::bool IS NULL OR o.survivor_led = $4::bool)"
    )
    rows = await conn.fetch(
        _SERVICE_SELECT + where + " ORDER BY a.participant_code, s.taxonomy_code, s.name, s.id"
        " LIMIT $5 OFFSET $6",
        participant,
        code,
        organization_id,
        survivor_led,
        limit,
        offset,
    )
    total = await conn.fetchval(
        "SELECT count(*) FROM service s JOIN location l ON l.id = s.location_id"
        " JOIN organization o ON o.id = s.organization_id"
        " JOIN area a ON a.code = l.area_code" + where,
        participant,
        code,
        organization_id,
        survivor_led,
    )
    return msgspec.convert(rows, list[Service], from_attributes=True), int(total)


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


# Filters of the narrow ``service_search`` table (migration 0030), each taking one parameter
# that may be NULL (any). They are always in the statement, so that there are few statements
# to prepare and plan (see ``_search_sql``); only the codes and the radius, which choose an
# index, make statements of their own.
_CODES = "ss.taxonomy_code = ANY(#::text[])"
_FILTERS = (
    " AND (#::text IS NULL OR ss.participant_code = #::text)",
    " AND (#::text IS NULL OR #::text = ANY(ss.languages))",
    " AND (#::text IS NULL OR #::text = ANY(ss.genders))",
    " AND (#::text IS NULL OR #::text = ANY(ss.age_bands))",
    " AND (#::bool IS NULL OR ss.serves_unaccompanied_minors = #::bool)",
    " AND (#::bool IS NULL OR ss.accepts_accompanied_children = #::bool)",
    # Free places now, from a number younger than the stale age (in hours; NULL: any service).
    # A stale number counts as unknown, never as free.
    " AND (#::float8 IS NULL OR (ss.service_accepting AND ss.organization_accepting"
    " AND ss.free > 0"
    " AND ss.capacity_updated_at > now() - make_interval(secs => #::float8 * 3600)))",
    # Offered by a survivor-led organisation (or not): the organisation's own flag.
    " AND (#::bool IS NULL OR EXISTS (SELECT 1 FROM service s2"
    " JOIN organization o2 ON o2.id = s2.organization_id"
    " WHERE s2.id = ss.service_id AND o2.survivor_led = #::bool))",
)
# The positions (from 0) of the codes that are not service codes of the taxonomy.
_UNKNOWN_CODES = (
    "ARRAY(SELECT c.i - 1 FROM unnest(#::text[]) WITH ORDINALITY AS c(code, i)"
    " WHERE NOT EXISTS (SELECT 1 FROM taxonomy_term t"
    " WHERE t.code = c.code AND t.parent_code IS NOT NULL) ORDER BY c.i)"
)
_ORIGIN_POINT = "SELECT #::float8 AS lat, #::float8 AS lon, NULL::text AS participant_code"
_ORIGIN_AREA = "SELECT latitude AS lat, longitude AS lon, participant_code FROM area WHERE code = #"
# Which point of a service a caller measures to: the shown one (a confidential site's
# municipality centre), or the site itself where the caller's address scope covers the
# service's participant (its own coordinators and admins; ``v.revealed`` holds it).
_SHOWN = ("ss.shown_x", "ss.shown_y", "ss.shown_z")
_SCOPED = (
    "CASE WHEN ss.participant_code = v.revealed THEN ss.site_x ELSE ss.shown_x END",
    "CASE WHEN ss.participant_code = v.revealed THEN ss.site_y ELSE ss.shown_y END",
    "CASE WHEN ss.participant_code = v.revealed THEN ss.site_z ELSE ss.shown_z END",
)


# The page's rows in full, with their great-circle distances (the same statement).
_PAGE_ROWS = (
    _SERVICE_SELECT.replace(
        "SELECT ",
        "SELECT page.d2, page.total,"
        # As geo.km_of_chord2: the same operations, the same radius.
        " 2 * " + repr(EARTH_RADIUS_KM) + " * asin(least(1, sqrt(page.d2) / 2)) AS distance_km, ",
        1,
    )
    + " JOIN page ON page.service_id = s.id) found ON true ORDER BY found.d2, found.id"
)


class _Sql:
    """A statement assembled from the constant fragments above; ``#`` marks a parameter."""

    def __init__(self) -> None:
        self.text = ""
        self.params = 0

    def add(self, fragment: str, values: int = 0) -> None:
        parts = fragment.split("#")
        if len(parts) != values + 1:
            raise ValueError("one value per # in a fragment")
        self.text += parts[0]
        for rest in parts[1:]:
            self.params += 1
            self.text += "$" + str(self.params) + rest


@functools.lru_cache(maxsize=1024)
def _search_sql(by_point: bool, reveal: bool, codes: bool, radius: bool) -> str:
    """The statement of one shape of search; built once, prepared once per connection."""
    q = _Sql()
    q.add("WITH origin AS (")
    if by_point:
        q.add(_ORIGIN_POINT, 2)
    else:
        q.add(_ORIGIN_AREA, 1)
    q.add(
        "), v AS (SELECT lat, lon, participant_code, unit_x(lat, lon) AS x,"
        " unit_y(lat, lon) AS y, unit_z(lat) AS z, #::text AS revealed FROM origin)",
        1,
    )
    # A confidential site is placed at its municipality's centre unless the caller's scope
    # covers it, so that distances from chosen points cannot be used to triangulate a shelter.
    # Without a scope the shown point alone is read (the (taxonomy_code, shown_z) index).
    x, y, z = _SCOPED if reveal else _SHOWN
    q.add(
        ", hits AS (SELECT ss.service_id, (" + x + " - v.x) * (" + x + " - v.x) + (" + y
        + " - v.y) * (" + y + " - v.y) + (" + z + " - v.z) * (" + z + " - v.z) AS d2"
        " FROM v JOIN service_search ss ON true WHERE true"
    )  # fmt: skip
    if codes:
        q.add(" AND " + _CODES, 1)
    for fragment in _FILTERS:
        q.add(fragment, 2)
    if radius:
        # Points within the radius are within the chord; so is each coordinate's difference.
        for axis, centre in ((z, "v.z"), (x, "v.x"), (y, "v.y")):
            q.add(" AND " + axis + " BETWEEN " + centre + " - # AND " + centre + " + #", 2)
    q.add("), page AS (SELECT service_id, d2, count(*) OVER () AS total FROM hits")
    if radius:
        q.add(" WHERE d2 <= #", 1)
    q.add(" ORDER BY d2, service_id LIMIT # OFFSET #)", 2)
    q.add(" SELECT m.unknown_codes, v.lat AS origin_latitude, v.lon AS origin_longitude,")
    q.add(" v.participant_code AS origin_participant, found.* FROM (SELECT ")
    if codes:
        q.add(_UNKNOWN_CODES, 1)
    else:
        q.add("'{}'::int[]")
    q.add(" AS unknown_codes) m LEFT JOIN v ON true LEFT JOIN (")
    q.add(_PAGE_ROWS)
    return q.text


async def search_services(conn: asyncpg.Connection, f: SearchFilter) -> SearchPage:
    """Services matching the filter, nearest first, how many matched, and the input checks.

    One statement: the origin (a point, or an area's centre), which codes are unknown, and
    the page with its rows in full. Candidates come from ``service_search``; distances are
    chords between unit vectors (exact in order, no trigonometry per row), a radius is first
    a range on each coordinate (an index range on z), and only the page's distances are
    turned into great-circle km.

    ``available_only`` keeps services with free places (available - held > 0) whose number is
    younger than ``stale_after_hours``: a stale number counts as unknown, not as free.
    """
    by_point = f.latitude is not None and f.longitude is not None
    args: list[object] = [f.latitude, f.longitude] if by_point else [f.area]
    revealed = f.address_scope.participant
    args.append(revealed)
    if f.codes:
        args.append(f.codes)
    for value in (
        f.participant,
        f.language,
        f.gender,
        f.age_band,
        f.unaccompanied_minor,
        f.accompanied_child,
        f.stale_after_hours if f.available_only else None,
        f.survivor_led,
    ):
        args += [value, value]
    if f.radius_km is not None:
        chord = chord_of_km(f.radius_km)
        args += [chord] * 6 + [chord * chord]
    args += [f.limit, f.offset]
    if f.codes:
        args.append(f.codes)
    sql = _search_sql(by_point, revealed is not None, bool(f.codes), f.radius_km is not None)
    rows = await conn.fetch(sql, *args)
    first = rows[0]
    found = [r for r in rows if r["id"] is not None]
    # Built straight from the records as dicts: msgspec.convert(from_attributes=True) costs
    # about 60 us a row here (it reads a Record attribute by attribute), this about 6 us; the
    # columns are typed by the schema, and the tests read the fields back.
    hits = [_Hit(**dict(r)) for r in found]
    origin = None
    if first["origin_latitude"] is not None:
        origin = (float(first["origin_latitude"]), float(first["origin_longitude"]))
    return SearchPage(
        rows=[SearchRow(service=h, distance_km=h.distance_km) for h in hits],
        total=int(found[0]["total"]) if found else 0,
        origin=origin,
        origin_participant=first["origin_participant"],
        unknown_codes=list(first["unknown_codes"]),
    )


class _Hit(Service, frozen=True):
    """A service row of a search with its distance, and the statement's other columns.

    To every reader it is a Service.
    """

    distance_km: float
    d2: float
    total: int
    unknown_codes: list[int]
    origin_latitude: float
    origin_longitude: float
    origin_participant: str | None


async def count_services(conn: asyncpg.Connection) -> int:
    """Return how many services the registry holds."""
    return int(await conn.fetchval("SELECT count(*) FROM service"))


async def participant_near(
    conn: asyncpg.Connection, latitude: float, longitude: float, within_km: float
) -> str | None:
    """The participant of the gazetteer town nearest to a point, if one is within reach."""
    chord = chord_of_km(within_km)
    return await conn.fetchval(  # type: ignore[no-any-return]
        "WITH v AS (SELECT unit_x($1, $2) AS x, unit_y($1, $2) AS y, unit_z($1) AS z),"
        " d AS (SELECT a.participant_code, a.code,"
        " power(unit_x(a.latitude, a.longitude) - v.x, 2)"
        " + power(unit_y(a.latitude, a.longitude) - v.y, 2)"
        " + power(unit_z(a.latitude) - v.z, 2) AS d2 FROM area a, v)"
        " SELECT participant_code FROM d WHERE d2 <= $3 ORDER BY d2, code LIMIT 1",
        latitude,
        longitude,
        chord * chord,
    )
