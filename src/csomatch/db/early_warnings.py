"""Queries of the early warning: free places per kind of place, and the crossings announced.

A kind of place is a participant, a service code and a population group (``all``: every
group). Its free places follow every rule of the gap analysis's supply (``db/gaps.py``: a
licence in force where one is needed; a number older than the stale limit counts as
unknown, not as free), restricted to the services eligible for the group
(``db/gap_groups.GROUP_ELIGIBILITY``, an allow-list). The arrivals are the demand signals
of kind ``need`` (``arrivals``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Final, Literal

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.db.gap_groups import GROUP_ELIGIBILITY
from csomatch.db.gaps import _SVC_CTE_HEAD, _structs

#: A kind of place's group: one of the population groups, or ``all``.
WarningGroup = Literal[
    "all", "women", "men", "unaccompanied_children", "families", "language_not_served"
]

_FREE_TAIL: Final = """)
SELECT participant_code, taxonomy_code, count(*)::int AS services,
       count(*) FILTER (WHERE stale)::int AS stale_services,
       coalesce(sum(free) FILTER (WHERE NOT stale), 0)::int AS free,
       coalesce(sum(maximum) FILTER (WHERE NOT stale), 0)::int AS places
FROM svc
GROUP BY participant_code, taxonomy_code
"""
_FREE_SQL: Final[dict[WarningGroup, str]] = {
    "all": "WITH" + _SVC_CTE_HEAD + _FREE_TAIL,
    **{
        group: "WITH" + _SVC_CTE_HEAD + test + _FREE_TAIL
        for group, test in GROUP_ELIGIBILITY.items()
        if group != "unknown"
    },
}


class FreeRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The places of one participant and service code open to one group, now."""

    participant_code: str
    taxonomy_code: str
    services: int
    #: Services whose number was never reported or is older than the stale limit.
    stale_services: int
    #: Free and total places of the services whose number is not stale.
    free: int
    places: int


class ArrivalRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Needs recorded for one participant, service code and population group."""

    participant_code: str
    taxonomy_code: str
    population_group: str
    n: int


class Crossing(msgspec.Struct, frozen=True, kw_only=True):
    """The state of one kind of place's warning: below its threshold or not, since when."""

    id: uuid.UUID
    participant_code: str
    taxonomy_code: str
    population_group: str
    below: bool
    threshold_days: float
    days: float | None
    changed_at: dt.datetime


async def free_places(
    conn: asyncpg.Connection,
    group: WarningGroup,
    *,
    stale_before: dt.datetime,
    participants: list[str] | None,
    since: dt.datetime,
    until: dt.datetime,
) -> list[FreeRow]:
    """Free places per participant and code of the services eligible for ``group``.

    For ``language_not_served``: the services speaking a language that the group's needs of
    the same participant and code asked for in ``[since, until)`` (as the gap cells count).
    """
    args: list[object] = [[], [], stale_before, participants]
    if group == "language_not_served":
        async with translated():
            needed = await conn.fetch(
                "SELECT DISTINCT participant_code, taxonomy_code, language FROM demand_signal"
                " WHERE population_group = 'language_not_served' AND language IS NOT NULL"
                " AND occurred_at >= $1 AND occurred_at < $2"
                " AND ($3::text[] IS NULL OR participant_code = ANY($3::text[]))",
                since,
                until,
                participants,
            )
        args += [[r[0] for r in needed], [r[1] for r in needed], [r[2] for r in needed]]
    async with translated():
        rows = await conn.fetch(_FREE_SQL[group], *args)
    return _structs(rows, FreeRow)


async def arrivals(
    conn: asyncpg.Connection,
    *,
    since: dt.datetime,
    until: dt.datetime,
    participants: list[str] | None,
) -> list[ArrivalRow]:
    """Needs per participant, code and population group recorded in ``[since, until)``."""
    async with translated():
        rows = await conn.fetch(
            "SELECT participant_code, taxonomy_code, population_group, count(*)::int AS n"
            " FROM demand_signal"
            " WHERE kind = 'need' AND occurred_at >= $1 AND occurred_at < $2"
            " AND ($3::text[] IS NULL OR participant_code = ANY($3::text[]))"
            " GROUP BY participant_code, taxonomy_code, population_group",
            since,
            until,
            participants,
        )
    return _structs(rows, ArrivalRow)


def groups() -> tuple[WarningGroup, ...]:
    """The groups of the kinds of place: ``all`` first, then the population groups."""
    return tuple(_FREE_SQL)


_CROSSING_COLUMNS: Final = (
    "id, participant_code, taxonomy_code, population_group, below, threshold_days, days, changed_at"
)


async def crossings(conn: asyncpg.Connection, participants: list[str] | None) -> list[Crossing]:
    """The stored crossings of ``participants`` (None: all)."""
    async with translated():
        rows = await conn.fetch(
            f"SELECT {_CROSSING_COLUMNS} FROM early_warning"
            " WHERE $1::text[] IS NULL OR participant_code = ANY($1::text[])",
            participants,
        )
    return msgspec.convert(rows, list[Crossing], from_attributes=True)


async def mark_below(
    conn: asyncpg.Connection,
    key: tuple[str, str, str],
    *,
    threshold_days: float,
    days: float,
) -> uuid.UUID | None:
    """Record that a kind of place is below its threshold; its id if that is a new crossing.

    None when it was below already (a concurrent sweep, or an earlier one, announced it).
    """
    async with translated():
        found: uuid.UUID | None = await conn.fetchval(
            "INSERT INTO early_warning"
            " (participant_code, taxonomy_code, population_group, below, threshold_days, days)"
            " VALUES ($1, $2, $3, true, $4, $5)"
            " ON CONFLICT ON CONSTRAINT early_warning_once DO UPDATE"
            " SET below = true, threshold_days = EXCLUDED.threshold_days,"
            "  days = EXCLUDED.days, changed_at = clock_timestamp()"
            " WHERE NOT early_warning.below"
            " RETURNING id",
            *key,
            threshold_days,
            days,
        )
    return found


async def mark_cleared(
    conn: asyncpg.Connection, key: tuple[str, str, str], *, days: float | None
) -> uuid.UUID | None:
    """Record that a kind of place is back above its threshold; its id if it was below."""
    async with translated():
        found: uuid.UUID | None = await conn.fetchval(
            "UPDATE early_warning SET below = false, days = $4, changed_at = clock_timestamp()"
            " WHERE participant_code = $1 AND taxonomy_code = $2 AND population_group = $3"
            " AND below RETURNING id",
            *key,
            days,
        )
    return found
