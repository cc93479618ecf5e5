"""The one funding ledger: match, check and merge the lines a feed produced; report.

Each import is idempotent: a line is keyed by (source, external id); a line whose content
is unchanged adds nothing, a changed one updates its row. The caller owns the transaction
(a dry run rolls it back). Who may add what is the ``Scope``'s rule:

- ``admin``, and ``coordinator`` of MARRI: any line;
- ``coordinator`` of a participant: lines whose recipient is matched to one of its
  organisations, or not matched yet (listed for review);
- ``funder``: lines whose funder is the token's own funder (``api_token_funder``), and no
  change to a stored line of another funder.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable

import asyncpg
import msgspec

from csomatch.db import areas as area_db
from csomatch.db import funding as funding_db
from csomatch.domain import (
    CAPACITY_UNITS,
    FUNDING_STATUSES,
    PARTICIPANTS,
    REGION,
    Jurisdiction,
    Principal,
    Role,
)
from csomatch.funding.orgmatch import Match, OrgIndex, normalise_name
from csomatch.funding.records import (
    MAX_AMOUNT,
    FeedLine,
    FeedTransaction,
    Parsed,
    Skip,
)

#: Sources whose external ids are chosen by each funder: stored as ``FUNDER-REF:ID``.
FUNDER_SCOPED_SOURCES = ("csv", "api")
#: How many skips a report lists one by one (all are counted).
MAX_LISTED = 1000

Progress = Callable[[str, int, int], None]


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """Who imports: role, jurisdiction, token, and for a funder token its funder."""

    role: Role
    jurisdiction: Jurisdiction
    token_id: uuid.UUID | None = None
    funder_id: uuid.UUID | None = None


#: The scope of the command line: the operator of the installation.
OPERATOR = Scope(role="admin", jurisdiction=REGION)


class UnmatchedOrg(msgspec.Struct, frozen=True, kw_only=True):
    """A recipient not matched to the registry; its review id confirms a candidate."""

    name: str
    identifier: str | None
    rows: int
    review_id: uuid.UUID | None
    candidate_id: uuid.UUID | None
    candidate_name: str | None
    score: int | None
    rejected: bool


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    """What an import did: counts, skips with reasons, recipients not matched."""

    import_id: uuid.UUID
    format: str
    filename: str | None
    dry_run: bool
    rows_read: int
    lines: int
    imported: int
    updated: int
    unchanged: int
    skipped: int
    skips: list[Skip]
    unmatched: list[UnmatchedOrg]
    matched_by: dict[str, int]
    funders_created: list[str]
    transactions: int
    warnings: list[str]
    seconds: float


def _hash(line: FeedLine, funder_id: uuid.UUID) -> str:
    # What the feed says about the line, not how it was matched: a later match (and the
    # services it resolves) does not make an unchanged line look changed; the merge
    # compares the organisation apart.
    body = msgspec.json.encode(
        [
            str(funder_id), line.recipient_name, line.recipient_ref, str(line.amount),
            line.currency, line.value_date, line.period_start, line.period_end, line.status,
            line.funded_units, line.unit,
            list(line.service_refs), line.title, line.activity_ref,
        ]
    )  # fmt: skip
    return hashlib.sha256(body).hexdigest()


class _Funders:
    """Funders by reference and by name; a funder named by a feed but unknown is created."""

    def __init__(self, conn: asyncpg.Connection, funders: list[funding_db.FunderRow]) -> None:
        self._conn = conn
        self._by_ref = {f.ref.upper(): f for f in funders}
        self._by_name = {normalise_name(f.name): f for f in funders}
        self.created: list[str] = []

    async def resolve(self, line: FeedLine) -> funding_db.FunderRow | None:
        ref = (line.funder_ref or "").strip()
        name = (line.funder_name or "").strip()
        if ref and ref.upper() in self._by_ref:
            return self._by_ref[ref.upper()]
        if not ref and name and name.upper() in self._by_ref:
            return self._by_ref[name.upper()]
        if name and normalise_name(name) in self._by_name:
            return self._by_name[normalise_name(name)]
        if not ref and not name:
            return None
        new_ref = ref or ("name:" + normalise_name(name).replace(" ", "-"))[:100]
        participant = new_ref[:2].upper() if new_ref[2:3] == "-" else None
        new = funding_db.NewFunder(
            id=uuid.uuid4(),
            ref=new_ref[:100],
            name=(name or ref)[:300].ljust(2, "."),
            kind=line.funder_kind or "other",
            participant_code=participant if participant in PARTICIPANTS else None,
        )
        funder_id = await funding_db.upsert_funder(self._conn, new)
        row = funding_db.FunderRow(
            id=funder_id,
            ref=new.ref,
            name=new.name,
            kind=new.kind,
            participant_code=new.participant_code,
        )
        self._by_ref[row.ref.upper()] = row
        self._by_name[normalise_name(row.name)] = row
        self.created.append(row.ref)
        return row


class _Services:
    """Services by id and by (organisation, code), and the known taxonomy codes."""

    def __init__(self, briefs: list[funding_db.ServiceBrief], codes: set[str]) -> None:
        self.by_id = {b.id: b for b in briefs}
        self.by_org_code: dict[tuple[uuid.UUID, str], list[uuid.UUID]] = {}
        for b in briefs:
            self.by_org_code.setdefault((b.organization_id, b.taxonomy_code), []).append(b.id)
        self.codes = codes

    def resolve(self, refs: tuple[str, ...], org_id: uuid.UUID | None) -> list[uuid.UUID]:
        """Service ids named by ``refs``; raise ValueError naming a ref that is unknown."""
        found: list[uuid.UUID] = []
        for ref in refs:
            try:
                # A taxonomy code is never 36 characters long; skip the costly failed parse.
                service_id = uuid.UUID(ref) if len(ref) == 36 else None
            except ValueError:
                service_id = None
            if service_id is None:
                code = ref.strip().upper()
                if code not in self.codes:
                    raise ValueError(f"unknown service code {ref!r}") from None
                if org_id is not None:
                    found.extend(self.by_org_code.get((org_id, code), []))
                continue
            brief = self.by_id.get(service_id)
            if brief is None:
                raise ValueError(f"unknown service {ref}") from None
            if org_id is not None and brief.organization_id != org_id:
                raise ValueError(f"service {ref} is not a service of the recipient") from None
            if org_id is not None:
                found.append(service_id)
        return sorted(set(found))


def _check_line(line: FeedLine) -> Skip | None:
    for name in ("funder_ref", "funder_name", "recipient_ref", "recipient_name", "title",
                 "external_id", "currency", "status", "unit", "participant"):  # fmt: skip
        value = getattr(line, name)
        if isinstance(value, str) and "\x00" in value:
            return Skip(where=line.where, field=name, reason="text holds a NUL character")
    if any("\x00" in ref for ref in line.service_refs):
        return Skip(where=line.where, field="services", reason="text holds a NUL character")
    if not (0 <= line.amount <= MAX_AMOUNT):
        return Skip(where=line.where, field="amount", reason=f"amount must be 0 to {MAX_AMOUNT}")
    if line.period_end < line.period_start:
        return Skip(where=line.where, field="period_end", reason="the period ends before it starts")
    if line.funded_units is not None and line.funded_units > 1_000_000:
        return Skip(where=line.where, field="funded_units", reason="too many funded units")
    if line.status not in FUNDING_STATUSES:
        return Skip(
            where=line.where,
            field="status",
            reason=f"status {line.status!r} is not one of {', '.join(FUNDING_STATUSES)}",
        )
    if line.unit is not None and line.unit not in CAPACITY_UNITS:
        return Skip(
            where=line.where,
            field="unit",
            reason=f"unit {line.unit!r} is not one of {', '.join(CAPACITY_UNITS)}",
        )
    if line.funded_units is not None and line.funded_units < 0:
        return Skip(where=line.where, field="funded_units", reason="funded units are negative")
    if not line.recipient_name.strip() and line.recipient_id is None and not line.recipient_ref:
        return Skip(where=line.where, field="recipient", reason="no recipient named")
    if not 1 <= len(line.external_id) <= 200:
        return Skip(
            where=line.where, field="external_id", reason="external id must be 1-200 characters"
        )
    return None


def _in_scope(scope: Scope, funder_id: uuid.UUID, match: Match, orgs: OrgIndex) -> str | None:
    """Why this scope may not add the line, or None when it may."""
    if scope.role == "funder":
        if scope.funder_id is None:
            return "this funder token speaks for no funder (create one with --funder REF)"
        if funder_id != scope.funder_id:
            return "a funder token may only add funding where it is the funder"
        return None
    if scope.role == "admin" or scope.jurisdiction == REGION:
        return None
    if scope.role == "coordinator":
        if match.organization_id is None:
            return None
        if orgs.participant_of(match.organization_id) == scope.jurisdiction:
            return None
        return f"the recipient is not an organisation of {scope.jurisdiction}"
    return f"the {scope.role} role may not add funding"


def _stored_id(source: str, funder_ref: str, external_id: str) -> str:
    if source in FUNDER_SCOPED_SOURCES:
        return f"{funder_ref}:{external_id}"[:200]
    return external_id


class _References(msgspec.Struct, frozen=True, kw_only=True):
    """What the lines are matched against: funders, registry organisations, services."""

    funders: _Funders
    orgs: OrgIndex
    services: _Services


class _Matched(msgspec.Struct, kw_only=True):
    """The lines that passed every step as ledger rows, and what matching left to report."""

    rows: list[funding_db.LedgerRow] = msgspec.field(default_factory=list)
    #: (source, stored external id, service id) for each row's services.
    links: list[tuple[str, str, uuid.UUID]] = msgspec.field(default_factory=list)
    #: Recipients not matched, by match key: the match, its first line, how many lines.
    unmatched: dict[str, tuple[Match, FeedLine, int]] = msgspec.field(default_factory=dict)
    #: Stored external id -> where it was first read, to skip a repeat.
    seen: dict[str, str] = msgspec.field(default_factory=dict)
    #: Every skip in the order met: the reader's, matching's, then the merge's.
    skips: list[Skip]


class _Merge(msgspec.Struct, frozen=True, kw_only=True):
    """The rows to write (new or changed) and how many were new, changed or unchanged."""

    to_write: list[funding_db.LedgerRow]
    imported: int
    updated: int
    unchanged: int


async def import_parsed(
    conn: asyncpg.Connection,
    parsed: Parsed,
    *,
    source: str,
    scope: Scope,
    filename: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Merge a reader's lines into the ledger inside the caller's transaction; report.

    A dry run does everything (so its report is exact) and the caller rolls back.
    """
    started = time.perf_counter()
    import_id = uuid.uuid4()
    await funding_db.start_import(
        conn,
        import_id,
        format=parsed.format,
        filename=filename,
        dry_run=dry_run,
        token_id=scope.token_id,
    )
    references = await _load_references(conn)
    matched = await _match_lines(
        parsed, references, source=source, scope=scope, import_id=import_id, progress=progress
    )
    merge = await _compare_with_stored(conn, matched, source=source, scope=scope)
    if progress is not None and len(parsed.lines) >= 10_000:
        progress("writing", len(merge.to_write), len(merge.to_write))
    await _write_rows(conn, matched, merge.to_write)
    transactions = await _replace_transactions(conn, parsed, source)
    unmatched = await _review_unmatched(conn, matched.unmatched)
    report = ImportReport(
        import_id=import_id,
        format=parsed.format,
        filename=filename,
        dry_run=dry_run,
        rows_read=parsed.rows_read,
        lines=len(parsed.lines),
        imported=merge.imported,
        updated=merge.updated,
        unchanged=merge.unchanged,
        skipped=len(matched.skips),
        skips=matched.skips[:MAX_LISTED],
        unmatched=unmatched,
        matched_by=_count_by_method(matched.rows),
        funders_created=references.funders.created,
        transactions=transactions,
        warnings=list(parsed.warnings),
        seconds=round(time.perf_counter() - started, 3),
    )
    await _record_import(conn, report)
    return report


