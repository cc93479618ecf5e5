"""Idempotency keys: the first answer to a POST, replayed for a retry with the same key."""

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
            "SELECT fingerprint, status, body FROM idempotency_key"
            " WHERE token_id = $1 AND idem_key = $2",
            token_id,
            key,
        )
    return None if row is None else msgspec.convert(row, StoredAnswer, from_attributes=True)


async def store_answer(
    conn: asyncpg.Connection, token_id: uuid.UUID, key: str, answer: StoredAnswer
) -> None:
    """Store the first answer for a key (a second store of the same key changes nothing)."""
    async with translated():
        await conn.execute(
            "INSERT INTO idempotency_key (token_id, idem_key, fingerprint, status, body)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_id, idem_key) DO NOTHING",
            token_id,
            key,
            answer.fingerprint,
            answer.status,
            answer.body,
        )


async def purge_answers(conn: asyncpg.Connection, *, older_than: dt.datetime) -> int:
    """Delete keys stored before ``older_than``; return how many."""
    async with translated():
        status = await conn.execute("DELETE FROM idempotency_key WHERE created_at < $1", older_than)
    return int(status.split()[-1])
