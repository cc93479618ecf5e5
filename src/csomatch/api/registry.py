"""HTTP routes of the registry under /api/v1.

Organisations, locations, services, capacity, the taxonomy and the gazetteer's areas.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from csomatch.api.aliases import either, old_name
from csomatch.api.auth import ALL_ROLES, roles
from csomatch.api.deps import Caller, Cfg, Conn
from csomatch.api.idempotency import idempotent
from csomatch.api.params import (
    ETAG,
    IfMatch,
    Offset,
    ParticipantQ,
    etag,
    list_query,
    version_of,
)
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
    Out,
    Page,
    ServiceIn,
    ServiceList,
    ServiceOut,
    ServicePatch,
    area_out,
    capacity_out,
    changes_of,
    freshness_of,
    organization_out,
    service_out,
)
from csomatch.domain import (
    COORDINATING,
    ORG_KINDS,
    TAXONOMY_CODE_PATTERN,
    Principal,
    Role,
    Service,
    freshness,
    one_of_pattern,
)
from csomatch.i18n import _
from csomatch.registry import areas, capacity, organizations, services
from csomatch.registry.addresses import may_see_address
from csomatch.registry.organizations import NewLocation, NewOrganization
from csomatch.registry.services import NewCapacity, NewService
from csomatch.registry.taxonomy import list_terms
from csomatch.settings import Settings

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
SurvivorLedQ = Annotated[
    bool | None, QueryParameter(description="organisations led by survivors (true) or not")
]
CodeQ = Annotated[
    str | None, QueryParameter(pattern=TAXONOMY_CODE_PATTERN, description="taxonomy code")
]
MANAGERS: tuple[Role, ...] = ("provider", *COORDINATING)


def _views(settings: Settings, principal: Principal, found: list[Service]) -> list[ServiceOut]:
    now = dt.datetime.now(dt.UTC)
    return [
        service_out(
            s,
            reveal=may_see_address(principal, s),
            freshness=freshness_of(settings, s.capacity_updated_at, now),
        )
        for s in found
    ]


@get("/api/v1/organizations", opt=roles(*ALL_ROLES))
async def list_organizations(
    conn: Conn,
    participant: ParticipantQ = None,
    kind: Annotated[str | None, QueryParameter(pattern=one_of_pattern(ORG_KINDS))] = None,
    limit: Limit = 50,
    offset: Offset = 0,
    survivor_led: SurvivorLedQ = None,
) -> OrganizationList:
    """Organisations of the registry, by participant and name (``survivor_led`` filters)."""
    orgs, total = await organizations.list_organizations(
        conn, participant=participant, kind=kind, limit=limit, offset=offset,
        survivor_led=survivor_led,
    )  # fmt: skip
    return OrganizationList(
        items_page=Page(total=total, limit=limit, offset=offset),
        organizations=[organization_out(o) for o in orgs],
    )


@get("/api/v1/organizations/{org_id:uuid}", opt=roles(*ALL_ROLES), response_headers=ETAG)
async def get_organization(conn: Conn, org_id: FromPath[uuid.UUID]) -> Response[OrganizationOut]:
    """One organisation; its ETag is the version ``PATCH`` checks in If-Match."""
    org = await organizations.get_organization(conn, org_id)
    return Response(organization_out(org), headers={"ETag": etag(org.version)})


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
    survivor_led: SurvivorLedQ = None,
) -> ServiceList:
    """Services of the registry, by participant, taxonomy code and name.

    ``survivor_led=true`` keeps the services of survivor-led organisations (``false``: the
    others).
    """
    found, total = await services.list_services(
        conn, participant=participant, code=code, organization_id=organization,
        limit=limit, offset=offset, survivor_led=survivor_led,
    )  # fmt: skip
    return ServiceList(
        items_page=Page(total=total, limit=limit, offset=offset),
        services=_views(settings, principal, found),
    )


@get("/api/v1/services/{service_id:uuid}", opt=roles(*ALL_ROLES), response_headers=ETAG)
async def get_service(
    conn: Conn, settings: Cfg, principal: Caller, service_id: FromPath[uuid.UUID]
) -> Response[ServiceOut]:
    """One service with its eligibility, place and capacity.

    Its ETag is the version ``PATCH`` checks in If-Match (the capacity has its own, on
    ``.../capacity``).
    """
    svc = await services.get_service(conn, service_id)
    return Response(_views(settings, principal, [svc])[0], headers={"ETag": etag(svc.version)})


@get("/api/v1/services/{service_id:uuid}/capacity", opt=roles(*ALL_ROLES), response_headers=ETAG)
async def get_capacity(
    conn: Conn, settings: Cfg, service_id: FromPath[uuid.UUID]
) -> Response[CapacityOut]:
    """A service's capacity now, with its freshness tier; the ETag is its version."""
    cap = await capacity.get_capacity(conn, service_id)
    tier = freshness(
        cap.updated_at, dt.datetime.now(dt.UTC), settings.fresh_hours, settings.stale_hours
    )
    return Response(capacity_out(cap, tier), headers={"ETag": etag(cap.version)})


