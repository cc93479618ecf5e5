"""Queries on the gazetteer and the taxonomy."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.domain import Area, TaxonomyTerm

_AREA_COLUMNS = "code, participant_code, name, kind, population, latitude, longitude"
_AREA_COLUMNS_OF_A = (
    "a.code, a.participant_code, a.name, a.kind, a.population, a.latitude, a.longitude"
)


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


class NamedArea(Area, frozen=True):
    """A town with its name in one locale and, for a search, the name that found it."""

    local_name: str
    matched_name: str | None = None


async def replace_area_names(
    conn: asyncpg.Connection,
    *,
    area_codes: Sequence[str],
    names: Sequence[str],
    search_keys: Sequence[str],
    locales: Sequence[Sequence[str]],
) -> int:
    """Replace the names of the areas named in ``area_codes`` (one row per name); count them.

    Rows of areas the gazetteer does not hold are left out.
    """
    await conn.execute(
        "DELETE FROM area_name WHERE area_code = ANY($1::text[])", list(set(area_codes))
    )
    result = await conn.fetchval(
        """
        WITH ins AS (
            INSERT INTO area_name (area_code, name, search_key, locales)
            SELECT n.area_code, n.name, n.search_key, string_to_array(n.locales, ',')
            FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                AS n (area_code, name, search_key, locales)
            JOIN area a ON a.code = n.area_code
            ON CONFLICT (area_code, name) DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM ins
        """,
        list(area_codes),
        list(names),
        list(search_keys),
        [",".join(tags) for tags in locales],
    )
    return int(result)


# The name of an area shown in locale $L (the gazetteer's name when it has none).
_LOCAL_NAME = (
    "coalesce((SELECT ln.name FROM area_name ln WHERE ln.area_code = a.code"
    " AND {locale} = ANY(ln.locales) ORDER BY ln.name LIMIT 1), a.name) AS local_name"
)


async def get_area(conn: asyncpg.Connection, code: str) -> Area | None:
    """Return one area by code."""
    row = await conn.fetchrow("SELECT " + _AREA_COLUMNS + " FROM area WHERE code = $1", code)
    return None if row is None else msgspec.convert(row, Area, from_attributes=True)


async def find_areas(
    conn: asyncpg.Connection,
    *,
    query: str | None,
    participant: str | None,
    limit: int,
    key: str | None = None,
    locale: str = "en",
) -> list[NamedArea]:
    """Areas with a name whose search key starts with ``key``: exact names, then the biggest.

    An area is also found by its gazetteer name starting with ``query`` (accents ignored),
    as before names were stored. ``matched_name`` is the name that matched (one in the
    script of ``query`` if there is one), ``local_name`` the area's name in ``locale``.
    """
    rows = await conn.fetch(
        "WITH hit AS ("
        "  SELECT DISTINCT ON (n.area_code) n.area_code, n.name, n.search_key = $4 AS exact"
        "  FROM area_name n WHERE n.search_key LIKE $4 || '%'"
        "  ORDER BY n.area_code, n.search_key = $4 DESC, (n.name ~ '[\u0400-\u04ff]') = $6 DESC,"
        "    $5 = ANY(n.locales) DESC, length(n.name), n.name"
        ")"
        " SELECT " + _AREA_COLUMNS_OF_A + ", " + _LOCAL_NAME.format(locale="$5") + ","
        "   h.name AS matched_name"
        " FROM area a LEFT JOIN hit h ON h.area_code = a.code"
        " WHERE ($1::text IS NULL OR h.area_code IS NOT NULL OR lower(a.ascii_name) LIKE $1 || '%')"
        "   AND ($2::text IS NULL OR a.participant_code = $2)"
        " ORDER BY coalesce(h.exact, false) DESC, a.population DESC, a.code LIMIT $3",
        None if query is None else _ascii(query).lower(),
        participant,
        limit,
        key,
        locale,
        query is not None and any("\u0400" <= ch <= "\u04ff" for ch in query),
    )
    return msgspec.convert(rows, list[NamedArea], from_attributes=True)


async def get_areas(
    conn: asyncpg.Connection, codes: Sequence[str], *, locale: str = "en"
) -> list[NamedArea]:
    """The areas of ``codes`` that exist, in the order of ``codes``, named in ``locale``."""
    wanted = list(dict.fromkeys(codes))
    rows = await conn.fetch(
        "SELECT "
        + _AREA_COLUMNS_OF_A
        + ", "
        + _LOCAL_NAME.format(locale="$2")
        + " FROM area a WHERE a.code = ANY($1::text[])",
        wanted,
        locale,
    )
    found = {a.code: a for a in msgspec.convert(rows, list[NamedArea], from_attributes=True)}
    return [found[c] for c in wanted if c in found]


async def list_place_keys(conn: asyncpg.Connection) -> dict[str, frozenset[str]]:
    """Every search key of a town's name, with the towns that have a name of that key."""
    rows = await conn.fetch(
        "SELECT search_key, array_agg(DISTINCT area_code) AS codes FROM area_name"
        " GROUP BY search_key"
    )
    return {row["search_key"]: frozenset(row["codes"]) for row in rows}


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
