"""The gazetteer as callers look it up: municipalities and towns by name prefix or code."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from csomatch.db import areas as area_db
from csomatch.domain import Area


async def find_areas(
    conn: asyncpg.Connection,
    *,
    query: str | None,
    participant: str | None,
    limit: int,
    codes: Sequence[str] | None = None,
) -> list[Area]:
    """The areas of ``codes``, else those whose name starts with ``query``.

    Unknown codes are left out, and ``query`` is ignored when ``codes`` are given; the
    name match ignores accents.
    """
    if codes:
        return await area_db.get_areas(conn, codes)
    return await area_db.find_areas(conn, query=query, participant=participant, limit=limit)
