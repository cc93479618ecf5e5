"""Organisations and their sites: read, list, register, change, add a location.

Providers manage their own organisation; coordinators and admins those of their
jurisdiction (a ``MARRI`` token: all). Someone else's organisation is "not found".
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

import asyncpg

from csomatch.db import areas as area_db
from csomatch.db import organizations as org_db
from csomatch.db.organizations import NewLocation, NewOrganization
from csomatch.domain import LANGUAGE_TAG_PATTERN, Organization, OtherName, Principal
from csomatch.errors import Forbidden, InvalidInput, NotFound, StaleVersion
from csomatch.i18n import _
from csomatch.registry.placenames import name_key

__all__ = [
    "NewLocation",
    "NewOrganization",
    "add_location",
    "check_other_names",
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
    query: str | None = None,
) -> tuple[list[Organization], int]:
    """A page of organisations by participant and name, and how many the filters select.

    ``query`` keeps the organisations with a name (in any language) in which every word of
    it starts a word: ``центар ниш`` finds "Centar za socijalni rad Niš".
    """
    only_ids = None
    if query is not None and query.strip():
        named = await org_db.list_organization_names(
            conn, participant=participant, kind=kind, survivor_led=survivor_led
        )
        only_ids = [o.id for o in named if _name_matches(query, [o.name, *o.other_names])]
    return await org_db.list_organizations(
        conn, participant=participant, kind=kind, only_id=None, limit=limit, offset=offset,
        survivor_led=survivor_led, only_ids=only_ids,
    )  # fmt: skip


def _name_matches(query: str, names: Sequence[str]) -> bool:
    """Whether every word of ``query`` starts a word of one of ``names`` (by name_key)."""
    wanted = name_key(query).split()
    for name in names:
        words = name_key(name).split()
        if all(any(w.startswith(q) for w in words) for q in wanted):
            return True
    return False


def check_other_names(names: Sequence[OtherName], field: str = "$.other_names") -> None:
    """One other name per language tag; InvalidInput names a repeat or a malformed tag."""
    seen: set[str] = set()
    for i, other in enumerate(names):
        if not re.fullmatch(LANGUAGE_TAG_PATTERN, other.language):
            raise InvalidInput(
                _(
                    "{tag} is not a language tag such as sr-Cyrl or sq",
                    tag=repr(other.language),
                ),
                field=f"{field}[{i}].language",
            )
        if other.language in seen:
            raise InvalidInput(
                _(
                    "a second name in {tag}: give one name per language",
                    tag=other.language,
                ),
                field=f"{field}[{i}].language",
            )
        seen.add(other.language)


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
                "{area_code} is in {participant_code}, the organisation in {org_participant}",
                area_code=loc.area_code,
                participant_code=area.participant_code,
                org_participant=org.participant_code,
            ),
            field="$.area",
        )
    await org_db.insert_location(conn, loc)
