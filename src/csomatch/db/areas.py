"""Queries on the gazetteer and the taxonomy."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.domain import Area, TaxonomyTerm

_AREA_COLUMNS = "code, participant_code, name, kind, population, latitude, longitude"


async def upsert_areas(conn: asyncpg.Connection, areas: Sequence[Area]) -> int:
    """Insert gazetteer rows that are missing; return how many were added."""
    result = await conn.fetchval(
        """
        WITH ins AS (
            INSERT INTO area (code, participant_code, name, ascii_name, kind, population,
                              latitude, longitude)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                                 $6::int[], $7::float8[], $8::float8[])
            ON CONFLICT (code) DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM ins
        """,
        [a.code for a in areas],
        [a.participant_code for a in areas],
        [a.name for a in areas],
        [_ascii(a.name) for a in areas],
        [a.kind for a in areas],
        [a.population for a in areas],
        [a.latitude for a in areas],
        [a.longitude for a in areas],
    )
    return int(result)


async def get_area(conn: asyncpg.Connection, code: str) -> Area | None:
    """Return one area by code."""
    row = await conn.fetchrow("SELECT " + _AREA_COLUMNS + " FROM area WHERE code = $1", code)
    return None if row is None else msgspec.convert(row, Area, from_attributes=True)


async def find_areas(
    conn: asyncpg.Connection, *, query: str | None, participant: str | None, limit: int
) -> list[Area]:
    """Areas whose name starts with ``query`` (accents ignored), biggest first."""
    rows = await conn.fetch(
        "SELECT " + _AREA_COLUMNS + " FROM area"
        " WHERE ($1::text IS NULL OR lower(ascii_name) LIKE $1 || '%')"
        "   AND ($2::text IS NULL OR participant_code = $2)"
        " ORDER BY population DESC, code LIMIT $3",
        None if query is None else _ascii(query).lower(),
        participant,
        limit,
    )
    return msgspec.convert(rows, list[Area], from_attributes=True)


async def get_areas(conn: asyncpg.Connection, codes: Sequence[str]) -> list[Area]:
    """The areas of ``codes`` that exist, in the order of ``codes``."""
    wanted = list(dict.fromkeys(codes))
    rows = await conn.fetch(
        "SELECT " + _AREA_COLUMNS + " FROM area WHERE code = ANY($1::text[])", wanted
    )
    found = {a.code: a for a in msgspec.convert(rows, list[Area], from_attributes=True)}
    return [found[c] for c in wanted if c in found]


async def count_areas(conn: asyncpg.Connection) -> int:
    """Return how many areas the gazetteer holds."""
    return int(await conn.fetchval("SELECT count(*) FROM area"))


async def upsert_taxonomy(conn: asyncpg.Connection, terms: Sequence[TaxonomyTerm]) -> int:
    """Insert taxonomy terms that are missing (parents first); return how many were added."""
    added = 0
    for term in sorted(terms, key=lambda t: t.parent_code is not None):
        status = await conn.execute(
            "INSERT INTO taxonomy_term (code, parent_code, name, accommodation)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (code) DO NOTHING",
            term.code,
            term.parent_code,
            term.name,
            term.accommodation,
        )
        added += int(status.rsplit(" ", 1)[1])
    return added


async def list_taxonomy(conn: asyncpg.Connection) -> list[TaxonomyTerm]:
    """Return the whole taxonomy, groups before their codes."""
    rows = await conn.fetch(
        "SELECT code, parent_code, name, accommodation FROM taxonomy_term"
        " ORDER BY coalesce(parent_code, code), parent_code NULLS FIRST, code"
    )
    return msgspec.convert(rows, list[TaxonomyTerm], from_attributes=True)


def _ascii(text: str) -> str:
    """Fold accents so that 'Nis' finds 'Niš' and 'Durres' finds 'Durrës'."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text.replace("đ", "dj").replace("Đ", "Dj"))
    return "".join(c for c in folded if not unicodedata.combining(c))


async def is_service_code(conn: asyncpg.Connection, code: str) -> bool:
    """Whether ``code`` is a service code of the taxonomy (a second-level term)."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM taxonomy_term"
            " WHERE code = $1 AND parent_code IS NOT NULL)",
            code,
        )
    )
