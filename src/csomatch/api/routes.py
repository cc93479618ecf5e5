"""HTTP routes of the registry under /api/v1, and the health checks."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import asyncpg
from litestar import Request, Response, get, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from csomatch import registry
from csomatch.api.auth import ALL_ROLES, public, roles
from csomatch.api.schemas import (
    AreaOut,
    CapacityIn,
    CapacityOut,
    OrganizationList,
    OrganizationOut,
    Page,
    SearchHit,
    SearchResult,
    ServiceList,
    ServiceOut,
    area_out,
    capacity_out,
    organization_out,
    service_out,
)
from csomatch.db import areas as area_db
from csomatch.db import organizations as org_db
from csomatch.db import services as svc_db
from csomatch.db.tokens import TokenRecord
from csomatch.domain import Freshness, Service, freshness
from csomatch.errors import InvalidInput, NotFound
from csomatch.settings import Settings

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000, description="rows to skip")]
ParticipantQ = Annotated[
    str | None, QueryParameter(pattern=r"^(AL|BA|XK|ME|MK|RS)$", description="participant code")
]
CodeQ = Annotated[
    str | None, QueryParameter(pattern=r"^[A-Z]+\.[A-Z]+$", description="taxonomy code")
]
Conn = NamedDependency[asyncpg.Connection]
Cfg = NamedDependency[Settings]
Caller = NamedDependency[TokenRecord]
SEARCHERS = ("officer", "provider", "coordinator", "admin")


def _fresh(settings: Cfg, updated_at: dt.datetime | None) -> Freshness | None:
    if updated_at is None:
        return None
    return freshness(
        updated_at, dt.datetime.now(dt.UTC), settings.fresh_hours, settings.stale_hours
    )


async def _views(
    conn: Conn, settings: Cfg, principal: Caller, services: list[Service]
) -> list[ServiceOut]:
    areas = await registry.areas_of(conn, services)
    reveal = registry.reveals_confidential(principal)
    return [
        service_out(
            s,
            reveal=reveal,
            area=areas.get(s.area_code),
            freshness=_fresh(settings, s.capacity_updated_at),
        )
        for s in services
    ]


@get("/healthz", opt=public(), sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@get("/readyz", opt=public())
async def readyz(state: State) -> Response[dict[str, str]]:
    """The database answers."""
    try:
        async with state.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return Response({"status": "database unreachable"}, status_code=503)
    return Response({"status": "ok"})


@get("/api/v1/organizations", opt=roles(*ALL_ROLES))
async def list_organizations(
    conn: Conn,
    participant: ParticipantQ = None,
    kind: Annotated[str | None, QueryParameter(pattern=r"^(cso|state|io)$")] = None,
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


@get("/api/v1/organizations/{org_id:uuid}", opt=roles(*ALL_ROLES))
async def get_organization(conn: Conn, org_id: FromPath[uuid.UUID]) -> OrganizationOut:
    """One organisation."""
    return organization_out(await registry.get_organization(conn, org_id))


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
        services=await _views(conn, settings, principal, services),
    )


@get("/api/v1/services/search", opt=roles(*SEARCHERS))
async def search_services(
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    code: Annotated[
        list[str] | None, QueryParameter(description="taxonomy codes, repeatable")
    ] = None,
    participant: ParticipantQ = None,
    lat: Annotated[float | None, QueryParameter(ge=-90, le=90)] = None,
    lon: Annotated[float | None, QueryParameter(ge=-180, le=180)] = None,
    area: Annotated[str | None, QueryParameter(max_length=20)] = None,
    radius_km: Annotated[float | None, QueryParameter(gt=0, le=2000)] = None,
    language: Annotated[str | None, QueryParameter(pattern=r"^[a-z]{2,3}$")] = None,
    gender: Annotated[str | None, QueryParameter(pattern=r"^(female|male|other)$")] = None,
    age_band: Annotated[
        str | None, QueryParameter(pattern=r"^(0-5|6-13|14-17|18-24|25-59|60\+)$")
    ] = None,
    child: FromQuery[bool | None] = None,
    available: FromQuery[bool] = False,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> SearchResult:
    """Services near a point or area, nearest first, with distance, free places and freshness.

    ``available=true`` keeps services with free places now; a stale number counts as unknown.
    """
    for i, c in enumerate(code or []):
        if await _unknown_code(conn, c):
            raise InvalidInput(f"invalid taxonomy code {c!r}", field=f"code[{i}]")
    origin = await registry.search_origin(conn, lat=lat, lon=lon, area=area)
    rows, total = await svc_db.search_services(
        conn,
        svc_db.SearchFilter(
            latitude=origin[0],
            longitude=origin[1],
            radius_km=radius_km,
            codes=code or None,
            participant=participant,
            language=language,
            gender=gender,
            age_band=age_band,
            child=child,
            available_only=available,
            stale_after_hours=settings.stale_hours,
            reveal_confidential=registry.reveals_confidential(principal),
            limit=limit,
            offset=offset,
        ),
    )
    views = await _views(conn, settings, principal, [r.service for r in rows])
    hits = [
        SearchHit(
            distance_km=round(r.distance_km, 1),
            free_places=v.capacity.free if v.capacity else None,
            freshness=v.capacity.freshness if v.capacity else None,
            service=v,
        )
        for r, v in zip(rows, views, strict=True)
    ]
    return SearchResult(
        items_page=Page(total=total, limit=limit, offset=offset),
        origin_latitude=origin[0], origin_longitude=origin[1], hits=hits,
    )  # fmt: skip


async def _unknown_code(conn: Conn, code: str) -> bool:
    return not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM taxonomy_term WHERE code = $1 AND parent_code IS NOT NULL)",
        code,
    )


@get("/api/v1/services/{service_id:uuid}", opt=roles(*ALL_ROLES))
async def get_service(
    conn: Conn, settings: Cfg, principal: Caller, service_id: FromPath[uuid.UUID]
) -> ServiceOut:
    """One service with its eligibility, place and capacity."""
    svc = await registry.get_service(conn, service_id)
    return (await _views(conn, settings, principal, [svc]))[0]


def _etag(version: int) -> str:
    return f'"{version}"'


@get("/api/v1/services/{service_id:uuid}/capacity", opt=roles(*ALL_ROLES))
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


@put("/api/v1/services/{service_id:uuid}/capacity", opt=roles("provider", "coordinator", "admin"))
async def put_capacity(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    service_id: FromPath[uuid.UUID],
    data: JSONBody[CapacityIn],
) -> Response[CapacityOut]:
    """Report capacity now. Needs ``If-Match`` with the ETag last read (412 if stale)."""
    raw = request.headers.get("if-match")
    version = None
    if raw is not None:
        try:
            version = int(raw.strip().removeprefix("W/").strip('"'))
        except ValueError:
            raise InvalidInput(
                'If-Match must be the ETag from GET .../capacity, e.g. "3"', field="If-Match"
            ) from None
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
) -> list[AreaOut]:
    """Municipalities and towns whose name starts with ``q`` (accents ignored)."""
    return [
        area_out(a)
        for a in await area_db.find_areas(conn, query=q, participant=participant, limit=limit)
    ]


ROUTES = [
    healthz, readyz, list_organizations, get_organization, list_services, search_services,
    get_service, get_capacity, put_capacity, find_areas,
]  # fmt: skip
