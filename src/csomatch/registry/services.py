"""Services of the registry: read, list, add (with a first capacity report), change.

A service belongs to an organisation; who manages the organisation manages its services
(``registry.organizations.may_manage``).
"""

from __future__ import annotations

import uuid

import asyncpg
import msgspec

from csomatch.db import services as svc_db
from csomatch.db.services import NewCapacity, NewService
from csomatch.domain import Principal, Service
from csomatch.domain.phones import e164
from csomatch.errors import InvalidInput, NotFound, StaleVersion
from csomatch.i18n import _
from csomatch.registry.organizations import managed_organization
from csomatch.registry.taxonomy import check_code

__all__ = [
    "NewCapacity",
    "NewService",
    "create_service",
    "get_service",
    "list_services",
    "update_service",
]


async def get_service(conn: asyncpg.Connection, service_id: uuid.UUID) -> Service:
    """One service, or NotFound."""
    svc = await svc_db.get_service(conn, service_id)
    if svc is None:
        raise NotFound(_("no service {service_id}", service_id=service_id))
    return svc


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
    """A page of services by participant, taxonomy code and organisation, and their total."""
    return await svc_db.list_services(
        conn, participant=participant, code=code, organization_id=organization_id,
        limit=limit, offset=offset, survivor_led=survivor_led,
    )  # fmt: skip


async def create_service(
    conn: asyncpg.Connection,
    principal: Principal,
    new: NewService,
    capacity: NewCapacity | None,
) -> Service:
    """Add a service (and its first capacity) to an organisation the caller manages."""
    await managed_organization(conn, principal, new.organization_id)
    await check_code(conn, new.taxonomy_code)
    if new.duty_phone is not None:
        new = msgspec.structs.replace(new, duty_phone=e164(new.duty_phone, field="$.duty_phone"))
    await svc_db.insert_service(conn, new)
    if capacity is not None:
        if capacity.available > capacity.maximum:
            raise InvalidInput(
                _(
                    "{available} places are reported free but the service has {maximum} in "
                    "total; report at most {maximum} as free, or raise the maximum.",
                    available=capacity.available,
                    maximum=capacity.maximum,
                ),
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
        raise NotFound(_("no service {service_id}", service_id=service_id))
    await managed_organization(conn, principal, svc.organization_id)
    if "taxonomy_code" in changes:
        await check_code(conn, str(changes["taxonomy_code"]))
    if isinstance(changes.get("duty_phone"), str):
        changes = changes | {"duty_phone": e164(str(changes["duty_phone"]), field="$.duty_phone")}
    if not await svc_db.update_service(conn, service_id, changes, if_match):
        raise StaleVersion(_("the service changed since you read it; GET it again"))
    return await get_service(conn, service_id)
