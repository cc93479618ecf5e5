"""Queries of the group split of the gap analysis: demand per population group, eligible supply.

The group split (docs/gaps.md, "Who is left out") counts the demand signals of one population
group (migrations 0080, 0081) against the capacity eligible for it. Eligibility is a fixed
test per group, chosen from an allow-list below and added to the ``svc`` CTE of ``db/gaps.py``
with the test that the capacity is fresh, so the split supply follows every rule of the
unsplit supply (funded capacity, licences) and counts no stale places.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Final

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.db.gaps import (
    _SUPPLY_CELLS,
    _SVC_CTE_HEAD,
    _SVC_CTE_TAIL,
    SupplyRow,
    _structs,
)
from csomatch.db.signals import PopulationGroup

#: Which services count for each group (tests on ``service s`` and ``area a``).
#: ``language_not_served``: a service that speaks a language the group's signals of its
#: participant and code needed (``$5``-``$7``: the needed languages, ``needed_languages``).
#: ``unknown``: every service.
GROUP_ELIGIBILITY: Final[dict[PopulationGroup, str]] = {
    "women": " AND 'female' = ANY(s.genders)",
    "men": " AND 'male' = ANY(s.genders)",
    "unaccompanied_children": " AND s.serves_unaccompanied_minors",
    "families": " AND s.accepts_families AND s.accepts_accompanied_children",
    "language_not_served": " AND EXISTS (SELECT 1 FROM unnest($5::text[], $6::text[],"
    " $7::text[]) AS n(participant_code, taxonomy_code, language)"
    " WHERE n.participant_code = a.participant_code AND n.taxonomy_code = s.taxonomy_code"
    " AND n.language = ANY(s.languages))",
    "unknown": "",
}
#: A group's supply counts only services whose capacity is not stale: reported, and since
#: ``$3`` (the plain cells' rule: ``CSOMATCH_STALE_HOURS``). Stale ones are counted apart.
_FRESH: Final = " AND c.updated_at IS NOT NULL AND c.updated_at >= $3::timestamptz"

_GROUP_SUPPLY_SQL: Final = {
    group: "WITH" + _SVC_CTE_HEAD + test + _FRESH + _SVC_CTE_TAIL + _SUPPLY_CELLS
    for group, test in GROUP_ELIGIBILITY.items()
}
_GROUP_STALE_SQL: Final = {
    group: "WITH"
    + _SVC_CTE_HEAD
    + test
    + """)
SELECT participant_code, area_code, taxonomy_code, count(*)::int AS stale
FROM svc WHERE stale GROUP BY 1, 2, 3"""
    for group, test in GROUP_ELIGIBILITY.items()
}
# Where a group's eligible services that could take a referral today are (the catchments'
# sites, as ``db.catchments.eligible_sites`` for the plain cells), fresh ones only.
_GROUP_SITES_SQL: Final = {
    group: "WITH"
    + _SVC_CTE_HEAD
    + test
    + _FRESH
    + """ AND s.accepting_referrals AND o.accepting_referrals)
SELECT DISTINCT svc.participant_code, svc.area_code, svc.taxonomy_code, ar.latitude,
       ar.longitude
FROM svc JOIN area ar ON ar.code = svc.area_code"""
    for group, test in GROUP_ELIGIBILITY.items()
}


class NeededLanguage(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A language the language group's signals of a participant and code needed."""

    participant_code: str
    taxonomy_code: str
    language: str


