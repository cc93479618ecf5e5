"""Queries on organisations, their licences and their locations."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.domain import Organization, OtherName

_ORG_COLUMNS = (
    "id, participant_code, name, kind, registration_number, survivor_led, email, website,"
    " accepting_referrals, created_at, updated_at, version"
)
_LICENCE_COLUMNS = (
    "id, organization_id, authority, number, service_codes, valid_from, valid_to,"
    " verified_by, verified_at"
)


class NewOrganization(msgspec.Struct, frozen=True, kw_only=True):
    """Values of an organisation to insert."""

    id: uuid.UUID
    participant_code: str
    name: str
    kind: str
    registration_number: str | None
    survivor_led: bool
    email: str | None
    website: str | None
    accepting_referrals: bool
    other_names: tuple[OtherName, ...] = ()


class NewLicence(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a licence to insert."""

    id: uuid.UUID
    organization_id: uuid.UUID
    authority: str
    number: str
    service_codes: list[str]
    valid_from: dt.date
    valid_to: dt.date | None
    verified_by: str | None
    verified_at: dt.datetime | None


class NewLocation(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a location to insert."""

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    area_code: str
    address: str | None
    latitude: float
    longitude: float
    accessibility: list[str]
    confidential: bool


# Columns a PATCH may change, an allow-list for building the UPDATE statement.
ORGANIZATION_EDITABLE = (
    "name",
    "kind",
    "registration_number",
    "survivor_led",
    "email",
    "website",
    "accepting_referrals",
)


async def insert_organization(conn: asyncpg.Connection, org: NewOrganization) -> bool:
    """Insert an organisation unless its id exists; return whether a row was added."""
    async with translated():
        status = await conn.execute(
            "INSERT INTO organization (id, participant_code, name, kind, registration_number,"
            " survivor_led, email, website, accepting_referrals)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
            org.id,
            org.participant_code,
            org.name,
            org.kind,
            org.registration_number,
            org.survivor_led,
            org.email,
            org.website,
            org.accepting_referrals,
        )
        added = status.endswith(" 1")
        if added and org.other_names:
            await replace_other_names(conn, org.id, org.other_names)
    return bool(added)


async def replace_other_names(
    conn: asyncpg.Connection, org_id: uuid.UUID, names: Sequence[OtherName]
) -> None:
    """Make ``names`` the organisation's names in other languages (one per language)."""
    async with translated():
        await conn.execute("DELETE FROM organization_name WHERE organization_id = $1", org_id)
        await conn.executemany(
            "INSERT INTO organization_name (organization_id, language, name) VALUES ($1, $2, $3)",
            [(org_id, n.language, n.name) for n in names],
        )


async def _with_names(conn: asyncpg.Connection, orgs: list[Organization]) -> list[Organization]:
    """``orgs`` with their names in other languages, by language tag."""
    if not orgs:
        return orgs
    rows = await conn.fetch(
        "SELECT organization_id, language, name FROM organization_name"
        " WHERE organization_id = ANY($1::uuid[]) ORDER BY organization_id, language",
        [o.id for o in orgs],
    )
    names: dict[uuid.UUID, list[OtherName]] = defaultdict(list)
    for row in rows:
        names[row["organization_id"]].append(OtherName(language=row["language"], name=row["name"]))
    return [msgspec.structs.replace(o, other_names=tuple(names.get(o.id, ()))) for o in orgs]


class NamedOrganization(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation's id and every name it has, for a search by name."""

    id: uuid.UUID
    name: str
    other_names: list[str]


async def list_organization_names(
    conn: asyncpg.Connection,
    *,
    participant: str | None,
    kind: str | None,
    survivor_led: bool | None,
) -> list[NamedOrganization]:
    """The names of the organisations the filters select, in every language."""
    rows = await conn.fetch(
        "SELECT o.id, o.name, ARRAY(SELECT n.name FROM organization_name n"
        "   WHERE n.organization_id = o.id ORDER BY n.language) AS other_names"
        " FROM organization o"
        " WHERE ($1::text IS NULL OR o.participant_code = $1)"
        "   AND ($2::text IS NULL OR o.kind = $2)"
        "   AND ($3::bool IS NULL OR o.survivor_led = $3::bool)",
        participant,
        kind,
        survivor_led,
    )
    return msgspec.convert(rows, list[NamedOrganization], from_attributes=True)


async def get_organization(conn: asyncpg.Connection, org_id: uuid.UUID) -> Organization | None:
    """Return one organisation."""
    row = await conn.fetchrow("SELECT " + _ORG_COLUMNS + " FROM organization WHERE id = $1", org_id)
    if row is None:
        return None
    (org,) = await _with_names(conn, [msgspec.convert(row, Organization, from_attributes=True)])
    return org


async def list_organizations(
    conn: asyncpg.Connection,
    *,
    participant: str | None,
    kind: str | None,
    only_id: uuid.UUID | None,
    limit: int,
    offset: int,
    survivor_led: bool | None = None,
    only_ids: Sequence[uuid.UUID] | None = None,
) -> tuple[list[Organization], int]:
    """Return a page of organisations ordered by participant and name, and the total.

    ``only_ids`` keeps those organisations (a name search's hits).
    """
    ids = None if only_ids is None else list(only_ids)
    rows = await conn.fetch(
        "SELECT " + _ORG_COLUMNS + ", count(*) OVER () AS total FROM organization"
        " WHERE ($1::text IS NULL OR participant_code = $1)"
        "   AND ($2::text IS NULL OR kind = $2)"
        "   AND ($3::uuid IS NULL OR id = $3)"
        "   AND ($6::bool IS NULL OR survivor_led = $6::bool)"
        "   AND ($7::uuid[] IS NULL OR id = ANY($7::uuid[]))"
        " ORDER BY participant_code, name, id LIMIT $4 OFFSET $5",
        participant,
        kind,
        only_id,
        limit,
        offset,
        survivor_led,
        ids,
    )
    if rows:
        total = int(rows[0]["total"])
    else:
        total = int(
            await conn.fetchval(
                "SELECT count(*) FROM organization"
                " WHERE ($1::text IS NULL OR participant_code = $1)"
                "   AND ($2::text IS NULL OR kind = $2) AND ($3::uuid IS NULL OR id = $3)"
                "   AND ($4::bool IS NULL OR survivor_led = $4::bool)"
                "   AND ($5::uuid[] IS NULL OR id = ANY($5::uuid[]))",
                participant,
                kind,
                only_id,
                survivor_led,
                ids,
            )
        )
    orgs = msgspec.convert(rows, list[Organization], from_attributes=True)
    return await _with_names(conn, orgs), total


async def update_organization(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    changes: dict[str, object],
    expected_version: int | None,
) -> Organization | None:
    """Apply ``changes`` (keys from ORGANIZATION_EDITABLE); None if the id or version mismatch."""
    columns = [c for c in ORGANIZATION_EDITABLE if c in changes]
    assignments = ", ".join(f"{c} = ${i}" for i, c in enumerate(columns, start=3))
    sql = (
        "UPDATE organization SET "
        + (assignments + ", " if assignments else "")
        + "updated_at = now(), version = version + 1"
        " WHERE id = $1 AND ($2::int IS NULL OR version = $2) RETURNING " + _ORG_COLUMNS
    )
    async with translated():
        row = await conn.fetchrow(sql, org_id, expected_version, *(changes[c] for c in columns))
    if row is None:
        return None
    if "other_names" in changes:
        await replace_other_names(conn, org_id, changes["other_names"])  # type: ignore[arg-type]
    (org,) = await _with_names(conn, [msgspec.convert(row, Organization, from_attributes=True)])
    return org


async def insert_licence(conn: asyncpg.Connection, lic: NewLicence) -> bool:
    """Insert a licence unless its id exists; return whether a row was added."""
    async with translated():
        status = await conn.execute(
            "INSERT INTO licence (" + _LICENCE_COLUMNS + ")"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
            lic.id,
            lic.organization_id,
            lic.authority,
            lic.number,
            lic.service_codes,
            lic.valid_from,
            lic.valid_to,
            lic.verified_by,
            lic.verified_at,
        )
    return bool(status.endswith(" 1"))


async def insert_location(conn: asyncpg.Connection, loc: NewLocation) -> bool:
    """Insert a location unless its id exists; return whether a row was added."""
    async with translated():
        status = await conn.execute(
            "INSERT INTO location (id, organization_id, name, area_code, address, latitude,"
            " longitude, accessibility, confidential)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
            loc.id,
            loc.organization_id,
            loc.name,
            loc.area_code,
            loc.address,
            loc.latitude,
            loc.longitude,
            loc.accessibility,
            loc.confidential,
        )
    return bool(status.endswith(" 1"))


async def count_organizations(conn: asyncpg.Connection) -> int:
    """Return how many organisations the registry holds."""
    return int(await conn.fetchval("SELECT count(*) FROM organization"))


async def first_offering(
    conn: asyncpg.Connection, *, participant: str, taxonomy_code: str
) -> uuid.UUID | None:
    """The first organisation by name of ``participant`` with a service of ``taxonomy_code``.

    Its id, or None when there is no such organisation.
    """
    org_id: uuid.UUID | None = await conn.fetchval(
        "SELECT o.id FROM organization o JOIN service s ON s.organization_id = o.id"
        " WHERE o.participant_code = $1 AND s.taxonomy_code = $2"
        " ORDER BY o.name LIMIT 1",
        participant,
        taxonomy_code,
    )
    return org_id
