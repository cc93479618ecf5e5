"""Queries the matcher needs: services offering some codes, and area centres."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.services import _SERVICE_SELECT
from csomatch.domain import Service


async def candidate_services(conn: asyncpg.Connection, codes: list[str]) -> list[Service]:
    """Every service offering one of ``codes``, with its location and capacity."""
    rows = await conn.fetch(
        _SERVICE_SELECT + " WHERE s.taxonomy_code = ANY($1::text[]) ORDER BY s.taxonomy_code, s.id",
        codes,
    )
    return msgspec.convert(rows, list[Service], from_attributes=True)


async def area_points(
    conn: asyncpg.Connection, codes: Sequence[str]
) -> dict[str, tuple[float, float]]:
    """Centres (latitude, longitude) of the known areas among ``codes``."""
    rows = await conn.fetch(
        "SELECT code, latitude, longitude FROM area WHERE code = ANY($1::text[])", list(codes)
    )
    return {r["code"]: (float(r["latitude"]), float(r["longitude"])) for r in rows}