class StaleCount(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Eligible services of a group whose capacity is stale, in one cell."""

    participant_code: str
    area_code: str
    taxonomy_code: str
    stale: int


class GroupSite(msgspec.Struct, frozen=True, kw_only=True):
    """A town with a service eligible for a group, of a code, and the town's centre."""

    participant_code: str
    area_code: str
    taxonomy_code: str
    latitude: float
    longitude: float


class GroupDemandRow(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Demand signals of one population group in one cell and calendar month (UTC)."""

    participant_code: str
    area_code: str | None
    taxonomy_code: str
    month: dt.date
    population_group: str
    #: The language needed (``language_not_served`` signals since 0081); else None.
    language: str | None = None
    needs: int
    unmet: int
    unmet_capacity: int
    declines: int
    searches: int


async def demand_by_group(
    conn: asyncpg.Connection,
    *,
    since: dt.date,
    until: dt.date,
    participants: list[str] | None,
) -> list[GroupDemandRow]:
    """Demand signals per participant, area, code, UTC month and group in ``[since, until)``.

    Every group at once: the split of one group is suppressed against the others (a group's
    count is a part of the cell's published total).
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT participant_code, area_code, taxonomy_code,"
            " date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,"
            " population_group, language,"
            " count(*) FILTER (WHERE kind = 'need')::int AS needs,"
            " count(*) FILTER (WHERE kind = 'unmet')::int AS unmet,"
            " count(*) FILTER (WHERE kind = 'unmet' AND reason = 'no_capacity')::int"
            "  AS unmet_capacity,"
            " count(*) FILTER (WHERE kind = 'decline_no_capacity')::int AS declines,"
            " count(*) FILTER (WHERE kind = 'search_empty')::int AS searches"
            " FROM demand_signal"
            " WHERE occurred_at >= $1 AND occurred_at < $2"
            " AND ($3::text[] IS NULL OR participant_code = ANY($3::text[]))"
            " GROUP BY 1, 2, 3, 4, 5, 6",
            dt.datetime.combine(since, dt.time(), dt.UTC),
            dt.datetime.combine(until, dt.time(), dt.UTC),
            participants,
        )
    return _structs(rows, GroupDemandRow)


def needed_languages(rows: Iterable[GroupDemandRow]) -> list[NeededLanguage]:
    """The languages the language group needed, per participant and code, in ``rows``."""
    found = {
        (r.participant_code, r.taxonomy_code, r.language)
        for r in rows
        if r.population_group == "language_not_served" and r.language is not None
    }
    return [
        NeededLanguage(participant_code=p, taxonomy_code=c, language=lang)
        for p, c, lang in sorted(found)
    ]


def _arguments(
    group: PopulationGroup,
    periods: list[tuple[str, dt.date]],
    stale_before: dt.datetime,
    participants: list[str] | None,
    languages: Sequence[NeededLanguage],
) -> list[object]:
    """The parameters of a group's statements: ``$1``-``$4``, and the languages for one."""
    args: list[object] = [
        [label for label, _ in periods],
        [ref for _, ref in periods],
        stale_before,
        participants,
    ]
    if group == "language_not_served":
        args += [
            [n.participant_code for n in languages],
            [n.taxonomy_code for n in languages],
            [n.language for n in languages],
        ]
    return args


async def supply_by_cell_for_group(
    conn: asyncpg.Connection,
    group: PopulationGroup,
    *,
    periods: list[tuple[str, dt.date]],
    stale_before: dt.datetime,
    participants: list[str] | None,
    languages: Sequence[NeededLanguage] = (),
) -> list[SupplyRow]:
    """``db.gaps.supply_by_cell`` counting only the fresh services eligible for ``group``.

    ``languages``: what the language group needed (``needed_languages``); other groups
    ignore it.
    """
    args = _arguments(group, periods, stale_before, participants, languages)
    async with translated():
        rows = await conn.fetch(_GROUP_SUPPLY_SQL[group], *args)
    return _structs(rows, SupplyRow)


async def stale_by_cell_for_group(
    conn: asyncpg.Connection,
    group: PopulationGroup,
    *,
    stale_before: dt.datetime,
    participants: list[str] | None,
    languages: Sequence[NeededLanguage] = (),
) -> list[StaleCount]:
    """Per cell, the services eligible for ``group`` whose capacity is stale (not counted)."""
    args = _arguments(group, [], stale_before, participants, languages)
    async with translated():
        rows = await conn.fetch(_GROUP_STALE_SQL[group], *args)
    return _structs(rows, StaleCount)


async def sites_for_group(
    conn: asyncpg.Connection,
    group: PopulationGroup,
    *,
    stale_before: dt.datetime,
    participants: list[str] | None,
    languages: Sequence[NeededLanguage] = (),
) -> list[GroupSite]:
    """Towns with a fresh service eligible for ``group`` that could take a referral today."""
    args = _arguments(group, [], stale_before, participants, languages)
    async with translated():
        rows = await conn.fetch(_GROUP_SITES_SQL[group], *args)
    return msgspec.convert(rows, list[GroupSite], from_attributes=True)
