"""Bearer API tokens: only a SHA-256 hash of each token is stored."""

from __future__ import annotations

import hashlib
import secrets
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.domain import Jurisdiction, Role


class TokenRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Who a token speaks for: role, jurisdiction, and for a provider, its organisation."""

    id: uuid.UUID
    role: Role
    jurisdiction: Jurisdiction
    organization_id: uuid.UUID | None
    label: str
    agency: str | None = None
    #: The agency is the guardianship authority (usually the centre for social work).
    guardianship_authority: bool = False
    #: The agency record the token speaks for (tokens made before agencies name none).
    agency_id: uuid.UUID | None = None


_COLUMNS = (
    "id, role, jurisdiction, organization_id, label, agency, guardianship_authority, agency_id"
)


def hash_token(token: str) -> bytes:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).digest()


async def create_token(
    conn: asyncpg.Connection,
    *,
    role: Role,
    jurisdiction: Jurisdiction,
    organization_id: uuid.UUID | None,
    label: str,
    agency: str | None = None,
    guardianship_authority: bool = False,
    agency_id: uuid.UUID | None = None,
) -> tuple[str, TokenRecord]:
    """Create a token; return the secret (shown once, never stored) and its record."""
    secret = "cso_" + secrets.token_urlsafe(32)
    async with translated():
        row = await conn.fetchrow(
            "INSERT INTO api_token"
            " (id, token_hash, role, jurisdiction, organization_id, label, agency,"
            " guardianship_authority, agency_id)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " RETURNING " + _COLUMNS,
            uuid.uuid4(),
            hash_token(secret),
            role,
            jurisdiction,
            organization_id,
            label,
            agency,
            guardianship_authority,
            agency_id,
        )
    return secret, msgspec.convert(row, TokenRecord, from_attributes=True)


async def find_token(conn: asyncpg.Connection, secret: str) -> TokenRecord | None:
    """Return the record of a valid (not revoked) token."""
    return await find_token_by_hash(conn, hash_token(secret))


async def find_token_by_hash(conn: asyncpg.Connection, token_hash: bytes) -> TokenRecord | None:
    """Return the record of the valid (not revoked) token with this hash."""
    row = await conn.fetchrow(
        # The guardianship mark of the token, or of the agency record it names.
        "SELECT t.id, t.role, t.jurisdiction, t.organization_id, t.label, t.agency,"
        " t.guardianship_authority OR coalesce(a.guardianship_authority, false)"
        " AS guardianship_authority, t.agency_id"
        " FROM api_token t LEFT JOIN agency a ON a.id = t.agency_id"
        " WHERE t.token_hash = $1 AND t.revoked_at IS NULL",
        token_hash,
    )
    return None if row is None else msgspec.convert(row, TokenRecord, from_attributes=True)


async def revoke_token(
    conn: asyncpg.Connection, *, token_id: uuid.UUID | None = None, secret: str | None = None
) -> TokenRecord | None:
    """Revoke a token named by its id or by the token itself; None if no valid token matched.

    A server that verified the token shortly before keeps trusting it for at most
    ``Settings.token_cache_seconds``.
    """
    if (token_id is None) == (secret is None):
        raise ValueError("name the token by its id or by the token itself")
    row = await conn.fetchrow(
        "UPDATE api_token SET revoked_at = now()"
        " WHERE (id = $1 OR token_hash = $2) AND revoked_at IS NULL"
        " RETURNING " + _COLUMNS,
        token_id,
        None if secret is None else hash_token(secret),
    )
    return None if row is None else msgspec.convert(row, TokenRecord, from_attributes=True)
