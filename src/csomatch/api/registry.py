"""HTTP routes of the registry under /api/v1, and the health checks."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, patch, post, put
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import ResponseHeader, State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from csomatch import registry
from csomatch.api.auth import ALL_ROLES, public, roles
from csomatch.api.idempotency import idempotent
from csomatch.api.params import IfMatch, list_query, version_of
from csomatch.api.schemas.registry import (
    AreaOut,
    CapacityIn,
    CapacityOut,
    LocationCreated,
    LocationIn,
    OrganizationIn,
    OrganizationList,
    OrganizationOut,
    OrganizationPatch,
    Page,
    SearchHit,
    SearchResult,
    ServiceIn,
    ServiceList,
    ServiceOut,
    ServicePatch,
    area_out,
    capacity_out,
    changes_of,
    organization_out,
    service_out,
)
from csomatch.db import areas as area_db
from csomatch.db import organizations as org_db
from csomatch.db import services as svc_db
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.pool import acquire
from csomatch.domain import (
    AGE_BANDS,
    COORDINATING,
    GENDERS,
    ORG_KINDS,
    PARTICIPANT_PATTERN,
    TAXONOMY_CODE_PATTERN,
    Freshness,
    LanguageCode,
    Principal,
    Role,
    Service,
    freshness,
    one_of_pattern,
)
from csomatch.errors import InvalidInput, NotFound
from csomatch.search import demand as searching
from csomatch.search.index import SearchIndex
from csomatch.settings import Settings

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="rows to skip")]
ParticipantQ = Annotated[
    str | None, QueryParameter(pattern=PARTICIPANT_PATTERN, description="participant code")
]
CodeQ = Annotated[
    str | None, QueryParameter(pattern=TAXONOMY_CODE_PATTERN, description="taxonomy code")
]
#: The ETag of an answer: the version its PUT or PATCH checks in If-Match.
ETAG = [ResponseHeader(name="ETag", documentation_only=True, description='the version, e.g. "3"')]
CodesQ = Annotated[list[str] | None, list_query("taxonomy codes, repeatable")]
Conn = NamedDependency[asyncpg.Connection]
Cfg = NamedDependency[Settings]
Caller = NamedDependency[Principal]
SEARCHERS: tuple[Role, ...] = ("officer", "provider", *COORDINATING)


def _fresh(settings: Cfg, updated_at: dt.datetime | None) -> Freshness | None:
    if updated_at is None:
        return None
    return freshness(
        updated_at, dt.datetime.now(dt.UTC), settings.fresh_hours, settings.stale_hours
    )


def _views(settings: Settings, principal: Principal, services: list[Service]) -> list[ServiceOut]:
    return [
        service_out(
            s,
            reveal=registry.may_see_address(principal, s),
            freshness=_fresh(settings, s.capacity_updated_at),
        )
        for s in services
    ]


class HealthOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``/healthz`` and ``/readyz``: ``ok``, or what is wrong (``problems`` only then)."""

    status: str
    problems: list[str] = []


@get(
    "/healthz",
    opt=public(),
    sync_to_thread=False,
    responses={
        503: ResponseSpec(
            HealthOut, generate_examples=False, description="it cannot recover by itself"
        )
    },
)
def healthz(state: State) -> Response[HealthOut]:
    """The process can serve, or recover by itself (a database outage is not a problem here:
    ``/readyz`` says it); 503 names what it cannot recover from (docs/operations.md)."""
    problems = state.health.problems()
    if problems:
        return Response(HealthOut(status="failing", problems=problems), status_code=503)
    return Response(HealthOut(status="ok"))


@get(
    "/readyz",
    opt=public(),
    responses={
        503: ResponseSpec(
            HealthOut, generate_examples=False, description="the database does not answer"
        )
    },
)
async def readyz(state: State) -> Response[HealthOut]:
    """The database answers."""
    try:
        async with state.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
    except (*CONNECTION_ERRORS, asyncpg.PostgresError, TimeoutError):
        return Response(HealthOut(status="database unreachable"), status_code=503)
    return Response(HealthOut(status="ok"))


