"""Organisations and their sites: read, list, register, change, add a location.

Providers manage their own organisation; coordinators and admins those of their
jurisdiction (a ``MARRI`` token: all). Someone else's organisation is "not found".
"""

from __future__ import annotations

import uuid

import asyncpg

from csomatch.db import areas as area_db
from csomatch.db import organizations as org_db
from csomatch.db.organizations import NewLocation, NewOrganization
from csomatch.domain import Organization, Principal
from csomatch.errors import Forbidden, InvalidInput, NotFound, StaleVersion
from csomatch.i18n import _

__all__ = [
    "NewLocation",
    "NewOrganization",
    "add_location",
    "create_organization",
    "get_organization",
    "list_organizations",
    "managed_organization",
    "update_organization",
]


#: Roles that manage every organisation of their jurisdiction (providers: their own only).
async def get_organization(conn: asyncpg.Connection, org_id: uuid.UUID) -> Organization:
    """One organisation, or NotFound."""
    org = await org_db.get_organization(conn, org_id)
    if org is None:
        raise NotFound(_("no organisation {org_id}", org_id=org_id))
    return org


async def list_organizations(
    conn: asyncpg.Connection,
    *,
    participant: str | None,
    kind: str | None,
    limit: int,
    offset: int,
    survivor_led: bool | None = None,
) -> tuple[list[Organization], int]:
    """A page of organisations by participant and name, and how many the filters select."""
    return await org_db.list_organizations(
        conn, participant=participant, kind=kind, only_id=None, limit=limit, offset=offset,
        survivor_led=survivor_led,
    )  # fmt: skip


def _may_manage(principal: Principal, org: Organization) -> bool:
    """Providers manage their own organisation; coordinators and admins their jurisdiction's."""
    return principal.may_manage(org.id, org.participant_code)


async def managed_organization(
    conn: asyncpg.Connection, principal: Principal, org_id: uuid.UUID
) -> Organization:
    """The organisation if the caller manages it, else NotFound (its existence unsaid)."""
    org = await org_db.get_organization(conn, org_id)
    if org is None or not _may_manage(principal, org):
        raise NotFound(_("no organisation {org_id}", org_id=org_id))
    return org


async def create_organization(
    conn: asyncpg.Connection, principal: Principal, new: NewOrganization
) -> Organization:
    """Register an organisation in the caller's jurisdiction (coordinator, admin)."""
    if principal.jurisdiction not in ("MARRI", new.participant_code):
        raise Forbidden(
            _(
                "a {jurisdiction} token cannot register organisations of {participant_code}",
                jurisdiction=principal.jurisdiction,
                participant_code=new.participant_code,
            )
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
    await managed_organization(conn, principal, org_id)
    updated = await org_db.update_organization(conn, org_id, changes, if_match)
    if updated is None:
        raise StaleVersion(_("the organisation changed since you read it; GET it again"))
    return updated


async def add_location(conn: asyncpg.Connection, principal: Principal, loc: NewLocation) -> None:
    """Add a site to an organisation the caller manages, inside that participant."""
    org = await managed_organization(conn, principal, loc.organization_id)
    area = await area_db.get_area(conn, loc.area_code)
    if area is None:
        raise InvalidInput(
            _("unknown area code {area_code}", area_code=repr(loc.area_code)), field="$.area"
        )
    if area.participant_code != org.participant_code:
        raise InvalidInput(
            _(
                "{area_code} is in {participant_code}, the organisation in {participant_code2}",
                area_code=loc.area_code,
                participant_code=area.participant_code,
                participant_code2=org.participant_code,
            ),
            field="$.area",
        )
    await org_db.insert_location(conn, loc)
