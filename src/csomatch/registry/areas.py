"""The gazetteer as callers look it up: municipalities and towns by name prefix or code."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from csomatch.db import areas as area_db
from csomatch.db.areas import NamedArea
from csomatch.registry.placenames import PlaceNames, name_key

__all__ = ["NamedArea", "find_areas", "load_names"]


async def find_areas(
    conn: asyncpg.Connection,
    *,
    query: str | None,
    participant: str | None,
    limit: int,
    codes: Sequence[str] | None = None,
    locale: str = "en",
) -> list[NamedArea]:
    """The areas of ``codes``, else those with a name that starts with ``query``.

    Unknown codes are left out, and ``query`` is ignored when ``codes`` are given. A name is
    any of the town's names in any script (docs/places.md), accents and case ignored; each
    area is named in ``locale`` too.
    """
    if codes:
        return await area_db.get_areas(conn, codes, locale=locale)
    if query is not None and not query.strip():
        query = None
    key = None if query is None else name_key(query)
    if query is not None and not key:
        return []
    return await area_db.find_areas(
        conn, query=query, participant=participant, limit=limit, key=key, locale=locale
    )


async def load_names(conn: asyncpg.Connection, places: Sequence[PlaceNames]) -> int:
    """Store the names of ``places`` (replacing theirs); return how many were stored."""
    codes: list[str] = []
    names: list[str] = []
    keys: list[str] = []
    locales: list[list[str]] = []
    for place in places:
        for name in place.names:
            key = name_key(name)
            if key:
                codes.append(place.code)
                names.append(name)
                keys.append(key)
                locales.append([tag for tag, shown in place.shown.items() if shown == name])
    return await area_db.replace_area_names(
        conn, area_codes=codes, names=names, search_keys=keys, locales=locales
    )
