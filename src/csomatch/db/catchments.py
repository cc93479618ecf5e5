"""Queries of the catchments (gaps/catchments.py): eligible services' towns, names of things."""

from __future__ import annotations

import asyncpg
import msgspec

from csomatch.db.errors import translated


class EligibleSite(msgspec.Struct, frozen=True, kw_only=True):
    """A town with an eligible service of a code, and the town's centre."""

    participant_code: str
    area_code: str
    taxonomy_code: str
    latitude: float
    longitude: float


async def eligible_sites(
    conn: asyncpg.Connection, *, participants: list[str] | None
) -> list[EligibleSite]:
    """Towns with a service that could take a referral today, per code.

    Eligible: the service and its organisation accept referrals, and a service that needs a
    licence has one in force today (active, valid, listing the code), as the matcher asks
    (db/candidates.py). Today is the database's, as in the supply of the cells
    (`db.gaps.supply_by_cell`), so that a service counts the same on both sides. The point
    is the town's centre, never a site's own point.
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT DISTINCT a.participant_code, l.area_code, s.taxonomy_code,"
            " a.latitude, a.longitude"
            " FROM service s JOIN organization o ON o.id = s.organization_id"
            " JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code"
            " WHERE s.accepting_referrals AND o.accepting_referrals"
            " AND ($1::text[] IS NULL OR a.participant_code = ANY($1::text[]))"
            " AND (NOT s.licence_required OR (s.organization_id, s.taxonomy_code) IN ("
            "  SELECT lic.organization_id, code FROM licence lic,"
            "  unnest(lic.service_codes) AS code WHERE lic.status = 'active'"
            "  AND lic.valid_from <= (now() AT TIME ZONE 'UTC')::date"
            "  AND (lic.valid_to IS NULL OR lic.valid_to >= (now() AT TIME ZONE 'UTC')::date)))",
            participants,
        )
    return msgspec.convert(rows, list[EligibleSite], from_attributes=True)


class Naming(msgspec.Struct, frozen=True, kw_only=True):
    """Names of the towns, service codes and participants of some participants."""

    areas: dict[str, str]
    codes: dict[str, str]
    participants: dict[str, str]
    centres: dict[str, tuple[float, float]]


async def naming(conn: asyncpg.Connection, participants: list[str] | None) -> Naming:
    """The towns (names and centres), service codes and participants, by code."""
    async with translated():
        areas = await conn.fetch(
            "SELECT code, name, latitude, longitude FROM area"
            " WHERE $1::text[] IS NULL OR participant_code = ANY($1::text[])",
            participants,
        )
        codes = await conn.fetch("SELECT code, name FROM taxonomy_term")
        people = await conn.fetch("SELECT code, name FROM participant")
    return Naming(
        areas={r["code"]: r["name"] for r in areas},
        codes={r["code"]: r["name"] for r in codes},
        participants={r["code"]: r["name"] for r in people},
        centres={r["code"]: (r["latitude"], r["longitude"]) for r in areas},
    )
