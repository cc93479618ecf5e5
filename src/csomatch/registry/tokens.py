"""Who a bearer token speaks for: the caller of a request, found by its token's hash.

Only a SHA-256 hash of a token is stored; a request's token is hashed once, and the hash
is both the cache key of ``api.auth`` and what the database is asked about.
"""

from __future__ import annotations

import asyncpg

from csomatch.db import tokens as token_db
from csomatch.db.tokens import TokenRecord


def token_hash(secret: str) -> bytes:
    """The stored form of a token."""
    return token_db.hash_token(secret)


async def principal_of(conn: asyncpg.Connection, hashed: bytes) -> TokenRecord | None:
    """The caller a valid (not revoked) token speaks for, or None."""
    return await token_db.find_token_by_hash(conn, hashed)
