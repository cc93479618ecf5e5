"""Who the caller is, and the service taxonomy: what the web pages need to draw themselves."""

from __future__ import annotations

import uuid

import asyncpg
from litestar import get
from litestar.di import NamedDependency

from csomatch.api.auth import ALL_ROLES, roles
from csomatch.api.schemas.registry import Out
from csomatch.db import areas as area_db
from csomatch.domain import Principal


class MeOut(Out, frozen=True):
    """The caller's role and scope; never the token, its hash or its label."""

    role: str
    jurisdiction: str
    organization_id: uuid.UUID | None
    agency: str | None


class TaxonomyCodeOut(Out, frozen=True):
    """One service code with its name and the name of its group."""

    code: str
    name: str
    group: str
    group_name: str
    accommodation: bool


@get("/api/v1/me", opt=roles(*ALL_ROLES), sync_to_thread=False)
def me(principal: NamedDependency[Principal]) -> MeOut:
    """The role, jurisdiction, organisation and agency of the token in use."""
    return MeOut(
        role=principal.role,
        jurisdiction=principal.jurisdiction,
        organization_id=principal.organization_id,
        agency=principal.agency,
    )


@get("/api/v1/taxonomy", opt=roles(*ALL_ROLES))
async def taxonomy(conn: NamedDependency[asyncpg.Connection]) -> list[TaxonomyCodeOut]:
    """The service codes (second level of the taxonomy) with their names, by group."""
    terms = await area_db.list_taxonomy(conn)
    groups = {t.code: t.name for t in terms if t.parent_code is None}
    return [
        TaxonomyCodeOut(
            code=t.code,
            name=t.name,
            group=t.parent_code,
            group_name=groups.get(t.parent_code, t.parent_code),
            accommodation=t.accommodation,
        )
        for t in terms
        if t.parent_code is not None
    ]


ME_ROUTES = [me, taxonomy]
