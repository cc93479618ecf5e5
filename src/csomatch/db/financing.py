"""Queries of "who pays": grants with their funder's kind, placements and public money per code.

The rules (which grants count, how a grant's money is shared among the services it names,
which funders are public) are stated in docs/funding.md, "Who pays"; the sums per service
code and organisation kind live in SQL so that a participant's view is one round trip each.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated

#: Funder kinds whose money is public money (docs/funding.md, "Who pays").
PUBLIC_FUNDER_KINDS = ("ministry", "municipality")


class OrganizationBrief(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation as "who pays" names it: kind (cso, state, io) and participant."""

    id: uuid.UUID
    name: str
    kind: str
    participant_code: str
    survivor_led: bool


class GrantMoney(msgspec.Struct, frozen=True, kw_only=True):
    """A committed or disbursed grant (or its share for one service) in EUR, with its funder."""

    funder_ref: str
    funder_name: str
    funder_kind: str
    amount_eur: float
    period_start: dt.date
    period_end: dt.date


class ServedService(msgspec.Struct, frozen=True, kw_only=True):
    """A service of an organisation and the cell position it serves."""

    service_id: uuid.UUID
    service_name: str
    participant_code: str
    area_code: str
    taxonomy_code: str


class CodeFigure(msgspec.Struct, frozen=True, kw_only=True):
    """A figure (cases, or public EUR) of one participant, service code and organisation kind."""

    participant_code: str
    taxonomy_code: str
    org_kind: str
    amount: float


async def organization_brief(
    conn: asyncpg.Connection, org_id: uuid.UUID
) -> OrganizationBrief | None:
    """The organisation ``org_id``, or None."""
    async with translated():
        row = await conn.fetchrow(
            "SELECT id, name, kind, participant_code, survivor_led FROM organization WHERE id = $1",
            org_id,
        )
    return None if row is None else msgspec.convert(row, OrganizationBrief, from_attributes=True)


async def organization_grants(
    conn: asyncpg.Connection, org_id: uuid.UUID, *, on: dt.date
) -> list[GrantMoney]:
    """Committed and disbursed grants to ``org_id`` running on ``on`` or later, in EUR.

    A grant without an EUR amount (no rate for its currency) is left out.
    """
    async with translated():
        rows = await conn.fetch(
            "SELECT fr.ref AS funder_ref, fr.name AS funder_name, fr.kind AS funder_kind,"
            " f.amount_eur::float8 AS amount_eur, f.period_start, f.period_end"
            " FROM funding f JOIN funder fr ON fr.id = f.funder_id"
            " WHERE f.recipient_organization_id = $1 AND f.status IN ('committed', 'disbursed')"
            " AND f.period_end >= $2 AND f.amount_eur IS NOT NULL"
            " ORDER BY f.period_start, fr.ref",
            org_id,
            on,
        )
    return msgspec.convert(rows, list[GrantMoney], from_attributes=True)


async def service_grants(
    conn: asyncpg.Connection, service_ids: list[uuid.UUID], *, on: dt.date
) -> list[GrantMoney]:
    """The share for ``service_ids`` of each counted grant running on ``on`` or later.

    A grant naming several services pays for each an equal share of its EUR amount.
    """
    async with translated():
        rows = await conn.fetch(
            "WITH named AS (SELECT funding_id, count(*) AS n FROM funding_service"
            " WHERE funding_id IN (SELECT funding_id FROM funding_service"
            "  WHERE service_id = ANY($1::uuid[])) GROUP BY funding_id),"
            " mine AS (SELECT funding_id, count(*) AS m FROM funding_service"
            "  WHERE service_id = ANY($1::uuid[]) GROUP BY funding_id)"
            " SELECT fr.ref AS funder_ref, fr.name AS funder_name, fr.kind AS funder_kind,"
            " (f.amount_eur * mine.m / named.n)::float8 AS amount_eur,"
            " f.period_start, f.period_end"
            " FROM funding f JOIN named ON named.funding_id = f.id"
            " JOIN mine ON mine.funding_id = f.id JOIN funder fr ON fr.id = f.funder_id"
            " WHERE f.status IN ('committed', 'disbursed') AND f.period_end >= $2"
            " AND f.amount_eur IS NOT NULL"
            " ORDER BY f.period_start, fr.ref",
            service_ids,
            on,
        )
    return msgspec.convert(rows, list[GrantMoney], from_attributes=True)


