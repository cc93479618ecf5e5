"""The append-only, hash-chained audit log of reads and writes of referral data.

Each event's hash is SHA-256 over the previous event's hash and a canonical JSON form of the
event, so editing, removing or re-ordering an event breaks the chain from that point on.
Writers serialise on a transaction-scoped advisory lock: the chain has one head.
No person data is ever written here: who (token, role, agency), what, which object, outcome.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable

import asyncpg
import msgspec

from csomatch.db.errors import translated

#: Advisory lock key of the audit chain's head ("csoaudit" in ASCII, as a bigint).
_CHAIN_LOCK = 0x63736F6175646974
GENESIS = b"\x00" * 32


class AuditActor(msgspec.Struct, frozen=True, kw_only=True):
    """Who acted: a token, its role, jurisdiction, organisation and agency."""

    token_id: uuid.UUID | None
    role: str | None
    jurisdiction: str | None
    organization_id: uuid.UUID | None = None
    agency: str | None = None


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One stored event of the chain."""

    seq: int
    at: dt.datetime
    token_id: uuid.UUID | None
    role: str | None
    jurisdiction: str | None
    organization_id: uuid.UUID | None
    agency: str | None
    action: str
    object_type: str
    object_id: str | None
    outcome: str
    prev_hash: bytes
    hash: bytes


class ChainBreak(msgspec.Struct, frozen=True, kw_only=True):
    """Where verification failed: the first altered or missing event."""

    seq: int
    problem: str


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """The result of verifying the whole chain."""

    events: int
    first_break: ChainBreak | None


def event_hash(prev_hash: bytes, event: AuditEvent) -> bytes:
    """SHA-256 of the previous hash and the event's canonical JSON (fixed field order)."""
    body = msgspec.json.encode(
        [
            event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            None if event.token_id is None else str(event.token_id),
            event.role,
            event.jurisdiction,
            None if event.organization_id is None else str(event.organization_id),
            event.agency,
            event.action,
            event.object_type,
            event.object_id,
            event.outcome,
        ]
    )
    return hashlib.sha256(prev_hash + body).digest()


_COLUMNS = (
    "seq, at, token_id, role, jurisdiction, organization_id, agency, action, object_type,"
    " object_id, outcome, prev_hash, hash"
)


async def record_event(
    conn: asyncpg.Connection,
    *,
    actor: AuditActor,
    action: str,
    object_type: str,
    object_id: str | None,
    outcome: str,
) -> int:
    """Append one event to the chain inside the caller's transaction; return its ``seq``.

    The caller owns the transaction: the event commits or rolls back with the change it
    records. Outside a transaction this opens one of its own.
    """
    async with translated():
        if conn.is_in_transaction():
            return await _append(conn, actor, action, object_type, object_id, outcome)
        async with conn.transaction():
            return await _append(conn, actor, action, object_type, object_id, outcome)


async def _append(
    conn: asyncpg.Connection,
    actor: AuditActor,
    action: str,
    object_type: str,
    object_id: str | None,
    outcome: str,
) -> int:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK)
    prev = await conn.fetchval("SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1")
    prev_hash = GENESIS if prev is None else bytes(prev)
    # Microsecond precision: what PostgreSQL stores is what the hash covers.
    draft = AuditEvent(
        seq=0,
        at=dt.datetime.now(dt.UTC),
        token_id=actor.token_id,
        role=actor.role,
        jurisdiction=actor.jurisdiction,
        organization_id=actor.organization_id,
        agency=actor.agency,
        action=action,
        object_type=object_type,
        object_id=object_id,
        outcome=outcome,
        prev_hash=prev_hash,
        hash=b"",
    )
    seq: int = await conn.fetchval(
        "INSERT INTO audit_event (at, token_id, role, jurisdiction, organization_id, agency,"
        " action, object_type, object_id, outcome, prev_hash, hash)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq",
        draft.at,
        draft.token_id,
        draft.role,
        draft.jurisdiction,
        draft.organization_id,
        draft.agency,
        action,
        object_type,
        object_id,
        outcome,
        prev_hash,
        event_hash(prev_hash, draft),
    )
    return seq


async def verify_chain(
    conn: asyncpg.Connection,
    *,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Walk the chain in order; report the first event whose hash or link does not hold.

    ``progress``, when given, is called with the number of events verified so far after
    each batch (a long chain takes a while).

    A gap in ``seq`` is reported as a missing event (identity values are never reused, but
    a rolled-back insert also leaves a gap, so a gap is checked against the next event's
    ``prev_hash``: only a broken link counts).
    """
    prev_hash = GENESIS
    last_seq = 0
    count = 0
    while True:
        async with translated():
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM audit_event WHERE seq > $1 ORDER BY seq LIMIT $2",
                last_seq,
                batch,
            )
        if not rows:
            return ChainReport(events=count, first_break=None)
        for row in rows:
            event = msgspec.convert(row, AuditEvent, from_attributes=True)
            if bytes(event.prev_hash) != prev_hash:
                problem = (
                    "an earlier event is missing or was altered (the link to it is broken)"
                    if event.seq != last_seq + 1
                    else "the previous event was altered (the link to it is broken)"
                )
                return ChainReport(
                    events=count, first_break=ChainBreak(seq=event.seq, problem=problem)
                )
            if event_hash(prev_hash, event) != bytes(event.hash):
                return ChainReport(
                    events=count,
                    first_break=ChainBreak(seq=event.seq, problem="this event was altered"),
                )
            prev_hash = bytes(event.hash)
            last_seq = event.seq
            count += 1
        if progress is not None:
            progress(count)


async def list_events_for(
    conn: asyncpg.Connection, *, object_type: str, object_id: str, limit: int = 500
) -> list[AuditEvent]:
    """Every event about one object, oldest first (who accessed a referral)."""
    async with translated():
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM audit_event WHERE object_type = $1 AND object_id = $2"
            " ORDER BY seq LIMIT $3",
            object_type,
            object_id,
            limit,
        )
    return msgspec.convert(rows, list[AuditEvent], from_attributes=True)
