"""Agencies: the bodies officers refer for, each with the duty phone a provider calls.

Coordinators and admins manage the agencies of their jurisdiction (a ``MARRI`` token: all);
officers read those of their own. Someone else's agency is "not found".
"""

from __future__ import annotations

import uuid

import asyncpg

from csomatch.db import agencies as agency_db
from csomatch.db.agencies import Agency, NewAgency
from csomatch.domain import Principal
from csomatch.domain.phones import e164
from csomatch.errors import Forbidden, NotFound, StaleVersion
from csomatch.i18n import _

__all__ = [
    "Agency",
    "create_agency",
    "delete_agency",
    "list_agencies",
    "readable_agency",
    "update_agency",
]


def _may_read(principal: Principal, agency: Agency) -> bool:
    return principal.role in ("officer", "coordinator", "admin") and principal.covers(
        agency.jurisdiction
    )


def _may_manage(principal: Principal, agency: Agency) -> bool:
    return principal.is_coordinating() and principal.covers(agency.jurisdiction)


async def readable_agency(
    conn: asyncpg.Connection, principal: Principal, agency_id: uuid.UUID
) -> Agency:
    """The agency if the caller may read it (its jurisdiction's officers, coordinators)."""
    agency = await agency_db.get_agency(conn, agency_id)
    if agency is None or not _may_read(principal, agency):
        raise NotFound(_("no agency {agency_id}", agency_id=agency_id))
    return agency


async def _managed(conn: asyncpg.Connection, principal: Principal, agency_id: uuid.UUID) -> Agency:
    agency = await readable_agency(conn, principal, agency_id)
    if not _may_manage(principal, agency):
        raise Forbidden(_("only the coordinators and admins of its jurisdiction manage an agency"))
    return agency


async def list_agencies(
    conn: asyncpg.Connection, principal: Principal, *, limit: int, offset: int
) -> list[Agency]:
    """The agencies of the caller's jurisdiction (a ``MARRI`` token: all), by name."""
    return await agency_db.list_agencies(conn, principal.participant(), limit=limit, offset=offset)


async def create_agency(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    jurisdiction: str,
    name: str,
    phone: str,
    guardianship_authority: bool = False,
) -> Agency:
    """Register an agency of the caller's jurisdiction; the duty phone is kept in E.164."""
    if not principal.covers(jurisdiction):
        raise Forbidden(
            _(
                "a {jurisdiction} token cannot register agencies of {jurisdiction2}",
                jurisdiction=principal.jurisdiction,
                jurisdiction2=jurisdiction,
            )
        )
    new = NewAgency(
        id=uuid.uuid4(),
        jurisdiction=jurisdiction,
        name=name,
        duty_phone=e164(phone, field="$.duty_phone"),
        guardianship_authority=guardianship_authority,
    )
    return await agency_db.insert_agency(conn, new)


async def update_agency(
    conn: asyncpg.Connection,
    principal: Principal,
    agency_id: uuid.UUID,
    changes: dict[str, object],
    if_match: int | None,
) -> Agency:
    """Change an agency the caller manages; a stale If-Match answers StaleVersion."""
    await _managed(conn, principal, agency_id)
    if isinstance(changes.get("duty_phone"), str):
        changes = changes | {"duty_phone": e164(str(changes["duty_phone"]), field="$.duty_phone")}
    updated = await agency_db.update_agency(conn, agency_id, changes, if_match)
    if updated is None:
        raise StaleVersion(_("the agency changed since you read it; GET it again"))
    return updated


async def delete_agency(
    conn: asyncpg.Connection, principal: Principal, agency_id: uuid.UUID
) -> None:
    """Remove an agency the caller manages; its tokens keep working with the agency's name."""
    await _managed(conn, principal, agency_id)
    await agency_db.delete_agency(conn, agency_id)
