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


# --- Funding feeds (migration 0020): funders, registry look-ups, the ledger merge. ---


class FunderRow(msgspec.Struct, frozen=True, kw_only=True):
    """A stored funder."""

    id: uuid.UUID
    ref: str
    name: str
    kind: str
    participant_code: str | None


async def list_funders(conn: asyncpg.Connection) -> list[FunderRow]:
    """Every funder, by reference."""
    rows = await conn.fetch("SELECT id, ref, name, kind, participant_code FROM funder ORDER BY ref")
    return msgspec.convert(rows, list[FunderRow], from_attributes=True)


async def get_funder_by_ref(conn: asyncpg.Connection, ref: str) -> FunderRow | None:
    """The funder with this reference (case-insensitive)."""
    row = await conn.fetchrow(
        "SELECT id, ref, name, kind, participant_code FROM funder"
        " WHERE upper(ref) = upper($1) ORDER BY ref LIMIT 1",
        ref,
    )
    return None if row is None else msgspec.convert(row, FunderRow, from_attributes=True)


async def link_token_funder(
    conn: asyncpg.Connection, token_id: uuid.UUID, funder_id: uuid.UUID
) -> None:
    """Make a funder token speak for one funder."""
    async with translated():
        await conn.execute(
            "INSERT INTO api_token_funder (token_id, funder_id) VALUES ($1, $2)"
            " ON CONFLICT (token_id) DO UPDATE SET funder_id = EXCLUDED.funder_id",
            token_id,
            funder_id,
        )


async def funder_of_token(conn: asyncpg.Connection, token_id: uuid.UUID) -> uuid.UUID | None:
    """The funder a token speaks for, if any."""
    funder_id = await conn.fetchval(
        "SELECT funder_id FROM api_token_funder WHERE token_id = $1", token_id
    )
    return funder_id if isinstance(funder_id, uuid.UUID) else None


class RegistryOrg(msgspec.Struct, frozen=True, kw_only=True):
    """What organisation matching needs of a registry organisation."""

    id: uuid.UUID
    participant_code: str
    name: str
    registration_number: str | None
    #: Its names in other languages and scripts.
    other_names: list[str] = msgspec.field(default_factory=list)


async def list_registry_orgs(conn: asyncpg.Connection) -> list[RegistryOrg]:
    """Every organisation of the registry with all its names, for matching feed recipients."""
    rows = await conn.fetch(
        "SELECT o.id, o.participant_code, o.name, o.registration_number,"
        " ARRAY(SELECT n.name FROM organization_name n WHERE n.organization_id = o.id"
        "   ORDER BY n.language) AS other_names"
        " FROM organization o ORDER BY o.id"
    )
    return msgspec.convert(rows, list[RegistryOrg], from_attributes=True)


class ServiceBrief(msgspec.Struct, frozen=True, kw_only=True):
    """A service's id, organisation and taxonomy code, for mapping feed rows to services."""

    id: uuid.UUID
    organization_id: uuid.UUID
    taxonomy_code: str


async def list_service_briefs(conn: asyncpg.Connection) -> list[ServiceBrief]:
    """Every service's id, organisation and code."""
    rows = await conn.fetch("SELECT id, organization_id, taxonomy_code FROM service ORDER BY id")
    return msgspec.convert(rows, list[ServiceBrief], from_attributes=True)


async def list_service_codes(conn: asyncpg.Connection) -> set[str]:
    """The taxonomy codes of services (two-level codes such as ``ACC.EMERG``)."""
    rows = await conn.fetch("SELECT code FROM taxonomy_term WHERE parent_code IS NOT NULL")
    return {str(r["code"]) for r in rows}


class MatchDecision(msgspec.Struct, frozen=True, kw_only=True):
    """A person's decision on a recipient that needed review."""

    match_key: str
    status: str
    organization_id: uuid.UUID | None


async def list_match_decisions(conn: asyncpg.Connection) -> list[MatchDecision]:
    """Confirmed and rejected recipient matches (pending ones decide nothing)."""
    rows = await conn.fetch(
        "SELECT match_key, status, organization_id FROM funding_org_match WHERE status <> 'pending'"
    )
    return msgspec.convert(rows, list[MatchDecision], from_attributes=True)


class ExistingRow(msgspec.Struct, frozen=True, kw_only=True):
    """What the merge needs to know of a ledger row already stored."""

    external_id: str
    funder_id: uuid.UUID
    content_hash: str | None
    recipient_organization_id: uuid.UUID | None