async def _load_references(conn: asyncpg.Connection) -> _References:
    """Read the funders, registry organisations, match decisions and services to match."""
    funders = _Funders(conn, await funding_db.list_funders(conn))
    orgs = OrgIndex(
        await funding_db.list_registry_orgs(conn),
        await funding_db.list_match_decisions(conn),
        await area_db.list_place_keys(conn),
    )
    services = _Services(
        await funding_db.list_service_briefs(conn), await funding_db.list_service_codes(conn)
    )
    return _References(funders=funders, orgs=orgs, services=services)


async def _match_lines(
    parsed: Parsed,
    references: _References,
    *,
    source: str,
    scope: Scope,
    import_id: uuid.UUID,
    progress: Progress | None,
) -> _Matched:
    """Check, resolve and match each line in feed order; a line that fails becomes a skip."""
    matched = _Matched(skips=list(parsed.skips))
    total = len(parsed.lines)
    for n, line in enumerate(parsed.lines, 1):
        if progress is not None and n % 10_000 == 0:
            progress("matching", n, total)
        skip = await _match_line(
            line, references, matched, source=source, scope=scope, import_id=import_id
        )
        if skip is not None:
            matched.skips.append(skip)
    return matched


async def _match_line(
    line: FeedLine,
    references: _References,
    matched: _Matched,
    *,
    source: str,
    scope: Scope,
    import_id: uuid.UUID,
) -> Skip | None:
    """Add one line to ``matched`` as a ledger row, or return the skip that says why not."""
    bad = _check_line(line)
    if bad is not None:
        return bad
    funder = await references.funders.resolve(line)
    if funder is None:
        return Skip(where=line.where, field="funder", reason="no funder named")
    orgs = references.orgs
    match = orgs.match(
        org_id=line.recipient_id,
        identifier=line.recipient_ref,
        name=line.recipient_name or line.recipient_ref or "",
        participant=line.participant,
    )
    why_not = _in_scope(scope, funder.id, match, orgs)
    if why_not is not None:
        return Skip(where=line.where, field="scope", reason=why_not)
    try:
        service_ids = references.services.resolve(line.service_refs, match.organization_id)
    except ValueError as exc:
        return Skip(where=line.where, field="services", reason=str(exc))
    external_id = _stored_id(source, funder.ref, line.external_id)
    if external_id in matched.seen:
        return Skip(
            where=line.where,
            field="external_id",
            reason=f"external id {line.external_id!r} repeats {matched.seen[external_id]}",
        )
    matched.seen[external_id] = line.where
    if match.organization_id is None:
        prior = matched.unmatched.get(match.key)
        matched.unmatched[match.key] = (match, line, 1 if prior is None else prior[2] + 1)
    matched.rows.append(
        _ledger_row(
            line,
            funder.id,
            match,
            orgs,
            source=source,
            external_id=external_id,
            import_id=import_id,
        )
    )
    matched.links.extend((source, external_id, s) for s in service_ids)
    return None


