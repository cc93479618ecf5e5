"""Idempotency keys: the first answer to a POST, replayed for a retry with the same key.

A key is stored and looked up as its SHA-256 only (``key_hash``): a client may have put
something readable in it, and the database never needs the key itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated


class StoredAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The first answer given for a key, and the fingerprint of the request it answered."""

    fingerprint: bytes
    status: int
    body: bytes
    #: Headers the first answer carried that a replay repeats (``ETag``).
    headers: dict[str, str] = msgspec.field(default_factory=dict)


def key_hash(key: str) -> bytes:
    """SHA-256 of a key: what is stored instead of the key."""
    return hashlib.sha256(key.encode()).digest()


def _lock_key(token_id: uuid.UUID, key: str) -> int:
    digest = hashlib.sha256(token_id.bytes + key.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def try_lock(conn: asyncpg.Connection, token_id: uuid.UUID, key: str) -> bool:
    """Take the key's transaction-scoped lock; False if another request holds it (in flight)."""
    async with translated():
        got = await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", _lock_key(token_id, key))
    return bool(got)


async def find_answer(
    conn: asyncpg.Connection, token_id: uuid.UUID, key: str
) -> StoredAnswer | None:
    """The stored answer for a token's key, if any."""
    async with translated():
        row = await conn.fetchrow(
            "SELECT fingerprint, status, body, headers::text AS headers FROM idempotency_key"
            " WHERE token_id = $1 AND key_hash = $2",
            token_id,
            key_hash(key),
        )
    if row is None:
        return None
    return StoredAnswer(
        fingerprint=row["fingerprint"],
        status=row["status"],
        body=row["body"],
        headers=msgspec.json.decode(row["headers"], type=dict[str, str]),
    )


async def store_answer(
    conn: asyncpg.Connection, token_id: uuid.UUID, key: str, answer: StoredAnswer
) -> None:
    """Store the first answer for a key (a second store of the same key changes nothing)."""
    async with translated():
        await conn.execute(
            "INSERT INTO idempotency_key (token_id, key_hash, fingerprint, status, body, headers)"
            " VALUES ($1, $2, $3, $4, $5, $6::jsonb)"
            " ON CONFLICT (token_id, key_hash) DO NOTHING",
            token_id,
            key_hash(key),
            answer.fingerprint,
            answer.status,
            answer.body,
            msgspec.json.encode(answer.headers).decode(),
        )


async def purge_answers(conn: asyncpg.Connection, *, older_than: dt.datetime) -> int:
    """Delete keys stored before ``older_than``; return how many."""
    async with translated():
        status = await conn.execute("DELETE FROM idempotency_key WHERE created_at < $1", older_than)
    return int(status.split()[-1])