async def existing_rows(
    conn: asyncpg.Connection, source: str, external_ids: list[str]
) -> list[ExistingRow]:
    """The stored rows of ``source`` among ``external_ids``."""
    # A join on unnest, not ``= ANY($2)``: with 100,000 ids that is a hash join instead of
    # a search of the whole array for every row.
    rows = await conn.fetch(
        "SELECT f.external_id, f.funder_id, f.content_hash, f.recipient_organization_id"
        " FROM funding f JOIN unnest($2::text[]) AS wanted (external_id)"
        "   ON wanted.external_id = f.external_id"
        " WHERE f.source = $1",
        source,
        external_ids,
    )
    return msgspec.convert(rows, list[ExistingRow], from_attributes=True)


class LedgerRow(msgspec.Struct, frozen=True, kw_only=True):
    """One funding row to insert or update, normalised from a feed."""

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
    value_date: dt.date | None
    title: str | None
    activity_ref: str | None
    recipient_ref: str | None
    recipient_match_key: str | None
    match_method: str | None
    match_score: int | None
    service_refs: list[str]
    content_hash: str
    import_id: uuid.UUID | None


_LEDGER_COLUMNS = (
    "id", "funder_id", "recipient_organization_id", "recipient_name", "amount", "currency",
    "period_start", "period_end", "status", "source", "external_id", "funded_units", "unit",
    "value_date", "title", "activity_ref", "recipient_ref", "recipient_match_key",
    "match_method", "match_score", "service_refs", "content_hash", "import_id",
)  # fmt: skip
_LEDGER_LIST = ", ".join(_LEDGER_COLUMNS)
_LEDGER_UPDATES = ", ".join(
    f"{c} = EXCLUDED.{c}" for c in _LEDGER_COLUMNS if c not in ("id", "source", "external_id")
)


async def write_ledger_rows(
    conn: asyncpg.Connection,
    rows: list[LedgerRow],
    links: list[tuple[str, str, uuid.UUID]],
) -> int:
    """Insert or update ``rows`` (by source and external id) and set their service links.

    ``links`` are (source, external_id, service_id); a written row's links are replaced by
    those given. Bulk: COPY into temporary tables, then one merge. Run inside a transaction.
    """
    if not rows:
        return 0
    async with translated():
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS funding_stage"
            " (LIKE funding INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        await conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS funding_link_stage"
            " (source text, external_id text, service_id uuid) ON COMMIT DELETE ROWS"
        )
        await conn.execute("TRUNCATE funding_stage, funding_link_stage")
        await conn.copy_records_to_table(
            "funding_stage",
            records=[tuple(getattr(r, c) for c in _LEDGER_COLUMNS) for r in rows],
            columns=list(_LEDGER_COLUMNS),
        )
        await conn.execute("ANALYZE funding_stage")
        written = await conn.fetch(
            "INSERT INTO funding (" + _LEDGER_LIST + ", updated_at)"
            " SELECT " + _LEDGER_LIST + ", now() FROM funding_stage"
            " ON CONFLICT ON CONSTRAINT funding_source_external_id DO UPDATE SET "
            + _LEDGER_UPDATES
            + ", updated_at = now() RETURNING id"
        )
        ids = [r["id"] for r in written]
        await conn.execute(
            "DELETE FROM funding_service fs USING unnest($1::uuid[]) AS w (id)"
            " WHERE fs.funding_id = w.id",
            ids,
        )
        if links:
            await conn.copy_records_to_table(
                "funding_link_stage",
                records=links,
                columns=["source", "external_id", "service_id"],
            )
            await conn.execute("ANALYZE funding_link_stage")
            await conn.execute(
                "INSERT INTO funding_service (funding_id, service_id)"
                " SELECT f.id, s.service_id FROM funding_link_stage s"
                " JOIN funding f ON f.source = s.source AND f.external_id = s.external_id"
                " ON CONFLICT DO NOTHING"
            )
    return len(ids)


class TransactionRow(msgspec.Struct, frozen=True, kw_only=True):
    """One transaction of an IATI activity."""

    id: uuid.UUID
    source: str
    activity_ref: str
    position: int
    ref: str | None
    transaction_type: int
    transaction_date: dt.date
    amount: Decimal
    currency: str
    value_date: dt.date
    provider_ref: str | None
    provider_name: str | None
    receiver_ref: str | None
    receiver_name: str | None