def _ledger_row(
    line: FeedLine,
    funder_id: uuid.UUID,
    match: Match,
    orgs: OrgIndex,
    *,
    source: str,
    external_id: str,
    import_id: uuid.UUID,
) -> funding_db.LedgerRow:
    """The ledger row of a line that passed every step, its texts cut to the columns."""
    recipient_name = line.recipient_name.strip() or (
        orgs.name_of(match.organization_id) if match.organization_id else None
    )
    return funding_db.LedgerRow(
        id=uuid.uuid4(),
        funder_id=funder_id,
        recipient_organization_id=match.organization_id,
        recipient_name=(recipient_name or line.recipient_ref or "?")[:300],
        amount=line.amount,
        currency=line.currency,
        period_start=line.period_start,
        period_end=line.period_end,
        status=line.status,
        source=source,
        external_id=external_id,
        funded_units=line.funded_units,
        unit=line.unit,
        value_date=line.value_date,
        title=None if line.title is None else line.title[:500],
        activity_ref=None if line.activity_ref is None else line.activity_ref[:200],
        recipient_ref=None if line.recipient_ref is None else line.recipient_ref[:200],
        recipient_match_key=match.key,
        match_method=match.method,
        match_score=match.score,
        service_refs=list(line.service_refs),
        content_hash=_hash(line, funder_id),
        import_id=import_id,
    )


