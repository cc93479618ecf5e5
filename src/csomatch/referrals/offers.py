"""The provider's side: its inbox of offers, accepting or declining with a reason.

Also the escalation of offers nobody answered in time or that were accepted and never
confirmed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import asyncpg
import msgspec

from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.db import services as svc_db
from csomatch.db.agencies import AgencyContact
from csomatch.db.audit import AuditActor, record_event
from csomatch.db.signals import NewSignal, record_signals
from csomatch.domain import DeclineReason, Principal
from csomatch.errors import Conflict, NotFound
from csomatch.i18n import _
from csomatch.referrals import lifecycle
from csomatch.referrals.acceptance import record_outcome
from csomatch.referrals.access import audit, audit_each
from csomatch.referrals.handover import placement_active, referring_agencies
from csomatch.referrals.suggestions import next_service
from csomatch.settings import Settings

SYSTEM = AuditActor(token_id=None, role="system", jurisdiction=None)
#: Every status an offer may have (the inbox without a filter).
ALL_STATUSES = ("held", "accepted", "declined", "expired", "released", "confirmed")


class Offer(msgspec.Struct, frozen=True, kw_only=True):
    """An offer (a hold) and the referral it is for, from which its provider's view is made.

    The referral is None when it is gone.
    """

    hold: hold_db.Hold
    referral: ref_db.StoredReferral | None
    #: The referring agency's record, for an active placement whose referrer's token names
    #: one (`referrals.handover`).
    agency: AgencyContact | None = None


async def inbox(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    status: str | None,
    limit: int,
    offset: int,
) -> list[Offer]:
    """The provider organisation's offers, newest first (``status`` filters), each listing audited.

    A fixed number of statements whatever the page's size.
    """
    assert principal.organization_id is not None
    statuses = [status] if status else list(ALL_STATUSES)
    found = await hold_db.offers_for_org(
        conn, principal.organization_id, statuses=statuses, limit=limit, offset=offset
    )
    referrals = await ref_db.get_referrals(conn, [h.referral_id for h in found])
    await audit_each(conn, principal, "offer.list", "referral", [h.referral_id for h in found])
    active = [
        r.head.created_by
        for h in found
        if (r := referrals.get(h.referral_id)) and placement_active(r, h)
    ]
    agencies = await referring_agencies(conn, active)

    def agency_of(h: hold_db.Hold) -> AgencyContact | None:
        r = referrals.get(h.referral_id)
        if r is None or r.head.created_by is None or not placement_active(r, h):
            return None
        return agencies.get(r.head.created_by)

    return [
        Offer(hold=h, referral=referrals.get(h.referral_id), agency=agency_of(h)) for h in found
    ]


async def escalated(
    conn: asyncpg.Connection, principal: Principal, *, limit: int, offset: int
) -> list[hold_db.Hold]:
    """Escalated offers in the caller's jurisdiction, newest first, each listing audited.

    These are offers nobody answered in time, or accepted and never confirmed, where the
    referral or the service is in the caller's jurisdiction.
    """
    jurisdiction = None if principal.jurisdiction == "MARRI" else principal.jurisdiction
    found = await hold_db.escalated_for(conn, jurisdiction, limit=limit, offset=offset)
    await audit_each(conn, principal, "offer.escalated", "referral", [h.referral_id for h in found])
    return found


async def _locked_offer(
    conn: asyncpg.Connection, principal: Principal, hold_id: uuid.UUID
) -> tuple[ref_db.ReferralHead, hold_db.Hold]:
    """The caller's organisation's offer and its referral, both locked (referral first)."""
    hold = await hold_db.get_hold(conn, hold_id)
    if hold is None or hold.organization_id != principal.organization_id:
        raise NotFound(_("no offer {hold_id}", hold_id=hold_id))
    head = await ref_db.get_head(conn, hold.referral_id, for_update=True)
    locked = await hold_db.get_hold(conn, hold_id, for_update=True)
    assert head is not None
    assert locked is not None
    return head, locked


def _places(n: int) -> str:
    return "1 place" if n == 1 else f"{n} places"


def _check_open(hold: hold_db.Hold, now: dt.datetime) -> None:
    if hold.status != "held":
        raise Conflict(
            _(
                "offer {hold_id} is {status}; only a held offer is answered",
                hold_id=hold.id,
                status=hold.status,
            )
        )
    if hold.expires_at <= now:
        raise Conflict(
            _(
                "offer {hold_id} expired at {value}; it has been escalated",
                hold_id=hold.id,
                value=hold.expires_at,
            )
        )


async def accept(
    conn: asyncpg.Connection,
    principal: Principal,
    settings: Settings,
    hold_id: uuid.UUID,
    *,
    now: dt.datetime,
) -> Offer:
    """Accept an offer: its places stay held until the referrer confirms.

    They stay held for at most ``settings.confirm_hours``; an offer at risk is refused
    (Conflict) until places free up.
    """
    head, hold = await _locked_offer(conn, principal, hold_id)
    _check_open(hold, now)
    cap = await hold_db.lock_capacity(conn, hold.service_id)
    if cap is not None and await hold_db.beyond_available(conn, hold):
        raise Conflict(
            _(
                "This offer is at risk: your service now reports {available} free "
                "while {held} are held for referrals, and this offer is beyond them. "
                "If you do have a place for this person, report your free places again "
                "(My capacity) and then accept; otherwise decline the offer.",
                available=_places(cap.available),
                held=_places(cap.held),
            )
        )
    answered = await hold_db.answer_hold(
        conn, hold.id, status="accepted", role=principal.role, agency=principal.agency,
        confirm_hours=settings.confirm_hours,
    )  # fmt: skip
    await record_outcome(conn, hold, "accepted", now=now)
    await ref_db.set_need_state(conn, head.id, hold.need_idx, "accepted")
    moved = await lifecycle.settle(conn, principal, head, action="offer.accept")
    await lifecycle.announce_hold(conn, moved, answered)
    await audit(conn, principal, "offer.accept", "hold", hold.id)
    return Offer(hold=answered, referral=await ref_db.get_referral(conn, hold.referral_id))


async def decline(
    conn: asyncpg.Connection,
    principal: Principal,
    settings: Settings,
    hold_id: uuid.UUID,
    reason: DeclineReason,
    *,
    now: dt.datetime,
) -> Offer:
    """Decline an offer with a reason; for ``no_capacity`` the capacity number is doubted.

    Whether the decline lowers the provider's acceptance record depends on the reason
    (`csomatch.domain.acceptance.counted`).
    """
    head, hold = await _locked_offer(conn, principal, hold_id)
    _check_open(hold, now)
    await hold_db.lock_capacity(conn, hold.service_id)
    answered = await hold_db.answer_hold(
        conn, hold.id, status="declined", role=principal.role, agency=principal.agency,
        decline_reason=reason,
    )  # fmt: skip
    await record_outcome(conn, hold, reason, now=now)
    service = await svc_db.get_service(conn, hold.service_id)
    assert service is not None
    if reason == "no_capacity":
        stale_before = now - dt.timedelta(hours=settings.stale_hours)
        await hold_db.request_capacity_update(conn, hold.service_id, stale_before=stale_before)
        await record_signals(
            conn,
            [
                NewSignal(
                    kind="decline_no_capacity",
                    source="offer",
                    participant_code=service.participant_code,
                    area_code=service.area_code,
                    taxonomy_code=service.taxonomy_code,
                    reason="no_capacity",
                    dedup_key=hashlib.sha256(f"offer-decline:{hold.id}".encode()).hexdigest(),
                )
            ],
        )
    await ref_db.set_need_state(conn, head.id, hold.need_idx, "declined")
    moved = await lifecycle.settle(conn, principal, head, action="offer.decline")
    await lifecycle.announce_hold(conn, moved, answered)
    await audit(conn, principal, "offer.decline", "hold", hold.id)
    await _suggest_next(conn, settings, head.id, service.taxonomy_code, now)
    return Offer(hold=answered, referral=await ref_db.get_referral(conn, hold.referral_id))


async def _suggest_next(
    conn: asyncpg.Connection,
    settings: Settings,
    referral_id: uuid.UUID,
    code: str,
    now: dt.datetime,
) -> None:
    stored = await ref_db.get_referral(conn, referral_id)
    if stored is None:
        return
    best = await next_service(conn, stored, code, now=now, settings=settings)
    await ref_db.set_next_service(conn, referral_id, best)


async def expire_one(
    conn: asyncpg.Connection, settings: Settings, hold_id: uuid.UUID, referral_id: uuid.UUID
) -> bool:
    """Expire one offer past its time: free its places, escalate, suggest the next service.

    An offer expires unanswered after ``expires_at``, or accepted and not confirmed after
    ``confirm_by``. An offer left unanswered counts against its provider's acceptance record;
    an expiry after acceptance is not the provider's doing: the record keeps the acceptance
    and nothing else is counted.
    Returns False when someone answered, confirmed or expired it first (nothing done).
    """
    now = dt.datetime.now(dt.UTC)
    head = await ref_db.get_head(conn, referral_id, for_update=True)
    if head is None:
        return False
    hold = await hold_db.get_hold(conn, hold_id, for_update=True)
    if hold is None or hold.status not in ("held", "accepted"):
        return False
    await hold_db.lock_capacity(conn, hold.service_id)
    expired = await hold_db.expire_hold(conn, hold_id)
    if expired is None:
        return False
    if hold.status == "held":
        await record_outcome(conn, hold, "expired_unanswered", now=now)
    await ref_db.set_need_state(conn, head.id, hold.need_idx, "expired")
    moved = await lifecycle.settle(conn, None, head)
    await lifecycle.announce_hold(conn, moved, expired)
    await record_event(
        conn, actor=SYSTEM, action="offer.expire", object_type="hold", object_id=str(hold_id),
        outcome="ok",
    )  # fmt: skip
    service = await svc_db.get_service(conn, hold.service_id)
    if service is not None:
        await _suggest_next(conn, settings, referral_id, service.taxonomy_code, now)
    return True
