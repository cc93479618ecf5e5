"""Following a plan to its end: services start, needs close or stay unmet, referrals end.

Each step applies to one need (``need``) or to the whole referral. A provider steers only the
needs placed with it. Closing or cancelling the referral ends every need still open and
releases the places of its open offers; a cancellation names its reason (a code), is the
referring side's alone (``sides``) and also returns the places of active placements. The
referral's state then follows its needs (:func:`csomatch.referrals.lifecycle.settle`).
"""

from __future__ import annotations

import uuid

import asyncpg
import msgspec

from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.db import transnational as trm_db
from csomatch.domain import CANCEL_REASONS, NEED_FINAL, UNMET_REASONS, Principal
from csomatch.errors import Conflict, InvalidInput, NotFound
from csomatch.i18n import _
from csomatch.referrals import lifecycle, sides
from csomatch.referrals.access import visible_head
from csomatch.referrals.holds import release_for_cancel, release_open_holds


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """One step asked for: the state to move to, for one need or the whole referral."""

    to: str
    need: int | None = None
    outcome: str | None = None
    reason: str | None = None


async def _steerable(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> tuple[ref_db.ReferralHead, set[int] | None]:
    """The referral locked, and the needs the caller may steer (None: every need).

    Referrers see their scope; a provider steers the needs placed with it (confirmed).
    """
    if principal.role != "provider":
        return await visible_head(conn, principal, referral_id, for_update=True), None
    holds = await hold_db.holds_of(conn, referral_id)
    mine = {
        h.need_idx
        for h in holds
        if h.organization_id == principal.organization_id and h.status == "confirmed"
    }
    if not mine:
        raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
    head = await ref_db.get_head(conn, referral_id, for_update=True)
    if head is None:
        raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
    return head, mine


def _chosen(
    needs: list[ref_db.StoredNeed], step: Step, allowed: set[int] | None
) -> list[ref_db.StoredNeed]:
    """The needs a step applies to: ``step.need``, or every need the caller may steer."""
    if step.need is None:
        return [n for n in needs if allowed is None or n.idx in allowed]
    found = [n for n in needs if n.idx == step.need and (allowed is None or n.idx in allowed)]
    if not found:
        raise InvalidInput(
            _("this referral has no need {need} you may steer", need=step.need), field="$.need"
        )
    return found


def _none_in(state: str, chosen: list[ref_db.StoredNeed], step: Step) -> Conflict:
    needs = ", ".join(f"{n.idx} {n.taxonomy_code} {n.state}" for n in chosen)
    values = {"state": state, "to": step.to, "need": step.need, "needs": needs}
    starts = step.to == "in_service"
    if step.need is None and starts:
        text = _("no need {state}: only a {state} need starts service (needs: {needs})", **values)
    elif step.need is None:
        text = _("no need {state}: only a {state} need can become {to} (needs: {needs})", **values)
    elif starts:
        text = _(
            "need {need} is not {state}: only a {state} need starts service (needs: {needs})",
            **values,
        )
    else:
        text = _(
            "need {need} is not {state}: only a {state} need can become {to} (needs: {needs})",
            **values,
        )
    return Conflict(text, field="$.to")


async def start_service(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, step: Step
) -> ref_db.ReferralHead:
    """Confirmed needs (every one the caller may steer, or ``step.need``) start service."""
    head, allowed = await _steerable(conn, principal, referral_id)
    lifecycle.check_transition(head, "in_service", None)
    needs = (await ref_db.needs_of(conn, [head.id]))[head.id]
    chosen = _chosen(needs, step, allowed)
    ready = [n for n in chosen if n.state == "confirmed"]
    if not ready:
        raise _none_in("confirmed", chosen, step)
    for n in ready:
        await ref_db.set_need_state(conn, head.id, n.idx, "in_service")
    return await lifecycle.settle(conn, principal, head, action="referral.in_service")


async def close(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, step: Step
) -> ref_db.ReferralHead:
    """Close needs with an outcome: one need, a provider's needs, or the whole referral.

    Closing the whole referral ends every open need (a need not in service when the
    referral closes as placed is left unmet, ``not_pursued``) and releases open offers.
    ``placed`` is an outcome only for a need in service (or a referral in service).
    """
    head, allowed = await _steerable(conn, principal, referral_id)
    if step.outcome is None:
        raise InvalidInput(_("closing names its outcome"), field="$.outcome")
    needs = (await ref_db.needs_of(conn, [head.id]))[head.id]
    if step.need is None and allowed is None:
        return await _close_referral(conn, principal, head, needs, step.outcome)
    if head.state in ("draft", "closed", "cancelled"):
        raise Conflict(
            _(
                "referral {head_id} is {state}; its needs do not close now",
                head_id=head.id,
                state=head.state,
            )
        )
    chosen = [n for n in _chosen(needs, step, allowed) if n.state not in NEED_FINAL]
    if not chosen:
        raise Conflict(_("need {need} is already finished", need=step.need), field="$.need")
    if step.outcome == "placed" and any(n.state != "in_service" for n in chosen):
        raise Conflict(
            _(
                "only a need in service closes as placed (close it as person_declined, "
                "no_capacity, transferred or withdrawn)"
            ),
            field="$.outcome",
        )
    await release_open_holds(conn, head, {n.idx for n in chosen})
    for n in chosen:
        await ref_db.set_need_state(conn, head.id, n.idx, "closed", outcome=step.outcome)
    return await lifecycle.settle(conn, principal, head, action="referral.closed")


async def _close_referral(
    conn: asyncpg.Connection,
    principal: Principal,
    head: ref_db.ReferralHead,
    needs: list[ref_db.StoredNeed],
    outcome: str,
) -> ref_db.ReferralHead:
    placed_need = any(n.outcome == "placed" for n in needs)
    lifecycle.check_transition(head, "closed", outcome, placed_need=placed_need)
    await lifecycle.check_may_close(conn, head)
    await release_open_holds(conn, head)
    for n in needs:
        if n.state in NEED_FINAL:
            continue
        if outcome == "placed" and n.state != "in_service":
            await ref_db.set_need_state(conn, head.id, n.idx, "unmet", unmet_reason="not_pursued")
        else:
            await ref_db.set_need_state(conn, head.id, n.idx, "closed", outcome=outcome)
    return await lifecycle.move(
        conn, principal, head, "closed", outcome=outcome, placed_need=placed_need
    )


async def cancel(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, step: Step
) -> ref_db.ReferralHead:
    """Cancel a referral for a reason (a code): only the referring side (``sides``).

    Every open need ends, open offers are released, the places of active placements
    (confirmed or in service) return to their services, and a transnational referral's
    planned steps are cancelled.
    """
    head = await visible_head(conn, principal, referral_id, for_update=True)
    sides.check_may_cancel(principal, head)
    if step.need is not None:
        raise InvalidInput(
            _("a referral is cancelled as a whole; close or mark one need unmet instead"),
            field="$.need",
        )
    if step.reason not in CANCEL_REASONS:
        raise InvalidInput(
            _("cancelling names its reason: one of {reasons}", reasons=", ".join(CANCEL_REASONS)),
            field="$.reason",
        )
    lifecycle.check_transition(head, "cancelled", None)
    await release_for_cancel(conn, head)
    needs = (await ref_db.needs_of(conn, [head.id]))[head.id]
    for n in needs:
        if n.state not in NEED_FINAL:
            await ref_db.set_need_state(conn, head.id, n.idx, "closed")
    await trm_db.cancel_planned_steps(conn, head.id, recorded_by=principal.id)
    return await lifecycle.move(conn, principal, head, "cancelled", cancel_reason=step.reason)


async def leave_unmet(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, step: Step
) -> ref_db.ReferralHead:
    """Mark one need unmet for a reason (a code), releasing its open offer.

    A placed need (confirmed or in service) is closed instead.
    """
    head = await visible_head(conn, principal, referral_id, for_update=True)
    if step.need is None:
        raise InvalidInput(_("name the need to leave unmet"), field="$.need")
    if step.reason not in UNMET_REASONS:
        raise InvalidInput(
            _(
                "an unmet need names its reason: one of {reasons}",
                reasons=", ".join(UNMET_REASONS),
            ),
            field="$.reason",
        )
    if head.state in ("draft", "closed", "cancelled"):
        raise Conflict(
            _(
                "referral {head_id} is {state}; its needs do not change now",
                head_id=head.id,
                state=head.state,
            )
        )
    needs = (await ref_db.needs_of(conn, [head.id]))[head.id]
    need = _chosen(needs, step, None)[0]
    if need.state in ("confirmed", "in_service", *NEED_FINAL):
        raise Conflict(
            _(
                "need {idx} is {state}; a placed need is closed with an outcome, a "
                "finished one stays as it is",
                idx=need.idx,
                state=need.state,
            ),
            field="$.need",
        )
    await release_open_holds(conn, head, {need.idx})
    await ref_db.set_need_state(conn, head.id, need.idx, "unmet", unmet_reason=step.reason)
    return await lifecycle.settle(conn, principal, head, action="referral.need_unmet")