async def _compare_with_stored(
    conn: asyncpg.Connection, matched: _Matched, *, source: str, scope: Scope
) -> _Merge:
    """Sort the rows into new, changed and unchanged against the stored rows of ``source``.

    A funder may not change a stored line of another funder: that row becomes a skip.
    """
    existing = {
        e.external_id: e
        for e in await funding_db.existing_rows(conn, source, [r.external_id for r in matched.rows])
    }
    to_write: list[funding_db.LedgerRow] = []
    imported = updated = unchanged = 0
    for row in matched.rows:
        old = existing.get(row.external_id)
        if old is None:
            imported += 1
            to_write.append(row)
            continue
        if scope.role == "funder" and old.funder_id != row.funder_id:
            matched.skips.append(
                Skip(
                    where=row.external_id,
                    field="external_id",
                    reason="a line with this external id belongs to another funder",
                )
            )
            continue
        relinked = (
            row.recipient_organization_id is not None
            and row.recipient_organization_id != old.recipient_organization_id
        )
        if old.content_hash == row.content_hash and not relinked:
            unchanged += 1
            continue
        updated += 1
        to_write.append(row)
    return _Merge(to_write=to_write, imported=imported, updated=updated, unchanged=unchanged)


async def _write_rows(
    conn: asyncpg.Connection, matched: _Matched, to_write: list[funding_db.LedgerRow]
) -> None:
    """Write the new and changed rows with their service links, in one bulk statement."""
    written_ids = {r.external_id for r in to_write}
    await funding_db.write_ledger_rows(
        conn, to_write, [link for link in matched.links if link[1] in written_ids]
    )


