"""Who accessed a referral: the audit events of the referral and of its holds (offers)."""

from __future__ import annotations

import uuid

import asyncpg
import msgspec

from csomatch.db.audit import AuditEvent
from csomatch.db.errors import translated

_COLUMNS = (
    "a.seq, a.at, a.token_id, a.role, a.jurisdiction, a.organization_id, a.agency, a.action,"
    " a.object_type, a.object_id, a.outcome, a.prev_hash, a.hash"
)


async def referral_access_events(
    conn: asyncpg.Connection, referral_id: uuid.UUID, *, after_seq: int, limit: int
) -> list[AuditEvent]:
    """Audit events naming the referral or one of its holds, oldest first, after a seq."""
    async with translated():
        rows = await conn.fetch(
            f"SELECT {_COLUMNS} FROM audit_event a"
            " WHERE a.seq > $2 AND ("
            "  (a.object_type = 'referral' AND a.object_id = $1::uuid::text)"
            "  OR (a.object_type = 'hold' AND a.object_id IN ("
            "    SELECT h.id::text FROM referral_hold h WHERE h.referral_id = $1::uuid)))"
            " ORDER BY a.seq LIMIT $3",
            referral_id,
            after_seq,
            limit,
        )
    return msgspec.convert(rows, list[AuditEvent], from_attributes=True)
