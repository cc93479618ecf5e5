"""Queries on funders and the funding ledger."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import asyncpg
import msgspec

from csomatch.db.errors import translated


class NewFunder(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a funder to insert or refresh; ``id`` is used only for a new funder."""

    id: uuid.UUID
    ref: str
    name: str
    kind: str
    participant_code: str | None


class NewFunding(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a funding record to insert, with the services it pays for."""

    id: uuid.UUID
    funder_id: uuid.UUID
    recipient_organization_id: uuid.UUID | None
    recipient_name: str
    amount: Decimal
    currency: str
    period_start: dt.date
    period_end: dt.date
    status: str
    source: str
    external_id: str
    funded_units: int | None
    unit: str | None
    service_ids: list[uuid.UUID]


class FundingCounts(msgspec.Struct, frozen=True, kw_only=True):
    """How many rows the funding tables hold."""

    funders: int
    fundings: int
    service_links: int


async def upsert_funder(conn: asyncpg.Connection, funder: NewFunder) -> uuid.UUID:
    """Insert a funder, or refresh the one with the same ``ref``; return its id."""
    async with translated():
        funder_id = await conn.fetchval(
            "INSERT INTO funder (id, ref, name, kind, participant_code)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (ref) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
            " participant_code = EXCLUDED.participant_code"
            " RETURNING id",
            funder.id,
            funder.ref,
            funder.name,
            funder.kind,
            funder.participant_code,
        )
    assert isinstance(funder_id, uuid.UUID)
    return funder_id


async def insert_funding(conn: asyncpg.Connection, funding: NewFunding) -> bool:
    """Insert a funding record and its service links unless (source, external_id) exists.

    Return whether the record was added; an existing record is left as it is.
    """
    async with translated():
        added_id = await conn.fetchval(
            "INSERT INTO funding (id, funder_id, recipient_organization_id, recipient_name,"
            " amount, currency, period_start, period_end, status, source, external_id,"
            " funded_units, unit)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            " ON CONFLICT ON CONSTRAINT funding_source_external_id DO NOTHING"
            " RETURNING id",
            funding.id,
            funding.funder_id,
            funding.recipient_organization_id,
            funding.recipient_name,
            funding.amount,
            funding.currency,
            funding.period_start,
            funding.period_end,
            funding.status,
            funding.source,
            funding.external_id,
            funding.funded_units,
            funding.unit,
        )
        if added_id is None:
            return False
        if funding.service_ids:
            await conn.execute(
                "INSERT INTO funding_service (funding_id, service_id)"
                " SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING",
                added_id,
                funding.service_ids,
            )
    return True


async def count_funding(conn: asyncpg.Connection) -> FundingCounts:
    """Return how many funders, funding records and service links are stored."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM funder) AS funders,"
        " (SELECT count(*) FROM funding) AS fundings,"
        " (SELECT count(*) FROM funding_service) AS service_links"
    )
    return msgspec.convert(row, FundingCounts, from_attributes=True)
