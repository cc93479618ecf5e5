"""Registry use cases: read services and organisations, search, report capacity.

Plain async functions that take a connection; the caller owns the transaction.
"""

from __future__ import annotations

import uuid

import asyncpg

from csomatch.db import areas as area_db
from csomatch.db import organizations as org_db
from csomatch.db import services as svc_db
from csomatch.db.tokens import TokenRecord
from csomatch.domain import Area, Capacity, Organization, Service
from csomatch.errors import InvalidInput, NotFound, PreconditionRequired, StaleVersion

#: Roles that may see a confidential site's address and exact point.
REVEALING_ROLES = frozenset({"coordinator", "admin"})
#: Roles that may report capacity for any service of their jurisdiction.
CAPACITY_EDITORS = frozenset({"coordinator", "admin"})


def reveals_confidential(principal: TokenRecord) -> bool:
    """Whether this caller may see confidential addresses (coordinator, admin)."""
    return principal.role in REVEALING_ROLES


async def get_organization(conn: asyncpg.Connection, org_id: uuid.UUID) -> Organization:
    """One organisation, or NotFound."""
    org = await org_db.get_organization(conn, org_id)
    if org is None:
        raise NotFound(f"no organisation {org_id}")
    return org


async def get_service(conn: asyncpg.Connection, service_id: uuid.UUID) -> Service:
    """One service, or NotFound."""
    svc = await svc_db.get_service(conn, service_id)
    if svc is None:
        raise NotFound(f"no service {service_id}")
    return svc


async def areas_of(conn: asyncpg.Connection, services: list[Service]) -> dict[str, Area]:
    """The gazetteer entries of the confidential services' municipalities."""
    found: dict[str, Area] = {}
    for code in sorted({s.area_code for s in services if s.confidential}):
        area = await area_db.get_area(conn, code)
        if area is not None:
            found[code] = area
    return found


async def search_origin(
    conn: asyncpg.Connection, *, lat: float | None, lon: float | None, area: str | None
) -> tuple[float, float]:
    """The point a search measures from: ``lat``/``lon``, or the centre of ``area``."""
    if lat is not None and lon is not None:
        return lat, lon
    if (lat is None) != (lon is None):
        raise InvalidInput(
            "give both lat and lon, or neither", field="lat" if lat is None else "lon"
        )
    if area is None:
        raise InvalidInput(
            "say where to search from: lat and lon, or an area code (GET /api/v1/areas?q=...)",
            field="area",
        )
    found = await area_db.get_area(conn, area)
    if found is None:
        raise InvalidInput(f"unknown area code {area!r}; look it up at /api/v1/areas", field="area")
    return found.latitude, found.longitude


async def report_capacity(
    conn: asyncpg.Connection,
    principal: TokenRecord,
    service_id: uuid.UUID,
    *,
    unit: str,
    maximum: int,
    available: int,
    if_match: int | None,
) -> Capacity:
    """Set a service's capacity now, guarded against lost updates.

    A provider may report only for its own organisation's services (others answer NotFound,
    so their existence is not revealed). A service with a capacity record needs the version
    the caller last saw (If-Match).
    """
    svc = await svc_db.get_service(conn, service_id)
    if svc is None or not _may_edit(principal, svc):
        raise NotFound(f"no service {service_id}")
    if available > maximum:
        raise InvalidInput(
            f"available ({available}) > maximum ({maximum}): free places cannot exceed the total",
            field="$.available",
        )
    if svc.capacity_version is not None and if_match is None:
        raise PreconditionRequired(
            "send If-Match with the ETag from GET .../capacity, so that a newer report "
            "is never overwritten"
        )
    cap = await svc_db.upsert_capacity(
        conn, service_id, unit=unit, maximum=maximum, available=available,
        expected_version=if_match if svc.capacity_version is not None else None,
    )  # fmt: skip
    if cap is None:
        raise StaleVersion(
            "the capacity changed since you read it; GET it again and re-apply your change"
        )
    return cap


def _may_edit(principal: TokenRecord, svc: Service) -> bool:
    if principal.role == "provider":
        return principal.organization_id == svc.organization_id
    if principal.role in CAPACITY_EDITORS:
        return principal.jurisdiction in ("MARRI", svc.participant_code)
    return False
