"""What the in-memory search index reads from the database, and how it hears of changes.

Migration 0045 notifies channel ``CHANNEL`` of every committed change to the tables a search
hit is made of; ``search_index.SearchIndex`` listens on one connection of its own and reads
back the services a notification names with ``load_entries``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.services import _SERVICE_SELECT
from csomatch.domain import Service

CHANNEL = "csomatch_search"

# The full service (as every other read of a service gives it) and its search row: the
# columns the search filters on and its two points as unit vectors, exactly as stored.
_ENTRY_SELECT = _SERVICE_SELECT.replace(
    "SELECT ",
    "SELECT ss.participant_code AS search_participant, ss.languages AS search_languages,"
    " ss.genders AS search_genders, ss.age_bands AS search_age_bands,"
    " ss.accepts_accompanied_children AS search_accompanied,"
    " ss.serves_unaccompanied_minors AS search_unaccompanied, ss.service_accepting,"
    " ss.organization_accepting, o.survivor_led AS search_survivor_led,"
    " ss.free, ss.capacity_updated_at AS search_updated_at,"
    " ss.shown_x, ss.shown_y, ss.shown_z, ss.site_x, ss.site_y, ss.site_z,"
    " ss.taxonomy_code AS search_code, ",
    1,
).replace(" FROM service s", " FROM service_search ss JOIN service s ON s.id = ss.service_id", 1)


class Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One service as the search index holds it: the service and its search row."""

    service: Service
    code: str
    participant: str
    languages: list[str]
    genders: list[str]
    age_bands: list[str]
    accepts_accompanied_children: bool
    serves_unaccompanied_minors: bool
    accepting: bool
    #: The organisation is survivor-led.
    survivor_led: bool = False
    free: int | None
    updated_at: dt.datetime | None
    shown: tuple[float, float, float]
    site: tuple[float, float, float]


class Area(msgspec.Struct, frozen=True):
    """A search origin: an area's centre and participant."""

    latitude: float
    longitude: float
    participant: str


_SEARCH_COLUMNS = frozenset(
    {
        "search_participant", "search_languages", "search_genders", "search_age_bands",
        "search_accompanied", "search_unaccompanied", "service_accepting",
        "organization_accepting", "free", "search_survivor_led",
        "search_updated_at", "shown_x", "shown_y", "shown_z", "site_x", "site_y", "site_z",
        "search_code",
    }
)  # fmt: skip


def _entry(row: asyncpg.Record) -> Entry:
    values = dict(row)
    service = Service(**{k: v for k, v in values.items() if k not in _SEARCH_COLUMNS})
    return Entry(
        service=service,
        code=values["search_code"],
        participant=values["search_participant"],
        languages=list(values["search_languages"]),
        genders=list(values["search_genders"]),
        age_bands=list(values["search_age_bands"]),
        accepts_accompanied_children=values["search_accompanied"],
        serves_unaccompanied_minors=values["search_unaccompanied"],
        accepting=values["service_accepting"] and values["organization_accepting"],
        survivor_led=values["search_survivor_led"],
        free=values["free"],
        updated_at=values["search_updated_at"],
        shown=(values["shown_x"], values["shown_y"], values["shown_z"]),
        site=(values["site_x"], values["site_y"], values["site_z"]),
    )


async def load_entries(
    conn: asyncpg.Connection, ids: Sequence[uuid.UUID] | None = None
) -> list[Entry]:
    """Every service's entry (``ids`` None), or those of ``ids`` that still exist."""
    if ids is None:
        rows = await conn.fetch(_ENTRY_SELECT)
    else:
        rows = await conn.fetch(_ENTRY_SELECT + " WHERE ss.service_id = ANY($1::uuid[])", ids)
    return [_entry(r) for r in rows]


async def load_areas(conn: asyncpg.Connection) -> dict[str, Area]:
    """Every area of the gazetteer, by code."""
    rows = await conn.fetch("SELECT code, latitude, longitude, participant_code FROM area")
    return {r["code"]: Area(r["latitude"], r["longitude"], r["participant_code"]) for r in rows}


async def load_service_codes(conn: asyncpg.Connection) -> frozenset[str]:
    """The taxonomy's service codes (the terms that have a parent)."""
    rows = await conn.fetch("SELECT code FROM taxonomy_term WHERE parent_code IS NOT NULL")
    return frozenset(r["code"] for r in rows)


async def services_of(
    conn: asyncpg.Connection,
    *,
    organizations: Sequence[uuid.UUID],
    locations: Sequence[uuid.UUID],
    areas: Sequence[str],
) -> list[uuid.UUID]:
    """The services of these organisations, at these locations, or in these areas."""
    rows = await conn.fetch(
        "SELECT s.id FROM service s JOIN location l ON l.id = s.location_id"
        " WHERE s.organization_id = ANY($1::uuid[]) OR s.location_id = ANY($2::uuid[])"
        " OR l.area_code = ANY($3::text[])",
        organizations,
        locations,
        areas,
    )
    return [r["id"] for r in rows]