# A transaction's EUR amount; NULL without a rate or when too large for the column.
_TX_EUR = (
    "(SELECT CASE WHEN abs(e) < 1e14 THEN round(e, 2) END"
    " FROM (SELECT amount * eur_rate(currency, value_date) AS e) AS x)"
)
_TX_COLUMNS = (
    "id", "source", "activity_ref", "position", "ref", "transaction_type", "transaction_date",
    "amount", "currency", "value_date", "provider_ref", "provider_name", "receiver_ref",
    "receiver_name",
)  # fmt: skip


async def replace_transactions(
    conn: asyncpg.Connection, source: str, activity_refs: list[str], txs: list[TransactionRow]
) -> int:
    """Replace the transactions of these activities by ``txs``; return how many are stored."""
    async with translated():
        await conn.execute(
            "DELETE FROM funding_transaction WHERE source = $1 AND activity_ref = ANY($2::text[])",
            source,
            activity_refs,
        )
        if txs:
            await conn.copy_records_to_table(
                "funding_transaction",
                records=[tuple(getattr(t, c) for c in _TX_COLUMNS) for t in txs],
                columns=list(_TX_COLUMNS),
            )
            await conn.execute(
                "UPDATE funding_transaction SET amount_eur = "
                + _TX_EUR
                + " WHERE source = $1 AND activity_ref = ANY($2::text[])",
                source,
                activity_refs,
            )
    return len(txs)


async def count_transactions(conn: asyncpg.Connection, activity_ref: str) -> int:
    """How many transactions of one activity are stored."""
    return int(
        await conn.fetchval(
            "SELECT count(*) FROM funding_transaction WHERE activity_ref = $1", activity_ref
        )
    )


# --- Recipients waiting for review. ---


class ReviewRow(msgspec.Struct, frozen=True, kw_only=True):
    """A recipient that was not matched with confidence, and what a person decided."""

    id: uuid.UUID
    match_key: str
    identifier: str | None
    name: str
    candidate_organization_id: uuid.UUID | None
    candidate_name: str | None
    score: int | None
    status: str
    organization_id: uuid.UUID | None
    funding_rows: int
    last_seen_at: dt.datetime


_REVIEW_SELECT = (
    "SELECT m.id, m.match_key, m.identifier, m.name, m.candidate_organization_id,"
    " o.name AS candidate_name, m.score, m.status, m.organization_id, m.last_seen_at,"
    " (SELECT count(*) FROM funding f WHERE f.recipient_match_key = m.match_key)"
    " AS funding_rows"
    " FROM funding_org_match m LEFT JOIN organization o ON o.id = m.candidate_organization_id"
)


async def upsert_review(
    conn: asyncpg.Connection,
    *,
    match_key: str,
    identifier: str | None,
    name: str,
    candidate_organization_id: uuid.UUID | None,
    score: int | None,
) -> tuple[uuid.UUID, str]:
    """Record (or refresh) a recipient to review; return its id and status."""
    async with translated():
        row = await conn.fetchrow(
            "INSERT INTO funding_org_match"
            " (id, match_key, identifier, name, candidate_organization_id, score)"
            " VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (match_key) DO UPDATE SET last_seen_at = now(),"
            " candidate_organization_id = CASE WHEN funding_org_match.status = 'pending'"
            "   THEN EXCLUDED.candidate_organization_id"
            "   ELSE funding_org_match.candidate_organization_id END,"
            " score = CASE WHEN funding_org_match.status = 'pending'"
            "   THEN EXCLUDED.score ELSE funding_org_match.score END"
            " RETURNING id, status",
            uuid.uuid4(),
            match_key,
            identifier,
            name[:300],
            candidate_organization_id,
            score,
        )
    assert row is not None
    return row["id"], str(row["status"])


async def list_reviews(conn: asyncpg.Connection, *, status: str | None) -> list[ReviewRow]:
    """Recipients to review (``status`` None: every one), most recently seen first."""
    rows = await conn.fetch(
        _REVIEW_SELECT + " WHERE ($1::text IS NULL OR m.status = $1)"
        " ORDER BY m.last_seen_at DESC, m.name LIMIT 1000",
        status,
    )
    return msgspec.convert(rows, list[ReviewRow], from_attributes=True)


async def get_review(conn: asyncpg.Connection, review_id: uuid.UUID) -> ReviewRow | None:
    """One recipient to review."""
    row = await conn.fetchrow(_REVIEW_SELECT + " WHERE m.id = $1", review_id)
    return None if row is None else msgspec.convert(row, ReviewRow, from_attributes=True)