async def services_of_organization(
    conn: asyncpg.Connection, org_id: uuid.UUID
) -> list[ServedService]:
    """The services of ``org_id`` with the participant, area and code they serve."""
    async with translated():
        rows = await conn.fetch(
            "SELECT s.id AS service_id, s.name AS service_name, a.participant_code,"
            " l.area_code, s.taxonomy_code"
            " FROM service s JOIN location l ON l.id = s.location_id"
            " JOIN area a ON a.code = l.area_code"
            " WHERE s.organization_id = $1 ORDER BY s.taxonomy_code, l.area_code, s.name",
            org_id,
        )
    return msgspec.convert(rows, list[ServedService], from_attributes=True)


async def placements_by_code(
    conn: asyncpg.Connection, participants: list[str] | None, start: dt.date, end: dt.date
) -> list[CodeFigure]:
    """Placements (confirmed holds) per participant, code and organisation kind in [start, end)."""
    async with translated():
        rows = await conn.fetch(
            "SELECT a.participant_code, s.taxonomy_code, o.kind AS org_kind,"
            " sum(pc.n)::float8 AS amount"
            " FROM placement_count pc JOIN service s ON s.id = pc.service_id"
            " JOIN organization o ON o.id = s.organization_id"
            " JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code"
            " WHERE pc.month >= $1 AND pc.month < $2"
            " AND ($3::text[] IS NULL OR a.participant_code = ANY($3::text[]))"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            start,
            end,
            participants,
        )
    return msgspec.convert(rows, list[CodeFigure], from_attributes=True)


async def public_money_by_code(
    conn: asyncpg.Connection, participants: list[str] | None, start: dt.date, end: dt.date
) -> list[CodeFigure]:
    """Public EUR per participant, code and organisation kind falling in [start, end).

    Each committed or disbursed grant of a public funder is shared equally among the services
    it names, and counts for the days of its period that fall in [start, end), in proportion.
    """
    async with translated():
        rows = await conn.fetch(
            "WITH g AS ("
            " SELECT f.id, f.amount_eur, f.period_start, f.period_end,"
            "  (f.period_end - f.period_start + 1) AS days,"
            "  greatest(least(f.period_end + 1, $2::date) - greatest(f.period_start, $1::date), 0)"
            "   AS inside,"
            "  (SELECT count(*) FROM funding_service x WHERE x.funding_id = f.id) AS n"
            " FROM funding f JOIN funder fr ON fr.id = f.funder_id"
            " WHERE f.status IN ('committed', 'disbursed') AND f.amount_eur IS NOT NULL"
            "  AND fr.kind = ANY($4::text[])"
            "  AND f.period_start < $2 AND f.period_end >= $1)"
            " SELECT a.participant_code, s.taxonomy_code, o.kind AS org_kind,"
            " sum(g.amount_eur * g.inside / g.days / g.n)::float8 AS amount"
            " FROM g JOIN funding_service fs ON fs.funding_id = g.id"
            " JOIN service s ON s.id = fs.service_id"
            " JOIN organization o ON o.id = s.organization_id"
            " JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code"
            " WHERE ($3::text[] IS NULL OR a.participant_code = ANY($3::text[]))"
            " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            start,
            end,
            participants,
            list(PUBLIC_FUNDER_KINDS),
        )
    return msgspec.convert(rows, list[CodeFigure], from_attributes=True)