@get("/api/v1/organizations", opt=roles(*ALL_ROLES))
async def list_organizations(
    conn: Conn,
    participant: ParticipantQ = None,
    kind: Annotated[str | None, QueryParameter(pattern=one_of_pattern(ORG_KINDS))] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrganizationList:
    """Organisations of the registry, by participant and name."""
    orgs, total = await org_db.list_organizations(
        conn, participant=participant, kind=kind, only_id=None, limit=limit, offset=offset
    )
    return OrganizationList(
        items_page=Page(total=total, limit=limit, offset=offset),
        organizations=[organization_out(o) for o in orgs],
    )


@get("/api/v1/organizations/{org_id:uuid}", opt=roles(*ALL_ROLES), response_headers=ETAG)
async def get_organization(conn: Conn, org_id: FromPath[uuid.UUID]) -> Response[OrganizationOut]:
    """One organisation; its ETag is the version ``PATCH`` checks in If-Match."""
    org = await registry.get_organization(conn, org_id)
    return Response(organization_out(org), headers={"ETag": _etag(org.version)})


@get("/api/v1/services", opt=roles(*ALL_ROLES))
async def list_services(
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    participant: ParticipantQ = None,
    code: CodeQ = None,
    organization: FromQuery[uuid.UUID | None] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> ServiceList:
    """Services of the registry, by participant, taxonomy code and name."""
    services, total = await svc_db.list_services(
        conn, participant=participant, code=code, organization_id=organization,
        limit=limit, offset=offset,
    )  # fmt: skip
    return ServiceList(
        items_page=Page(total=total, limit=limit, offset=offset),
        services=_views(settings, principal, services),
    )


@get("/api/v1/services/search", opt=roles(*SEARCHERS))
async def search_services(
    request: Request[Any, Any, Any],
    settings: Cfg,
    code: CodesQ = None,
    participant: ParticipantQ = None,
    lat: Annotated[float | None, QueryParameter(ge=-90, le=90)] = None,
    lon: Annotated[float | None, QueryParameter(ge=-180, le=180)] = None,
    area: Annotated[str | None, QueryParameter(max_length=20)] = None,
    radius_km: Annotated[float | None, QueryParameter(gt=0, le=2000)] = None,
    language: Annotated[LanguageCode | None, QueryParameter(description="ISO 639 code")] = None,
    gender: Annotated[str | None, QueryParameter(pattern=one_of_pattern(GENDERS))] = None,
    age_band: Annotated[str | None, QueryParameter(pattern=one_of_pattern(AGE_BANDS))] = None,
    child: FromQuery[bool | None] = None,
    available: FromQuery[bool] = False,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> Response[SearchResult]:
    """Services near a point or area, nearest first, with distance, free places and freshness.

    ``available=true`` keeps services with free places now; a stale number counts as unknown.
    A search by taxonomy code that finds nothing is recorded as demand (one ``search_empty``
    signal per code, no person data) for the gap analysis.
    """
    if (lat is None) != (lon is None):
        raise InvalidInput(
            "give both lat and lon, or neither", field="lat" if lat is None else "lon"
        )
    if lat is None and area is None:
        raise InvalidInput(
            "say where to search from: lat and lon, or an area code (GET /api/v1/areas?q=...)",
            field="area",
        )
    # The caller straight from the guard: a second dependency next to ``settings`` would make
    # Litestar resolve the two in a task group, on every search.
    principal: Principal = request.state.principal
    scope = registry.address_scope(principal)
    f = svc_db.SearchFilter(
        latitude=lat, longitude=lon, area=area if lat is None else None, radius_km=radius_km,
        codes=code or None, participant=participant, language=language, gender=gender,
        age_band=age_band, child=child, available_only=available,
        stale_after_hours=settings.stale_hours, address_scope=scope, limit=limit,
        offset=offset,
    )  # fmt: skip
    pool = request.app.state.query_pool
    index: SearchIndex | None = getattr(request.app.state, "search_index", None)
    make_view = service_out
    if index is not None and await index.sync():
        # From memory, with every change committed before this request (search/index.py);
        # its records stay the same objects until they change, so their views are kept.
        page = searching.checked(index.search(f), f)
        make_view = request.app.state.service_views.of
    else:
        # One statement on the stateless pool: no connection dependency, no reset round trip.
        conn = await acquire(pool)
        try:
            page = await searching.search(conn, f)
        finally:
            await pool.release(conn)
    assert page.origin is not None  # search() raised otherwise
    now = dt.datetime.now(dt.UTC)
    hits = []
    for r in page.rows:
        view = make_view(
            r.service,
            reveal=scope.covers(r.service.participant_code),
            freshness=_fresh_at(settings, r.service.capacity_updated_at, now),
        )
        hits.append(
            SearchHit(
                distance_km=round(r.distance_km, 1),
                free_places=view.capacity.free if view.capacity else None,
                freshness=view.capacity.freshness if view.capacity else None,
                service=view,
            )
        )
    result = SearchResult(
        items_page=Page(total=page.total, limit=limit, offset=offset),
        origin_latitude=page.origin[0], origin_longitude=page.origin[1], hits=hits,
    )  # fmt: skip
    background = None
    if page.total == 0 and f.codes:
        background = BackgroundTask(
            searching.record_empty_search,
            pool,
            principal.id,
            f,
            page.origin_participant,
            getattr(request.app.state, "recorded_searches", None),
        )
    return Response(result, background=background)


def _fresh_at(
    settings: Settings, updated_at: dt.datetime | None, now: dt.datetime
) -> Freshness | None:
    if updated_at is None:
        return None
    return freshness(updated_at, now, settings.fresh_hours, settings.stale_hours)


@get("/api/v1/services/{service_id:uuid}", opt=roles(*ALL_ROLES), response_headers=ETAG)
async def get_service(
    conn: Conn, settings: Cfg, principal: Caller, service_id: FromPath[uuid.UUID]
) -> Response[ServiceOut]:
    """One service with its eligibility, place and capacity; its ETag is the version
    ``PATCH`` checks in If-Match (the capacity has its own, on ``.../capacity``)."""
    svc = await registry.get_service(conn, service_id)
    return Response(_views(settings, principal, [svc])[0], headers={"ETag": _etag(svc.version)})


def _etag(version: int) -> str:
    return f'"{version}"'


@get("/api/v1/services/{service_id:uuid}/capacity", opt=roles(*ALL_ROLES), response_headers=ETAG)
async def get_capacity(
    conn: Conn, settings: Cfg, service_id: FromPath[uuid.UUID]
) -> Response[CapacityOut]:
    """A service's capacity now, with its freshness tier; the ETag is its version."""
    cap = await svc_db.get_capacity(conn, service_id)
    if cap is None:
        raise NotFound(f"service {service_id} has no capacity record (or does not exist)")
    tier = freshness(
        cap.updated_at, dt.datetime.now(dt.UTC), settings.fresh_hours, settings.stale_hours
    )
    return Response(capacity_out(cap, tier), headers={"ETag": _etag(cap.version)})


@put(
    "/api/v1/services/{service_id:uuid}/capacity",
    opt=roles("provider", *COORDINATING),
    response_headers=ETAG,
)
async def put_capacity(
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    service_id: FromPath[uuid.UUID],
    data: JSONBody[CapacityIn],
    if_match: IfMatch = None,
) -> Response[CapacityOut]:
    """Report capacity now. Needs ``If-Match`` with the ETag last read (412 if stale)."""
    version = version_of(if_match, required=False)
    async with conn.transaction():
        cap = await registry.report_capacity(
            conn,
            principal,
            service_id,
            unit=data.unit,
            maximum=data.maximum,
            available=data.available,
            if_match=version,
        )
    return Response(capacity_out(cap, "fresh"), headers={"ETag": _etag(cap.version)})


@get("/api/v1/areas", opt=roles(*ALL_ROLES))
async def find_areas(
    conn: Conn,
    q: Annotated[str | None, QueryParameter(max_length=80, description="name prefix")] = None,
    participant: ParticipantQ = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    code: Annotated[
        list[str] | None,
        list_query("area codes, repeatable: these areas (q is ignored)", max_items=100),
    ] = None,
) -> list[AreaOut]:
    """Municipalities and towns whose name starts with ``q`` (accents ignored), or the areas
    of the given codes (to show names for codes; unknown codes are left out)."""
    if code:
        return [area_out(a) for a in await area_db.get_areas(conn, code)]
    return [
        area_out(a)
        for a in await area_db.find_areas(conn, query=q, participant=participant, limit=limit)
    ]


MANAGERS: tuple[Role, ...] = ("provider", *COORDINATING)


@post(
    "/api/v1/organizations",
    opt=roles(*COORDINATING),
    status_code=201,
    response_headers=ETAG,
)
async def create_organization(
    request: Request[Any, Any, Any], conn: Conn, principal: Caller, data: JSONBody[OrganizationIn]
) -> Response[OrganizationOut]:
    """Register an organisation in the caller's jurisdiction (honours an Idempotency-Key)."""
    new = org_db.NewOrganization(
        id=uuid.uuid4(),
        participant_code=data.participant,
        name=data.name,
        kind=data.kind,
        registration_number=data.registration_number,
        survivor_led=data.survivor_led,
        email=data.email,
        website=data.website,
        accepting_referrals=data.accepting_referrals,
    )

    async def run() -> Response[OrganizationOut]:
        async with conn.transaction():
            org = await registry.create_organization(conn, principal, new)
        return Response(
            organization_out(org), status_code=201, headers={"ETag": _etag(org.version)}
        )

    return await idempotent(request, conn, principal, run, status_code=201, required=False)


@patch("/api/v1/organizations/{org_id:uuid}", opt=roles(*MANAGERS), response_headers=ETAG)
async def update_organization(
    conn: Conn,
    principal: Caller,
    org_id: FromPath[uuid.UUID],
    data: JSONBody[OrganizationPatch],
    if_match: IfMatch = None,
) -> Response[OrganizationOut]:
    """Change an organisation (providers: their own). ``If-Match`` guards lost updates."""
    async with conn.transaction():
        org = await registry.update_organization(
            conn, principal, org_id, changes_of(data), version_of(if_match, required=False)
        )
    return Response(organization_out(org), headers={"ETag": _etag(org.version)})


@post("/api/v1/organizations/{org_id:uuid}/locations", opt=roles(*MANAGERS), status_code=201)
async def add_location(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    org_id: FromPath[uuid.UUID],
    data: JSONBody[LocationIn],
) -> Response[LocationCreated]:
    """Add a site to an organisation; a confidential site's address never leaves the server
    except to coordinators and admins. Honours an Idempotency-Key."""
    loc = org_db.NewLocation(
        id=uuid.uuid4(),
        organization_id=org_id,
        name=data.name,
        area_code=data.area,
        address=data.address,
        latitude=data.latitude,
        longitude=data.longitude,
        accessibility=list(data.accessibility),
        confidential=data.confidential,
    )

    async def run() -> LocationCreated:
        async with conn.transaction():
            await registry.add_location(conn, principal, loc)
        return LocationCreated(id=loc.id)

    return await idempotent(request, conn, principal, run, status_code=201, required=False)


@post("/api/v1/services", opt=roles(*MANAGERS), status_code=201)
async def create_service(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    data: JSONBody[ServiceIn],
) -> Response[ServiceOut]:
    """Add a service (with its first capacity report, optionally); honours an Idempotency-Key."""
    new = svc_db.NewService(
        id=uuid.uuid4(),
        organization_id=data.organization_id,
        location_id=data.location_id,
        taxonomy_code=data.code,
        name=data.name,
        description=data.description,
        genders=list(data.genders),
        age_bands=list(data.age_bands),
        accepts_children=data.accepts_children,
        child_only=data.child_only,
        accepts_families=data.accepts_families,
        max_group_size=data.max_group_size,
        languages=list(data.languages),
        accessibility=list(data.accessibility),
        security_level=data.security_level,
        intake_24_7=data.intake_24_7,
        cross_border=data.cross_border,
        licence_required=data.licence_required,
        accepting_referrals=data.accepting_referrals,
    )
    capacity = None
    if data.capacity is not None:
        now = dt.datetime.now(dt.UTC)
        capacity = svc_db.NewCapacity(
            service_id=new.id,
            unit=data.capacity.unit,
            maximum=data.capacity.maximum,
            available=data.capacity.available,
            updated_at=now,
            verified_at=now,
        )

    async def run() -> ServiceOut:
        async with conn.transaction():
            svc = await registry.create_service(conn, principal, new, capacity)
        return (_views(settings, principal, [svc]))[0]

    return await idempotent(request, conn, principal, run, status_code=201, required=False)


@patch("/api/v1/services/{service_id:uuid}", opt=roles(*MANAGERS), response_headers=ETAG)
async def update_service(
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    service_id: FromPath[uuid.UUID],
    data: JSONBody[ServicePatch],
    if_match: IfMatch = None,
) -> Response[ServiceOut]:
    """Change a service (providers: their own organisation's). ``If-Match`` guards lost
    updates."""
    changes = changes_of(data, {"code": "taxonomy_code"})
    async with conn.transaction():
        svc = await registry.update_service(
            conn, principal, service_id, changes, version_of(if_match, required=False)
        )
    return Response(_views(settings, principal, [svc])[0], headers={"ETag": _etag(svc.version)})


ROUTES = [
    healthz, readyz, list_organizations, get_organization, list_services, search_services,
    get_service, get_capacity, put_capacity, find_areas, create_organization,
    update_organization, add_location, create_service, update_service,
]  # fmt: skip
