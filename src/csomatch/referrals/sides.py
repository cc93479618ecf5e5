"""The two sides of a referral: who may end it, and the receiving side's decline.

The **referring side** is the token that made the referral (the referrer) and the
coordinators and admins of the referring jurisdiction. Only it cancels a referral, always
with a reason code. The **receiving side** of a transnational referral is the coordinators
(and admins) of the receiving participant: they do not cancel it, they decline it with a
reason code (the decline reasons of offers), which releases its open offers and returns it
to ``submitted`` for the referring side to match again (DESIGN.md, lifecycle).
"""

from __future__ import annotations

import uuid

import asyncpg

from csomatch.db import outbox
from csomatch.db import referrals as ref_db
from csomatch.domain import DECLINE_REASONS, Principal
from csomatch.errors import Conflict, Forbidden, InvalidInput
from csomatch.i18n import _
from csomatch.referrals import lifecycle
from csomatch.referrals.access import audit, visible_head
from csomatch.referrals.holds import release_open_holds

#: The states from which the receiving side may decline a transnational referral.
DECLINABLE = lifecycle.IN_PROGRESS
#: A need whose open offer a decline releases goes back to being suggested.
OFFER_OPEN = frozenset({"offered", "accepted"})


def is_referring_side(principal: Principal, head: ref_db.ReferralHead) -> bool:
    """The referrer (the token that made it), or a coordinator or admin of its jurisdiction."""
    if head.created_by is not None and principal.id == head.created_by:
        return True
    return principal.is_coordinating() and principal.covers(head.jurisdiction)


def is_receiving_side(principal: Principal, head: ref_db.ReferralHead) -> bool:
    """A coordinator or admin of the receiving participant of a transnational referral."""
    return (
        head.transnational
        and principal.is_coordinating()
        and principal.covers(head.receiving_participant)
    )


def check_may_cancel(principal: Principal, head: ref_db.ReferralHead) -> None:
    """Forbidden, saying who may, unless the caller is the referring side."""
    if is_referring_side(principal, head):
        return
    if is_receiving_side(principal, head):
        raise Forbidden(
            _(
                "only the referring side cancels referral {referral}: the officer who made it, "
                "or a coordinator or admin of {jurisdiction}; the receiving side declines it "
                "instead (POST /api/v1/referrals/{referral}/decline, with a reason)",
                referral=head.id,
                jurisdiction=head.jurisdiction,
            )
        )
    raise Forbidden(
        _(
            "only the referring side cancels referral {referral}: the officer who made it, or a "
            "coordinator or admin of {jurisdiction}",
            referral=head.id,
            jurisdiction=head.jurisdiction,
        )
    )


async def decline(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, reason: str
) -> ref_db.ReferralHead:
    """The receiving side declines a transnational referral: back to submitted, offers released.

    Confirmed placements and services in progress (on either side) stay as they are; the
    needs whose offers are released are suggested again. Announced as
    ``referral.declined_by_receiving`` and audited.
    """
    head = await visible_head(conn, principal, referral_id, for_update=True)
    if not head.transnational:
        raise Conflict(
            _(
                "referral {head_id} is not transnational; only a transnational "
                "referral is declined by its receiving side (the referring side "
                "cancels a referral)",
                head_id=head.id,
            )
        )
    if not is_receiving_side(principal, head):
        raise Forbidden(
            _(
                "only a coordinator of {receiving_participant} (the receiving "
                "participant) declines referral {head_id}; the referring side cancels "
                "it instead",
                receiving_participant=head.receiving_participant,
                head_id=head.id,
            )
        )
    if reason not in DECLINE_REASONS:
        raise InvalidInput(
            _("declining names its reason: one of {reasons}", reasons=", ".join(DECLINE_REASONS)),
            field="$.reason",
        )
    if head.state not in DECLINABLE:
        raise Conflict(
            _(
                "referral {referral} is {state}; the receiving side declines a referral in "
                "progress ({states})",
                referral=head.id,
                state=head.state,
                states=", ".join(DECLINABLE),
            )
        )
    await release_open_holds(conn, head)
    needs = (await ref_db.needs_of(conn, [head.id]))[head.id]
    for n in needs:
        if n.state in OFFER_OPEN:
            await ref_db.set_need_state(conn, head.id, n.idx, "suggested")
    moved = await ref_db.return_to_submitted(conn, head.id, reason)
    orgs, places = await lifecycle.recipients(conn, moved)
    await outbox.emit(
        conn,
        outbox.NewEvent(
            event_type="referral.declined_by_receiving",
            object_type="referral",
            object_id=moved.id,
            state=moved.state,
            organization_ids=orgs,
            jurisdictions=places,
        ),
    )
    await audit(conn, principal, "referral.declined_by_receiving", "referral", head.id)
    return moved
