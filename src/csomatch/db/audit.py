"""The append-only, hash-chained and signed audit log of reads and writes of referral data.

Each event's ``hash`` is SHA-256 over the previous event's hash and a canonical JSON form of
the event, so editing, removing or re-ordering an event breaks the chain from that point on.
Anyone can recompute that chain, though, and so could rewrite it after an edit; each event
therefore also carries ``mac``, an HMAC-SHA-256 of its hash under a key that lives in a file
(``CSOMATCH_AUDIT_KEY_FILE``), never in the database. As each hash covers every event before
it, a valid signature vouches for the whole chain up to that event.

The key travels with the connection that writes: the application's pool opens its
connections with :func:`signing_connection` (every writer of audit events already holds one
of them), so the use cases that record events need not pass the key along. A connection
without a key writes ``mac`` NULL, which ``verify_chain`` reports.

Writers serialise on a transaction-scoped advisory lock: the chain has one head.
No person data is ever written here: who (token, role, agency), what, which object, outcome.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import ClassVar

import asyncpg
import msgspec

from csomatch.db.errors import translated

log = logging.getLogger(__name__)

#: Advisory lock key of the audit chain's head ("csoaudit" in ASCII, as a bigint).
_CHAIN_LOCK = 0x63736F6175646974
GENESIS = b"\x00" * 32


class AuditKey:
    """The secret that signs the audit chain and its checkpoints (HMAC-SHA-256).

    It is read from a file by ``csomatch.audit.key``; its ``repr`` never shows it.
    """

    __slots__ = ("_secret",)

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("an audit key has at least 32 bytes")
        self._secret = secret

    def __repr__(self) -> str:
        return "AuditKey(<secret>)"

    def sign(self, purpose: bytes, message: bytes) -> bytes:
        """HMAC-SHA-256 of ``message``, separated by ``purpose`` from other uses of the key."""
        return hmac.new(self._secret, purpose + b"\x00" + message, hashlib.sha256).digest()

    def signs(self, purpose: bytes, message: bytes, mac: bytes) -> bool:
        """Whether ``mac`` is this key's signature of ``message`` (constant time)."""
        return hmac.compare_digest(self.sign(purpose, message), mac)


#: What an event's signature covers: its hash, which covers every event before it.
EVENT_PURPOSE = b"csomatch audit event v1"


class SigningConnection(asyncpg.Connection):
    """A connection whose audit events are signed with ``audit_key`` (see the module)."""

    audit_key: ClassVar[AuditKey | None] = None


def signing_connection(key: AuditKey) -> type[SigningConnection]:
    """The connection class (asyncpg's ``connection_class``) that signs with ``key``."""

    class KeyedConnection(SigningConnection):
        audit_key: ClassVar[AuditKey | None] = key

    return KeyedConnection


def key_of(conn: asyncpg.Connection) -> AuditKey | None:
    """The key a connection signs with; pooled connections are proxies, hence ``getattr``."""
    key = getattr(conn, "audit_key", None)
    return key if isinstance(key, AuditKey) else None


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
    mac: bytes | None = None


class Head(msgspec.Struct, frozen=True, kw_only=True):
    """The newest event of the chain (``seq`` 0 and the genesis hash when it is empty)."""

    seq: int
    hash: bytes


class Anchor(msgspec.Struct, frozen=True, kw_only=True):
    """What a signed checkpoint saw: the head, and where signing began."""

    seq: int
    head: bytes
    unsigned_until: int


class ChainBreak(msgspec.Struct, frozen=True, kw_only=True):
    """Where verification failed: the first altered, unsigned or missing event."""

    seq: int
    problem: str


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """The result of verifying the chain.

    ``events`` counts the events verified (before the break, if any); ``unsigned`` those
    among them written before signing began (up to ``unsigned_until``); ``after_anchor``
    those newer than the checkpoint it was given; ``last_seq`` and ``last_hash`` name the
    last event verified.
    """

    events: int
    first_break: ChainBreak | None
    unsigned: int = 0
    unsigned_until: int = 0
    last_seq: int = 0
    last_hash: bytes = GENESIS
    after_anchor: int = 0


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
    " object_id, outcome, prev_hash, hash, mac"
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
    records. Outside a transaction this opens one of its own. The event is signed with the
    connection's key (see the module); without one it is stored unsigned.
    """
    async with translated():
        if conn.is_in_transaction():
            return await _append(conn, actor, action, object_type, object_id, outcome)
        async with conn.transaction():
            return await _append(conn, actor, action, object_type, object_id, outcome)


_INSERT = (
    "INSERT INTO audit_event (at, token_id, role, jurisdiction, organization_id, agency,"
    " action, object_type, object_id, outcome, prev_hash, hash, mac)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
)


async def _head_hash(conn: asyncpg.Connection) -> bytes:
    """Lock the chain's head (until the transaction ends) and return its hash."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _CHAIN_LOCK)
    prev = await conn.fetchval("SELECT hash FROM audit_event ORDER BY seq DESC LIMIT 1")
    return GENESIS if prev is None else bytes(prev)