async def _replace_transactions(conn: asyncpg.Connection, parsed: Parsed, source: str) -> int:
    """Replace the stored transactions of the feed's activities; return how many are stored."""
    if not parsed.activity_refs:
        return 0
    return await funding_db.replace_transactions(
        conn,
        source,
        parsed.activity_refs,
        [_transaction_row(source, t) for t in parsed.transactions],
    )


async def _review_unmatched(
    conn: asyncpg.Connection, unmatched: dict[str, tuple[Match, FeedLine, int]]
) -> list[UnmatchedOrg]:
    """List the recipients not matched, most rows first; open a review of each not rejected."""
    found = []
    for match, line, count in unmatched.values():
        review_id = None
        if not match.rejected:
            review_id, _status = await funding_db.upsert_review(
                conn,
                match_key=match.key,
                identifier=None if line.recipient_ref is None else line.recipient_ref[:200],
                name=line.recipient_name or line.recipient_ref or "?",
                candidate_organization_id=match.candidate_id,
                score=match.score,
            )
        found.append(
            UnmatchedOrg(
                name=line.recipient_name,
                identifier=line.recipient_ref,
                rows=count,
                review_id=review_id,
                candidate_id=match.candidate_id,
                candidate_name=match.candidate_name,
                score=match.score,
                rejected=match.rejected,
            )
        )
    return sorted(found, key=lambda u: (-u.rows, u.name))


def _count_by_method(rows: list[funding_db.LedgerRow]) -> dict[str, int]:
    """How many rows each match method matched ("unmatched": those it did not)."""
    matched_by: dict[str, int] = {}
    for row in rows:
        key = row.match_method or "unmatched"
        matched_by[key] = matched_by.get(key, 0) + 1
    return matched_by


async def _record_import(conn: asyncpg.Connection, report: ImportReport) -> None:
    """Store the import's counts and its report beside the record of its start."""
    await funding_db.finish_import(
        conn,
        report.import_id,
        rows_read=report.rows_read,
        imported=report.imported,
        updated=report.updated,
        unchanged=report.unchanged,
        skipped=report.skipped,
        report_json=msgspec.json.encode(report).decode(),
    )


def _transaction_row(source: str, t: FeedTransaction) -> funding_db.TransactionRow:
    return funding_db.TransactionRow(
        id=uuid.uuid4(),
        source=source,
        activity_ref=t.activity_ref[:200],
        position=t.position,
        ref=t.ref,
        transaction_type=t.transaction_type,
        transaction_date=t.transaction_date,
        amount=t.amount,
        currency=t.currency,
        value_date=t.value_date,
        provider_ref=t.provider_ref,
        provider_name=t.provider_name,
        receiver_ref=t.receiver_ref,
        receiver_name=t.receiver_name,
    )


async def run_import(
    conn: asyncpg.Connection,
    parsed: Parsed,
    *,
    source: str,
    scope: Scope,
    filename: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """``import_parsed`` in a transaction of its own, committed, or rolled back when dry."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        report = await import_parsed(
            conn,
            parsed,
            source=source,
            scope=scope,
            filename=filename,
            dry_run=dry_run,
            progress=progress,
        )
    except BaseException:
        await transaction.rollback()
        raise
    if dry_run:
        await transaction.rollback()
    else:
        await transaction.commit()
    return report


async def import_scope(conn: asyncpg.Connection, principal: Principal) -> Scope:
    """What a caller may import (a funder token carries its funder)."""
    funder_id = None
    if principal.role == "funder":
        funder_id = await funding_db.funder_of_token(conn, principal.id)
    return Scope(
        role=principal.role,
        jurisdiction=principal.jurisdiction,
        token_id=principal.id,
        funder_id=funder_id,
    )
