"""Queries the matcher needs: services offering some codes (with their licence), area centres."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.db.services import _SERVICE_SELECT
from csomatch.domain import Service

# Whether the service's organisation holds a licence valid on $2 that lists the service's
# code. Computed in the same query, so the matcher needs no query per service.
_LICENCE_VALID = (
    "EXISTS (SELECT 1 FROM licence lic WHERE lic.organization_id = s.organization_id"
    " AND s.taxonomy_code = ANY(lic.service_codes) AND lic.valid_from <= $2"
    " AND (lic.valid_to IS NULL OR lic.valid_to >= $2)) AS licence_valid, "
)


class Candidates(msgspec.Struct, frozen=True, kw_only=True):
    """Services offering the asked codes, and which of them are covered by a valid licence."""

    services: list[Service]
    #: Ids of the services whose organisation holds a licence valid on the day asked that
    #: lists the service's code (whether or not the service needs one).
    licensed: frozenset[uuid.UUID]


class _Candidate(Service, frozen=True):
    """A service row with its licence check (a Service to every reader)."""

    licence_valid: bool


async def candidate_services(
    conn: asyncpg.Connection, codes: Sequence[str], on: dt.date
) -> Candidates:
    """Every service offering one of ``codes``, its location, capacity and licence on ``on``."""
    async with translated():
        rows = await conn.fetch(
            _SERVICE_SELECT.replace("SELECT ", "SELECT " + _LICENCE_VALID, 1)
            + " WHERE s.taxonomy_code = ANY($1::text[]) ORDER BY s.taxonomy_code, s.id",
            list(codes),
            on,
        )
    found = msgspec.convert(rows, list[_Candidate], from_attributes=True)
    return Candidates(
        services=list(found), licensed=frozenset(c.id for c in found if c.licence_valid)
    )


async def area_points(
    conn: asyncpg.Connection, codes: Sequence[str]
) -> dict[str, tuple[float, float]]:
    """Centres (latitude, longitude) of the known areas among ``codes``."""
    async with translated():
        rows = await conn.fetch(
            "SELECT code, latitude, longitude FROM area WHERE code = ANY($1::text[])", list(codes)
        )
    return {r["code"]: (float(r["latitude"]), float(r["longitude"])) for r in rows}