@put(
    "/api/v1/services/{service_id:uuid}/capacity",
    opt=roles("provider", *COORDINATING),
    response_headers=ETAG,
)
async def put_capacity(
    conn: Conn,
    principal: Caller,
    service_id: FromPath[uuid.UUID],
    data: JSONBody[CapacityIn],
    if_match: IfMatch = None,
) -> Response[CapacityOut]:
    """Report capacity now. Needs ``If-Match`` with the ETag last read (412 if stale)."""
    version = version_of(if_match, required=False)
    async with conn.transaction():
        cap = await capacity.report_capacity(
            conn,
            principal,
            service_id,
            unit=data.unit,
            maximum=data.maximum,
            available=data.available,
            if_match=version,
        )
    return Response(capacity_out(cap, "fresh"), headers={"ETag": etag(cap.version)})


@get("/api/v1/areas", opt=roles(*ALL_ROLES))
async def find_areas(
    conn: Conn,
    q: Annotated[str | None, QueryParameter(max_length=80, description="name prefix")] = None,
    participant: ParticipantQ = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    area: Annotated[
        list[str] | None,
        list_query("area codes, repeatable: these areas (q is ignored)", max_items=100),
    ] = None,
    code: Annotated[list[str] | None, old_name("area", repeatable=True, max_items=100)] = None,
) -> list[AreaOut]:
    """Municipalities and towns whose name starts with ``q``, or the areas of the given codes.

    The name prefix ignores accents. The codes serve to show names for codes; unknown codes
    are left out.
    """
    codes = either(area, code, new_name="area", old_name="code")
    found = await areas.find_areas(conn, query=q, participant=participant, limit=limit, codes=codes)
    return [area_out(a) for a in found]


class TaxonomyCodeOut(Out, frozen=True):
    """One service code with its name and the name of its group."""

    code: str
    name: str
    group: str
    group_name: str
    accommodation: bool


@get("/api/v1/taxonomy", opt=roles(*ALL_ROLES))
async def taxonomy(conn: Conn) -> list[TaxonomyCodeOut]:
    """The service codes (second level of the taxonomy) with their names, by group.

    Names are in the request's language (the catalogue holds seed_data/taxonomy.json's).
    """
    terms = await list_terms(conn)
    groups = {t.code: _(t.name) for t in terms if t.parent_code is None}
    return [
        TaxonomyCodeOut(
            code=t.code,
            name=_(t.name),
            group=t.parent_code,
            group_name=groups.get(t.parent_code, t.parent_code),
            accommodation=t.accommodation,
        )
        for t in terms
        if t.parent_code is not None
    ]


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
    new = NewOrganization(
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
            org = await organizations.create_organization(conn, principal, new)
        return Response(organization_out(org), status_code=201, headers={"ETag": etag(org.version)})

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
        org = await organizations.update_organization(
            conn, principal, org_id, changes_of(data), version_of(if_match, required=False)
        )
    return Response(organization_out(org), headers={"ETag": etag(org.version)})


@post("/api/v1/organizations/{org_id:uuid}/locations", opt=roles(*MANAGERS), status_code=201)
async def add_location(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    org_id: FromPath[uuid.UUID],
    data: JSONBody[LocationIn],
) -> Response[LocationCreated]:
    """Add a site to an organisation.

    A confidential site's address never leaves the server except to coordinators and admins.
    Honours an Idempotency-Key.
    """
    loc = NewLocation(
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
            await organizations.add_location(conn, principal, loc)
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
    new = NewService(
        id=uuid.uuid4(),
        organization_id=data.organization_id,
        location_id=data.location_id,
        taxonomy_code=data.code,
        name=data.name,
        description=data.description,
        genders=list(data.genders),
        age_bands=list(data.age_bands),
        accepts_accompanied_children=data.accepts_accompanied_children,
        serves_unaccompanied_minors=data.serves_unaccompanied_minors,
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
        duty_phone=data.duty_phone,
    )
    first = None
    if data.capacity is not None:
        now = dt.datetime.now(dt.UTC)
        first = NewCapacity(
            service_id=new.id,
            unit=data.capacity.unit,
            maximum=data.capacity.maximum,
            available=data.capacity.available,
            updated_at=now,
            verified_at=now,
        )

    async def run() -> ServiceOut:
        async with conn.transaction():
            svc = await services.create_service(conn, principal, new, first)
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
    """Change a service (providers: their own organisation's).

    ``If-Match`` guards lost updates.
    """
    changes = changes_of(data, {"code": "taxonomy_code"})
    async with conn.transaction():
        svc = await services.update_service(
            conn, principal, service_id, changes, version_of(if_match, required=False)
        )
    return Response(_views(settings, principal, [svc])[0], headers={"ETag": etag(svc.version)})


REGISTRY_ROUTES = [
    list_organizations, get_organization, list_services, get_service, get_capacity,
    put_capacity, find_areas, taxonomy, create_organization, update_organization,
    add_location, create_service, update_service,
]  # fmt: skip