async def decide_review(
    conn: asyncpg.Connection,
    review_id: uuid.UUID,
    *,
    status: str,
    organization_id: uuid.UUID | None,
) -> int:
    """Confirm (with an organisation) or reject a review; return the funding rows linked.

    Confirming links every unmatched funding row of the same recipient to the organisation
    and its services named by the rows (service ids or taxonomy codes of that organisation).
    """
    async with translated():
        key = await conn.fetchval(
            "UPDATE funding_org_match SET status = $2, organization_id = $3, decided_at = now()"
            " WHERE id = $1 RETURNING match_key",
            review_id,
            status,
            organization_id,
        )
        if key is None or organization_id is None:
            return 0
        ids = [
            r["id"]
            for r in await conn.fetch(
                "UPDATE funding SET recipient_organization_id = $2, match_method = 'confirmed',"
                " match_score = 100, updated_at = now()"
                " WHERE recipient_match_key = $1 AND recipient_organization_id IS NULL"
                " RETURNING id",
                key,
                organization_id,
            )
        ]
        await conn.execute(
            "INSERT INTO funding_service (funding_id, service_id)"
            " SELECT f.id, s.id FROM funding f JOIN service s ON s.organization_id = $2"
            "  AND (s.taxonomy_code = ANY(f.service_refs) OR s.id::text = ANY(f.service_refs))"
            " WHERE f.id = ANY($1::uuid[]) ON CONFLICT DO NOTHING",
            ids,
            organization_id,
        )
    return len(ids)


# --- Import reports. ---


class ImportRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored import and its report (JSON)."""

    id: uuid.UUID
    format: str
    filename: str | None
    dry_run: bool
    token_id: uuid.UUID | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    rows_read: int
    imported: int
    updated: int
    unchanged: int
    skipped: int
    report: str


async def start_import(
    conn: asyncpg.Connection,
    import_id: uuid.UUID,
    *,
    format: str,
    filename: str | None,
    dry_run: bool,
    token_id: uuid.UUID | None,
) -> None:
    """Record that an import started."""
    async with translated():
        await conn.execute(
            "INSERT INTO funding_import (id, format, filename, dry_run, token_id)"
            " VALUES ($1, $2, $3, $4, $5)",
            import_id,
            format,
            None if filename is None else filename[:300],
            dry_run,
            token_id,
        )


async def finish_import(
    conn: asyncpg.Connection,
    import_id: uuid.UUID,
    *,
    rows_read: int,
    imported: int,
    updated: int,
    unchanged: int,
    skipped: int,
    report_json: str,
) -> None:
    """Store an import's counts and report."""
    async with translated():
        await conn.execute(
            "UPDATE funding_import SET finished_at = now(), rows_read = $2, imported = $3,"
            " updated = $4, unchanged = $5, skipped = $6, report = $7::jsonb WHERE id = $1",
            import_id,
            rows_read,
            imported,
            updated,
            unchanged,
            skipped,
            report_json,
        )


async def get_import(conn: asyncpg.Connection, import_id: uuid.UUID) -> ImportRecord | None:
    """One stored import."""
    row = await conn.fetchrow(
        "SELECT id, format, filename, dry_run, token_id, started_at, finished_at, rows_read,"
        " imported, updated, unchanged, skipped, report::text AS report"
        " FROM funding_import WHERE id = $1",
        import_id,
    )
    return None if row is None else msgspec.convert(row, ImportRecord, from_attributes=True)


# --- Exchange rates. ---


class Rate(msgspec.Struct, frozen=True, kw_only=True):
    """EUR per unit of a currency from a date on."""

    currency: str
    valid_from: dt.date
    eur_per_unit: Decimal
    source: str
    illustrative: bool


async def upsert_rates(conn: asyncpg.Connection, rates: list[Rate]) -> int:
    """Insert or replace rates (by currency and date); return how many were written."""
    async with translated():
        await conn.executemany(
            "INSERT INTO fx_rate (currency, valid_from, eur_per_unit, source, illustrative)"
            " VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (currency, valid_from) DO UPDATE SET"
            " eur_per_unit = EXCLUDED.eur_per_unit, source = EXCLUDED.source,"
            " illustrative = EXCLUDED.illustrative, updated_at = now()",
            [(r.currency, r.valid_from, r.eur_per_unit, r.source, r.illustrative) for r in rates],
        )
    return len(rates)


async def list_rates(conn: asyncpg.Connection) -> list[Rate]:
    """Every rate, by currency and date."""
    rows = await conn.fetch(
        "SELECT currency, valid_from, eur_per_unit, source, illustrative FROM fx_rate"
        " ORDER BY currency, valid_from"
    )
    return msgspec.convert(rows, list[Rate], from_attributes=True)


