"""Queries on agencies: the bodies officers refer for, with their duty phones."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated

_COLUMNS = (
    "id, jurisdiction, name, duty_phone, guardianship_authority, created_at, updated_at, version"
)
# Columns a PATCH may change, an allow-list for building the UPDATE statement.
AGENCY_EDITABLE = ("name", "duty_phone", "guardianship_authority")


class Agency(msgspec.Struct, frozen=True, kw_only=True):
    """A referring agency (police directorate, centre for social work...) and its duty phone."""

    id: uuid.UUID
    jurisdiction: str
    name: str
    #: E.164.
    duty_phone: str
    #: The guardianship authority (usually the centre for social work): its officers may
    #: sign off a child's placement.
    guardianship_authority: bool = False
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class NewAgency(msgspec.Struct, frozen=True, kw_only=True):
    """Values of an agency to insert."""

    id: uuid.UUID
    jurisdiction: str
    name: str
    duty_phone: str
    guardianship_authority: bool = False


async def insert_agency(conn: asyncpg.Connection, new: NewAgency) -> Agency:
    """Insert an agency (Conflict: its jurisdiction has one of that name)."""
    async with translated():
        row = await conn.fetchrow(
            "INSERT INTO agency (id, jurisdiction, name, duty_phone, guardianship_authority)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING " + _COLUMNS,
            new.id,
            new.jurisdiction,
            new.name,
            new.duty_phone,
            new.guardianship_authority,
        )
    return msgspec.convert(row, Agency, from_attributes=True)


async def get_agency(conn: asyncpg.Connection, agency_id: uuid.UUID) -> Agency | None:
    """One agency, or None."""
    async with translated():
        row = await conn.fetchrow("SELECT " + _COLUMNS + " FROM agency WHERE id = $1", agency_id)
    return None if row is None else msgspec.convert(row, Agency, from_attributes=True)


async def list_agencies(
    conn: asyncpg.Connection, jurisdiction: str | None, *, limit: int, offset: int
) -> list[Agency]:
    """Agencies of a jurisdiction (None: all), by jurisdiction and name."""
    async with translated():
        rows = await conn.fetch(
            "SELECT " + _COLUMNS + " FROM agency WHERE ($1::text IS NULL OR jurisdiction = $1)"
            " ORDER BY jurisdiction, name, id LIMIT $2 OFFSET $3",
            jurisdiction,
            limit,
            offset,
        )
    return msgspec.convert(rows, list[Agency], from_attributes=True)


async def update_agency(
    conn: asyncpg.Connection,
    agency_id: uuid.UUID,
    changes: dict[str, object],
    expected_version: int | None,
) -> Agency | None:
    """Apply ``changes`` (keys from AGENCY_EDITABLE); None if the id or version mismatch."""
    columns = [c for c in AGENCY_EDITABLE if c in changes]
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=3))
    sql = (
        "UPDATE agency SET "
        + (assignments + ", " if assignments else "")
        + "updated_at = now(), version = version + 1"
        " WHERE id = $1 AND ($2::int IS NULL OR version = $2) RETURNING " + _COLUMNS
    )
    async with translated():
        row = await conn.fetchrow(sql, agency_id, expected_version, *(changes[c] for c in columns))
    return None if row is None else msgspec.convert(row, Agency, from_attributes=True)


async def delete_agency(conn: asyncpg.Connection, agency_id: uuid.UUID) -> bool:
    """Delete an agency (tokens and referrals naming it keep their agency's name only)."""
    async with translated():
        status = await conn.execute("DELETE FROM agency WHERE id = $1", agency_id)
    return bool(status.endswith(" 1"))


class AgencyContact(msgspec.Struct, frozen=True, kw_only=True):
    """An agency's name and duty phone, as a provider reaches it about a placement."""

    name: str
    duty_phone: str


async def agencies_of_tokens(
    conn: asyncpg.Connection, token_ids: list[uuid.UUID]
) -> dict[uuid.UUID, AgencyContact]:
    """The agency record each of these tokens names (tokens naming none are absent)."""
    async with translated():
        rows = await conn.fetch(
            "SELECT t.id AS token_id, a.name, a.duty_phone FROM api_token t"
            " JOIN agency a ON a.id = t.agency_id WHERE t.id = ANY($1::uuid[])",
            token_ids,
        )
    return {r["token_id"]: AgencyContact(name=r["name"], duty_phone=r["duty_phone"]) for r in rows}


async def ensure_agency(conn: asyncpg.Connection, new: NewAgency) -> Agency:
    """The agency of this jurisdiction and name, inserted from ``new`` if there is none."""
    async with translated():
        row = await conn.fetchrow(
            "INSERT INTO agency (id, jurisdiction, name, duty_phone) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (jurisdiction, name) DO UPDATE SET name = EXCLUDED.name"
            " RETURNING " + _COLUMNS,
            new.id,
            new.jurisdiction,
            new.name,
            new.duty_phone,
        )
    return msgspec.convert(row, Agency, from_attributes=True)
