"""Casework: each thing a caller does to a referral, and the referral as it stands after it.

Each function checks access (someone else's referral is "not found"), does the step with
the use case that owns it (``intake``, ``holds``, ``lifecycle``), leaves its audit events in
the caller's transaction and returns what the caller's view of the referral is made from:
the referral with its needs, profile and offers (``ReferralRecord``).
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.db.holds import Hold
from csomatch.db.referrals import ReferralHead, StoredNeed, StoredProfile, StoredReferral
from csomatch.domain import Principal
from csomatch.errors import CsomatchError, Forbidden, NotFound
from csomatch.i18n import _
from csomatch.referrals import careplan, holds, intake, sides, steps
from csomatch.referrals.access import (
    audit,
    audit_each,
    audit_refusal,
    referrals_visible_to,
    visible_head,
)
from csomatch.referrals.model import ReferralIn
from csomatch.referrals.steps import Step
from csomatch.settings import Settings

# The stored types a record is made of, named here for the callers that shape it.
__all__ = [
    "Hold",
    "ReferralHead",
    "ReferralPage",
    "ReferralRecord",
    "Step",
    "StoredNeed",
    "StoredProfile",
    "StoredReferral",
    "approve_override",
    "create",
    "decline_by_receiving",
    "list_page",
    "plan",
    "read",
    "record_of",
    "transition",
]

#: The states a provider may move a referral placed with it to.
PROVIDER_MOVES = ("in_service", "closed")


class ReferralRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A referral with its needs and profile, and its offers (holds), oldest first."""

    referral: StoredReferral
    holds: list[Hold]


class ReferralPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of referrals (no profiles) with the needs of each, and how many there are."""

    heads: list[ReferralHead]
    needs: dict[uuid.UUID, list[StoredNeed]]
    total: int


async def record_of(conn: asyncpg.Connection, referral_id: uuid.UUID) -> ReferralRecord:
    """A referral and its offers as stored now (access already checked), or NotFound."""
    stored = await ref_db.get_referral(conn, referral_id)
    if stored is None:
        raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
    return ReferralRecord(referral=stored, holds=await hold_db.holds_of(conn, referral_id))


async def create(
    conn: asyncpg.Connection, principal: Principal, data: ReferralIn, *, now: dt.datetime
) -> ReferralRecord:
    """Check a new referral and store it as a draft (audited)."""
    referral_id = await intake.create_referral(conn, principal, data, now=now)
    return await record_of(conn, referral_id)


async def read(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> ReferralRecord:
    """A referral the caller may see, its reading audited.

    A refused reading is audited in a transaction of its own (the refused one rolled back), as
    ``access_log`` does.
    """
    try:
        async with conn.transaction():
            await visible_head(conn, principal, referral_id)
            record = await record_of(conn, referral_id)
            await audit(conn, principal, "referral.read", "referral", referral_id)
    except CsomatchError as exc:
        await audit_refusal(conn, principal, "referral.read", "referral", referral_id, exc)
        raise
    return record


async def list_page(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    state: str | None,
    limit: int,
    offset: int,
) -> ReferralPage:
    """The referrals the caller may see, newest first, each listing audited.

    Officer: their agency's; coordinator: their jurisdiction's, including transnational ones
    addressed to it. A fixed number of statements whatever the page's size.
    """
    scope = referrals_visible_to(principal)
    if scope is None:
        raise Forbidden(_("providers see referrals through their offers (GET /api/v1/offers)"))
    heads, total = await ref_db.list_heads(conn, scope, state=state, limit=limit, offset=offset)
    ids = [h.id for h in heads]
    needs = await ref_db.needs_of(conn, ids)
    await audit_each(conn, principal, "referral.list", "referral", ids)
    return ReferralPage(heads=heads, needs=needs, total=total)


async def transition(
    conn: asyncpg.Connection,
    principal: Principal,
    referral_id: uuid.UUID,
    step: Step,
    *,
    now: dt.datetime,
) -> ReferralRecord:
    """Submit, confirm, start service, close or cancel a referral, or one of its needs.

    A provider may only mark the needs placed with it in service or closed.
    """
    if principal.role == "provider" and step.to not in PROVIDER_MOVES:
        raise Forbidden(_("a provider marks a referral in service or closed, nothing else"))
    if step.to == "submitted":
        await intake.submit(conn, principal, referral_id)
    elif step.to == "confirmed":
        await holds.confirm(conn, principal, referral_id, now=now, need=step.need)
    else:
        await _STEPS[step.to](conn, principal, referral_id, step)
    return await record_of(conn, referral_id)


_STEPS = {
    "in_service": steps.start_service,
    "closed": steps.close,
    "cancelled": steps.cancel,
    "unmet": steps.leave_unmet,
}


async def decline_by_receiving(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, reason: str
) -> ReferralRecord:
    """The receiving side declines a transnational referral: submitted again, offers released."""
    await sides.decline(conn, principal, referral_id, reason)
    return await record_of(conn, referral_id)


async def plan(
    conn: asyncpg.Connection,
    principal: Principal,
    settings: Settings,
    referral_id: uuid.UUID,
    data: careplan.PlanIn,
    *,
    now: dt.datetime,
) -> ReferralRecord:
    """Hold a service for every need of a care plan, or nothing (409 naming the need)."""
    await careplan.place_plan(conn, principal, settings, referral_id, data, now=now)
    return await record_of(conn, referral_id)


async def approve_override(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, *, now: dt.datetime
) -> ReferralRecord:
    """A coordinator (not the requester) approves a requested consent override (audited)."""
    await intake.approve_override(conn, principal, referral_id, now=now)
    return await record_of(conn, referral_id)