async def recompute_eur(conn: asyncpg.Connection, currencies: list[str]) -> int:
    """Recompute the EUR amounts of ledger rows and transactions in these currencies."""
    async with translated():
        # Touching ``amount`` fires the trigger that computes ``amount_eur``.
        status = await conn.execute(
            "UPDATE funding SET amount = amount WHERE currency = ANY($1::text[])", currencies
        )
        await conn.execute(
            "UPDATE funding_transaction SET amount_eur = "
            + _TX_EUR
            + " WHERE currency = ANY($1::text[])",
            currencies,
        )
    return int(status.split()[-1])


# --- Reading the ledger. ---


class LedgerFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Filters of a ledger listing (None: any)."""

    funder_ref: str | None = None
    recipient_id: uuid.UUID | None = None
    participant: str | None = None
    status: str | None = None
    source: str | None = None
    active_on: dt.date | None = None
    unmatched: bool = False
    limit: int = 50
    offset: int = 0


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the ledger with its funder and services."""

    id: uuid.UUID
    funder_ref: str
    funder_name: str
    recipient_organization_id: uuid.UUID | None
    recipient_name: str
    recipient_participant: str | None
    amount: Decimal
    currency: str
    amount_eur: Decimal | None
    value_date: dt.date | None
    period_start: dt.date
    period_end: dt.date
    status: str
    source: str
    external_id: str
    activity_ref: str | None
    title: str | None
    funded_units: int | None
    unit: str | None
    match_method: str | None
    match_score: int | None
    service_ids: list[uuid.UUID]
    imported_at: dt.datetime
    updated_at: dt.datetime | None


_LEDGER_WHERE = (
    " WHERE ($1::text IS NULL OR upper(fu.ref) = upper($1))"
    "   AND ($2::uuid IS NULL OR f.recipient_organization_id = $2)"
    "   AND ($3::text IS NULL OR o.participant_code = $3)"
    "   AND ($4::text IS NULL OR f.status = $4)"
    "   AND ($5::text IS NULL OR f.source = $5)"
    "   AND ($6::date IS NULL OR $6 BETWEEN f.period_start AND f.period_end)"
    "   AND (NOT $7 OR f.recipient_organization_id IS NULL)"
)
_LEDGER_FROM = (
    " FROM funding f JOIN funder fu ON fu.id = f.funder_id"
    " LEFT JOIN organization o ON o.id = f.recipient_organization_id"
)


async def list_ledger(
    conn: asyncpg.Connection, flt: LedgerFilter
) -> tuple[list[LedgerEntry], int, Decimal]:
    """A page of ledger rows (by period start, newest first), the total and its EUR sum."""
    args = (
        flt.funder_ref, flt.recipient_id, flt.participant, flt.status, flt.source,
        flt.active_on, flt.unmatched,
    )  # fmt: skip
    rows = await conn.fetch(
        "SELECT f.id, fu.ref AS funder_ref, fu.name AS funder_name,"
        " f.recipient_organization_id, f.recipient_name,"
        " o.participant_code AS recipient_participant, f.amount, f.currency, f.amount_eur,"
        " f.value_date, f.period_start, f.period_end, f.status, f.source, f.external_id,"
        " f.activity_ref, f.title, f.funded_units, f.unit, f.match_method, f.match_score,"
        " ARRAY(SELECT fs.service_id FROM funding_service fs WHERE fs.funding_id = f.id"
        "       ORDER BY fs.service_id) AS service_ids,"
        " f.imported_at, f.updated_at"
        + _LEDGER_FROM
        + _LEDGER_WHERE
        + " ORDER BY f.period_start DESC, f.id LIMIT $8 OFFSET $9",
        *args,
        flt.limit,
        flt.offset,
    )
    totals = await conn.fetchrow(
        "SELECT count(*) AS n, coalesce(sum(f.amount_eur), 0) AS eur"
        + _LEDGER_FROM
        + _LEDGER_WHERE,
        *args,
    )
    assert totals is not None
    return (
        msgspec.convert(rows, list[LedgerEntry], from_attributes=True),
        int(totals["n"]),
        Decimal(totals["eur"]),
    )


async def funder_ref_of(conn: asyncpg.Connection, funder_id: uuid.UUID) -> str | None:
    """The reference of a funder."""
    ref = await conn.fetchval("SELECT ref FROM funder WHERE id = $1", funder_id)
    return ref if isinstance(ref, str) else None
