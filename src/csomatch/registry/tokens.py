"""Who a bearer token speaks for: the caller of a request, found by its token's hash.

Only a SHA-256 hash of a token is stored; a request's token is hashed once, and the hash
is both the cache key of ``api.auth`` and what the database is asked about.
"""

from __future__ import annotations

import asyncpg
import msgspec

from csomatch.db import tokens as token_db
from csomatch.db.tokens import TokenRecord
from csomatch.domain import Principal


def token_hash(secret: str) -> bytes:
    """The stored form of a token."""
    return token_db.hash_token(secret)


def principal_from(record: TokenRecord) -> Principal:
    """The caller a verified token's record speaks for."""
    return msgspec.convert(record, Principal, from_attributes=True)


async def principal_of(conn: asyncpg.Connection, hashed: bytes) -> Principal | None:
    """The caller a valid (not revoked) token speaks for, or None."""
    record = await token_db.find_token_by_hash(conn, hashed)
    return None if record is None else principal_from(record)
