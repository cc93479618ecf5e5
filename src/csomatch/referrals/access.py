"""Who may see which referral, and the audit event every read and write leaves.

An officer sees the referrals of their agency in their jurisdiction (a token without an
agency: the referrals it created); a coordinator or admin those of their jurisdiction,
including transnational referrals addressed to it (an admin of ``MARRI``: all). A provider
sees referrals only through its own organisation's offers. Anyone else's referral is "not
found".
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from csomatch.db import referrals as ref_db
from csomatch.db.audit import AuditActor, record_event, record_events
from csomatch.domain import Principal
from csomatch.errors import Conflict, CsomatchError, Forbidden, InvalidInput, NotFound
from csomatch.i18n import _


def actor_of(principal: Principal) -> AuditActor:
    """The audit log's view of a caller: token, role, jurisdiction, organisation, agency."""
    return AuditActor(
        token_id=principal.id,
        role=principal.role,
        jurisdiction=principal.jurisdiction,
        organization_id=principal.organization_id,
        agency=principal.agency,
    )


def referrals_visible_to(principal: Principal) -> ref_db.ReferralScope | None:
    """The referrals a caller may see directly; None for a provider (offers only)."""
    if principal.is_coordinating():
        if principal.is_region_wide():
            return ref_db.ReferralScope()
        return ref_db.ReferralScope(jurisdiction=principal.jurisdiction)
    if principal.role == "officer":
        if principal.agency is None:
            return ref_db.ReferralScope(
                referring_jurisdiction=principal.jurisdiction, created_by=principal.id
            )
        return ref_db.ReferralScope(
            referring_jurisdiction=principal.jurisdiction, agency=principal.agency
        )
    return None


async def visible_head(
    conn: asyncpg.Connection,
    principal: Principal,
    referral_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> ref_db.ReferralHead:
    """The referral if the caller may see it (locked with ``for_update``), else NotFound."""
    scope = referrals_visible_to(principal)
    if scope is None or not await ref_db.in_scope(conn, referral_id, scope):
        raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
    head = await ref_db.get_head(conn, referral_id, for_update=for_update)
    if head is None:
        raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
    return head


def outcome_of(exc: CsomatchError) -> str:
    """The audit outcome code of a refused request."""
    for kind, code in (
        (NotFound, "not_found"),
        (Forbidden, "forbidden"),
        (Conflict, "conflict"),
        (InvalidInput, "invalid"),
    ):
        if isinstance(exc, kind):
            return code
    return "error"


async def audit(
    conn: asyncpg.Connection,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: uuid.UUID | None,
    outcome: str = "ok",
) -> None:
    """Write one audit event in the caller's transaction."""
    await record_event(
        conn,
        actor=actor_of(principal),
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        outcome=outcome,
    )


async def audit_each(
    conn: asyncpg.Connection,
    principal: Principal,
    action: str,
    object_type: str,
    object_ids: Sequence[uuid.UUID],
) -> None:
    """Write one audit event per object (a page of a list), in order, in the caller's transaction.

    It takes a fixed number of statements whatever the number of objects.
    """
    await record_events(
        conn,
        actor=actor_of(principal),
        action=action,
        object_type=object_type,
        object_ids=[str(i) for i in object_ids],
        outcome="ok",
    )


async def audit_refusal(
    conn: asyncpg.Connection,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: uuid.UUID | None,
    exc: CsomatchError,
) -> None:
    """Record a refused request in a transaction of its own (the refused one rolled back)."""
    async with conn.transaction():
        await audit(conn, principal, action, object_type, object_id, outcome_of(exc))
