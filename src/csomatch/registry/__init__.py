"""Registry use cases: read services and organisations, search, report capacity.

Plain async functions that take a connection; the caller owns the transaction.
"""

from __future__ import annotations

import uuid

import asyncpg

from csomatch.db import areas as area_db
from csomatch.db import organizations as org_db
from csomatch.db import services as svc_db
from csomatch.domain import (
    AddressScope,
    Capacity,
    Location,
    Organization,
    Principal,
    Service,
)
from csomatch.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionRequired,
    StaleVersion,
)


def address_scope(principal: Principal) -> AddressScope:
    """The one rule of confidential addresses: which confidential sites this caller sees in
    full (street address and exact point).

    Only the coordinators and admins of the site's own jurisdiction (the participant of its
    location); a region-wide ``MARRI`` token, another participant's coordinator or admin,
    officers, providers and funders see the municipality only. (A later rule adds the
    referring officer of an active placement at the site: it belongs here, and nowhere else.)
    """
    participant = principal.participant()
    if principal.is_coordinating() and participant is not None:
        return AddressScope(participant=participant)
    return AddressScope()


def may_see_address(principal: Principal, site: Service | Location) -> bool:
    """Whether this caller sees this site's street address and exact point."""
    return not site.confidential or address_scope(principal).covers(site.participant_code)


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
    principal: Principal,
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
            f"{available} places are reported free but the service has {maximum} in total; "
            f"report at most {maximum} as free, or raise the maximum.",
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


def _may_edit(principal: Principal, svc: Service) -> bool:
    return principal.may_manage(svc.organization_id, svc.participant_code)


def _may_manage_org(principal: Principal, org: Organization) -> bool:
    """Providers manage their own organisation; coordinators and admins their jurisdiction's."""
    return principal.may_manage(org.id, org.participant_code)


async def _managed_org(
    conn: asyncpg.Connection, principal: Principal, org_id: uuid.UUID
) -> Organization:
    org = await org_db.get_organization(conn, org_id)
    if org is None or not _may_manage_org(principal, org):
        raise NotFound(f"no organisation {org_id}")
    return org


async def create_organization(
    conn: asyncpg.Connection, principal: Principal, new: org_db.NewOrganization
) -> Organization:
    """Register an organisation in the caller's jurisdiction (coordinator, admin)."""
    if not principal.covers(new.participant_code):
        raise Forbidden(
            f"a {principal.jurisdiction} token cannot register organisations of "
            f"{new.participant_code}"
        )
    await org_db.insert_organization(conn, new)
    return await get_organization(conn, new.id)


async def update_organization(
    conn: asyncpg.Connection,
    principal: Principal,
    org_id: uuid.UUID,
    changes: dict[str, object],
    if_match: int | None,
) -> Organization:
    """Change an organisation the caller manages; a stale If-Match answers StaleVersion."""
    await _managed_org(conn, principal, org_id)
    updated = await org_db.update_organization(conn, org_id, changes, if_match)
    if updated is None:
        raise StaleVersion("the organisation changed since you read it; GET it again")
    return updated


async def add_location(
    conn: asyncpg.Connection, principal: Principal, loc: org_db.NewLocation
) -> None:
    """Add a site to an organisation the caller manages, inside that participant."""
    org = await _managed_org(conn, principal, loc.organization_id)
    area = await area_db.get_area(conn, loc.area_code)
    if area is None:
        raise InvalidInput(f"unknown area code {loc.area_code!r}", field="$.area")
    if area.participant_code != org.participant_code:
        raise InvalidInput(
            f"{loc.area_code} is in {area.participant_code}, the organisation in "
            f"{org.participant_code}",
            field="$.area",
        )
    await org_db.insert_location(conn, loc)


async def create_service(
    conn: asyncpg.Connection,
    principal: Principal,
    new: svc_db.NewService,
    capacity: svc_db.NewCapacity | None,
) -> Service:
    """Add a service (and its first capacity) to an organisation the caller manages."""
    await _managed_org(conn, principal, new.organization_id)
    await _check_code(conn, new.taxonomy_code)
    await svc_db.insert_service(conn, new)
    if capacity is not None:
        if capacity.available > capacity.maximum:
            raise InvalidInput(
                f"{capacity.available} places are reported free but the service has "
                f"{capacity.maximum} in total; report at most {capacity.maximum} as free, or "
                "raise the maximum.",
                field="$.capacity.available",
            )
        await svc_db.insert_capacity(conn, capacity)
    return await get_service(conn, new.id)


async def update_service(
    conn: asyncpg.Connection,
    principal: Principal,
    service_id: uuid.UUID,
    changes: dict[str, object],
    if_match: int | None,
) -> Service:
    """Change a service of an organisation the caller manages."""
    svc = await svc_db.get_service(conn, service_id)
    if svc is None:
        raise NotFound(f"no service {service_id}")
    await _managed_org(conn, principal, svc.organization_id)
    if "taxonomy_code" in changes:
        await _check_code(conn, str(changes["taxonomy_code"]))
    if not await svc_db.update_service(conn, service_id, changes, if_match):
        raise StaleVersion("the service changed since you read it; GET it again")
    return await get_service(conn, service_id)


async def _check_code(conn: asyncpg.Connection, code: str) -> None:
    if not await area_db.is_service_code(conn, code):
        raise InvalidInput(
            f"invalid taxonomy code {code!r}; see GET /api/v1/services for the codes in use "
            "and seed_data/taxonomy.json for all of them",
            field="$.code",
        )