def _row(
    prev_hash: bytes,
    actor: AuditActor,
    action: str,
    object_type: str,
    object_id: str | None,
    outcome: str,
    key: AuditKey | None,
) -> tuple[tuple[object, ...], bytes]:
    """The INSERT arguments of the event after ``prev_hash``, and its hash."""
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
    digest = event_hash(prev_hash, draft)
    row = (
        draft.at, draft.token_id, draft.role, draft.jurisdiction, draft.organization_id,
        draft.agency, action, object_type, object_id, outcome, prev_hash, digest,
        None if key is None else key.sign(EVENT_PURPOSE, digest),
    )  # fmt: skip
    return row, digest


async def _append(
    conn: asyncpg.Connection,
    actor: AuditActor,
    action: str,
    object_type: str,
    object_id: str | None,
    outcome: str,
) -> int:
    key = key_of(conn)
    row, _ = _row(await _head_hash(conn), actor, action, object_type, object_id, outcome, key)
    seq: int = await conn.fetchval(_INSERT + " RETURNING seq", *row)
    if key is None:
        log.warning("audit event %d written without the audit key (unsigned)", seq)
    return seq


async def record_events(
    conn: asyncpg.Connection,
    *,
    actor: AuditActor,
    action: str,
    object_type: str,
    object_ids: Sequence[str | None],
    outcome: str,
) -> None:
    """Append one event per object, in order, inside the caller's transaction.

    The same events as ``record_event`` for each, in three statements whatever their number
    (a list of referrals is audited without a round trip per referral).
    """
    if not object_ids:
        return
    async with translated():
        if not conn.is_in_transaction():
            async with conn.transaction():
                await _append_many(conn, actor, action, object_type, object_ids, outcome)
            return
        await _append_many(conn, actor, action, object_type, object_ids, outcome)


async def _append_many(
    conn: asyncpg.Connection,
    actor: AuditActor,
    action: str,
    object_type: str,
    object_ids: Sequence[str | None],
    outcome: str,
) -> None:
    key = key_of(conn)
    prev_hash = await _head_hash(conn)
    rows = []
    for object_id in object_ids:
        row, prev_hash = _row(prev_hash, actor, action, object_type, object_id, outcome, key)
        rows.append(row)
    # One statement executed once per row, in order: the chain's order is the seq order.
    await conn.executemany(_INSERT, rows)
    if key is None:
        log.warning("%d audit events written without the audit key (unsigned)", len(rows))


