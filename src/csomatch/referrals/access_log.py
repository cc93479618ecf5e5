"""Who accessed a referral: its audit trail, for the coordinators and admins who oversee it.

The listing itself is a read of referral data, so it leaves an audit event too
(``referral.access_log``). Anyone else, and a coordinator of another jurisdiction, gets
"not found", as for the referral itself.
"""

from __future__ import annotations

import uuid

import asyncpg

from csomatch.db import access_log as access_db
from csomatch.db.audit import AuditEvent
from csomatch.domain import Principal
from csomatch.errors import NotFound
from csomatch.i18n import _
from csomatch.referrals.access import audit, audit_refusal, visible_head

ACTION = "referral.access_log"


async def referral_access_log(
    conn: asyncpg.Connection,
    principal: Principal,
    referral_id: uuid.UUID,
    *,
    after_seq: int,
    limit: int,
) -> list[AuditEvent]:
    """The audit events of a referral and its offers, oldest first (coordinator, admin)."""
    try:
        async with conn.transaction():
            if not principal.is_coordinating():
                raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
            await visible_head(conn, principal, referral_id)
            events = await access_db.referral_access_events(
                conn, referral_id, after_seq=after_seq, limit=limit
            )
            await audit(conn, principal, ACTION, "referral", referral_id)
    except NotFound as exc:
        await audit_refusal(conn, principal, ACTION, "referral", referral_id, exc)
        raise
    return events
