"""The service taxonomy: the codes a service may carry, with their names and groups."""

from __future__ import annotations

import asyncpg

from csomatch.db import areas as area_db
from csomatch.domain import TaxonomyTerm
from csomatch.errors import InvalidInput
from csomatch.i18n import _


async def list_terms(conn: asyncpg.Connection) -> list[TaxonomyTerm]:
    """Every term of the taxonomy: the groups (no parent) and the service codes under them."""
    return await area_db.list_taxonomy(conn)


async def check_code(conn: asyncpg.Connection, code: str) -> None:
    """InvalidInput naming ``$.code`` unless ``code`` is a service code of the taxonomy."""
    if not await area_db.is_service_code(conn, code):
        raise InvalidInput(
            _(
                "invalid taxonomy code {code}; see GET /api/v1/services for the codes "
                "in use and seed_data/taxonomy.json for all of them",
                code=repr(code),
            ),
            field="$.code",
        )