async def chain_head(conn: asyncpg.Connection) -> Head:
    """The newest event's ``seq`` and hash (0 and the genesis hash for an empty chain)."""
    async with translated():
        row = await conn.fetchrow("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
    if row is None:
        return Head(seq=0, hash=GENESIS)
    return Head(seq=row["seq"], hash=bytes(row["hash"]))


async def head_mac(conn: asyncpg.Connection) -> tuple[Head, bytes | None]:
    """The newest event and its signature (None: unsigned, or no event)."""
    async with translated():
        row = await conn.fetchrow(
            "SELECT seq, hash, mac FROM audit_event ORDER BY seq DESC LIMIT 1"
        )
    if row is None:
        return Head(seq=0, hash=GENESIS), None
    mac = row["mac"]
    return Head(seq=row["seq"], hash=bytes(row["hash"])), None if mac is None else bytes(mac)


async def signing_installed(conn: asyncpg.Connection) -> bool:
    """Whether the database has the migration that signs audit events."""
    async with translated():
        found = await conn.fetchval("SELECT to_regclass('audit_signing') IS NOT NULL")
    return bool(found)


async def unsigned_until(conn: asyncpg.Connection) -> int:
    """The last ``seq`` written before signing began (0: every event is signed)."""
    async with translated():
        value = await conn.fetchval("SELECT unsigned_until FROM audit_signing")
    # No row: someone deleted it; then no event may go unsigned.
    return 0 if value is None else int(value)


def _event_problem(
    event: AuditEvent, prev_hash: bytes, last_seq: int, key: AuditKey, signing_from: int
) -> str | None:
    """Why one event does not verify after the one before it (None: it does)."""
    if bytes(event.prev_hash) != prev_hash:
        if event.seq != last_seq + 1:
            return "an earlier event is missing or was altered (the link to it is broken)"
        return "the previous event was altered (the link to it is broken)"
    digest = event_hash(prev_hash, event)
    if digest != bytes(event.hash):
        return "this event was altered"
    if event.mac is None:
        if event.seq > signing_from:
            return (
                "this event is not signed (its signature was removed, or it was written"
                " without the audit key)"
            )
        return None
    if not key.signs(EVENT_PURPOSE, digest, bytes(event.mac)):
        return (
            "this event's signature does not match: it was altered and the chain recomputed,"
            " or CSOMATCH_AUDIT_KEY_FILE is not the key that signed it"
        )
    return None


async def verify_chain(
    conn: asyncpg.Connection,
    key: AuditKey,
    *,
    anchor: Anchor | None = None,
    since_anchor: bool = False,
    batch: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ChainReport:
    """Walk the chain in order; report the first event whose link, hash or signature does not hold.

    An event that contradicts the checkpoint ``anchor`` is reported too.

    Events up to ``audit_signing.unsigned_until`` predate signing and may be unsigned; every
    later one must carry the key's signature. With ``anchor``, the event at ``anchor.seq``
    must still have the hash the checkpoint saw (so the chain was not rewritten or cut
    short), and where signing began must not have moved.

    With ``since_anchor`` only the events after the anchor are walked (the checkpointer's
    round): the anchor's event must still be there, unchanged.

    ``progress``, when given, is called with the number of events verified so far after
    each batch (a long chain takes a while).

    A gap in ``seq`` is reported as a missing event only if the link breaks (identity values
    are never reused, but a rolled-back insert also leaves a gap).
    """
    signing_from = await unsigned_until(conn)
    if anchor is not None and anchor.unsigned_until != signing_from:
        return ChainReport(
            events=0,
            first_break=ChainBreak(
                seq=min(anchor.unsigned_until, signing_from) + 1,
                problem=f"signing began after seq {anchor.unsigned_until} at the newest"
                f" checkpoint, but the database now says after seq {signing_from}: the"
                " record of where signing began was changed",
            ),
            unsigned_until=signing_from,
        )
    prev_hash = GENESIS
    last_seq = count = unsigned = after = 0
    if anchor is not None and since_anchor and anchor.seq > 0:
        async with translated():
            stored = await conn.fetchval("SELECT hash FROM audit_event WHERE seq = $1", anchor.seq)
        if stored is None or bytes(stored) != anchor.head:
            gone = (
                "the newest checkpoint saw this event, but it is missing: events were deleted"
                if stored is None
                else "this event differs from the one the newest checkpoint saw: the chain was"
                " rewritten"
            )
            return ChainReport(
                events=0,
                first_break=ChainBreak(seq=anchor.seq, problem=gone),
                unsigned_until=signing_from,
            )
        prev_hash, last_seq = anchor.head, anchor.seq

    def report(first_break: ChainBreak | None) -> ChainReport:
        return ChainReport(
            events=count,
            first_break=first_break,
            unsigned=unsigned,
            unsigned_until=signing_from,
            last_seq=last_seq,
            last_hash=prev_hash,
            after_anchor=after,
        )

    while True:
        async with translated():
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM audit_event WHERE seq > $1 ORDER BY seq LIMIT $2",
                last_seq,
                batch,
            )
        if not rows:
            break
        for row in rows:
            event = msgspec.convert(row, AuditEvent, from_attributes=True)
            problem = _event_problem(event, prev_hash, last_seq, key, signing_from)
            if problem is None and anchor is not None:
                problem = _anchor_problem(event, last_seq, anchor)
            if problem is not None:
                return report(ChainBreak(seq=event.seq, problem=problem))
            prev_hash = bytes(event.hash)
            last_seq = event.seq
            count += 1
            unsigned += event.mac is None
            after += anchor is not None and event.seq > anchor.seq
        if progress is not None:
            progress(count)
    if anchor is not None and last_seq < anchor.seq:
        return report(
            ChainBreak(
                seq=anchor.seq,
                problem=f"the newest checkpoint saw the chain reach this event, but it ends at"
                f" seq {last_seq}: the newest events were deleted",
            )
        )
    return report(None)


def _anchor_problem(event: AuditEvent, last_seq: int, anchor: Anchor) -> str | None:
    """Why an event contradicts the checkpoint (None: it does not)."""
    if event.seq == anchor.seq and bytes(event.hash) != anchor.head:
        return "this event differs from the one the newest checkpoint saw: the chain was rewritten"
    if last_seq < anchor.seq < event.seq:
        return (
            f"event seq {anchor.seq}, which the newest checkpoint saw as the head, is missing"
            " before this one"
        )
    return None


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
