"""The referral lifecycle: which state may follow which, and one function that moves it.

draft → submitted → matched → offered → accepted | declined | expired → confirmed →
in_service → closed (placed, person_declined, no_capacity, transferred, withdrawn), and
cancelled from any open state; an accepted offer not confirmed in time expires too. The
database holds the same table (``referral_transition``) and refuses any other change; this
module checks first so that the caller gets a 409 that names the current state and the
allowed next ones, with nothing changed.

Each need of a referral has its own state (its own offer and placement, migration 0070);
once the referral is matched, its state summarises its needs (:func:`summary`): the least
advanced of the needs that have had an offer, ``matched`` while none has, and ``closed``
when every need is closed or unmet. :func:`settle` moves the referral to that summary, so
between the in-progress states any move is allowed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Final

import asyncpg

from csomatch.db import holds as hold_db
from csomatch.db import outbox
from csomatch.db import referrals as ref_db
from csomatch.db import transnational as trm_db
from csomatch.domain import NEED_FINAL, Principal
from csomatch.errors import Conflict, InvalidInput
from csomatch.i18n import _
from csomatch.referrals.access import audit

#: The states a referral with needs in progress may be in; its needs' summary moves it
#: between any two of them.
IN_PROGRESS: Final = (
    "matched", "offered", "accepted", "declined", "expired", "confirmed", "in_service",
)  # fmt: skip


def _onward(state: str) -> tuple[str, ...]:
    return (*(s for s in IN_PROGRESS if s != state), "closed", "cancelled")


TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "draft": ("submitted", "cancelled"),
    "submitted": ("matched", "closed", "cancelled"),
    **{state: _onward(state) for state in IN_PROGRESS},
    "closed": (),
    "cancelled": (),
}
#: The receiving side's decline of a transnational referral (``sides.decline``): from any
#: in-progress state back to submitted. Not a step of the transitions route (so not in
#: ``TRANSITIONS``); the database's table holds both (``all_edges``).
RECEIVING_DECLINE: Final[dict[str, tuple[str, ...]]] = {
    state: ("submitted",) for state in IN_PROGRESS
}


def all_edges() -> set[tuple[str, str]]:
    """Every change of state the database allows: the transitions and the receiving decline."""
    return {
        (a, b)
        for table in (TRANSITIONS, RECEIVING_DECLINE)
        for a, nexts in table.items()
        for b in nexts
    }


#: A need's states once an offer was made, least advanced first: the referral shows the
#: first of them that one of its open needs is in.
SUMMARY_ORDER: Final = ("declined", "expired", "offered", "accepted", "confirmed", "in_service")
#: A referral's states in which a service may be offered for one of its needs (matched
#: or further on, not finished).
OFFERABLE: Final = frozenset(IN_PROGRESS)


def summary(needs: Sequence[ref_db.StoredNeed]) -> str:
    """The state a referral's needs add up to.

    ``closed`` when every need is closed or unmet; else the least advanced state of the open
    needs that have had an offer (declined, expired, offered, accepted, confirmed,
    in_service); ``matched`` while no open need has had one.
    """
    open_states = [n.state for n in needs if n.state not in NEED_FINAL]
    if not open_states:
        return "closed"
    started = [s for s in open_states if s in SUMMARY_ORDER]
    return min(started, key=SUMMARY_ORDER.index) if started else "matched"


def closing_outcome(needs: Sequence[ref_db.StoredNeed]) -> str:
    """The outcome of a referral whose needs are all finished.

    ``placed`` when a need was placed; else the outcome of the first closed need; else
    (every need unmet) ``person_declined`` when the person declined them all, or
    ``no_capacity``.
    """
    outcomes = [n.outcome for n in needs if n.state == "closed" and n.outcome is not None]
    if "placed" in outcomes:
        return "placed"
    if outcomes:
        return outcomes[0]
    if needs and all(n.unmet_reason == "person_declined" for n in needs):
        return "person_declined"
    return "no_capacity"


def allowed_next(state: str) -> tuple[str, ...]:
    """The states a referral in ``state`` may move to."""
    return TRANSITIONS.get(state, ())


def check_transition(
    head: ref_db.ReferralHead, to_state: str, outcome: str | None, *, placed_need: bool = False
) -> None:
    """Raise Conflict (naming the state and the allowed next ones) for an illegal move.

    A referral closes as placed from in_service, or (``placed_need``) once one of its needs
    was closed as placed.
    """
    allowed = allowed_next(head.state)
    if to_state not in allowed:
        raise Conflict(
            _(
                "referral {referral} is {state}; it cannot become {to}. Allowed next: {next}",
                referral=head.id,
                state=head.state,
                to=to_state,
                next=", ".join(allowed) if allowed else _("none (it is finished)"),
            )
        )
    if to_state == "closed":
        if outcome is None:
            raise InvalidInput(_("closing a referral names its outcome"), field="$.outcome")
        if outcome == "placed" and head.state != "in_service" and not placed_need:
            raise Conflict(
                _(
                    "referral {head_id} is {state}; only a referral in service closes as "
                    "placed (close it as person_declined, no_capacity, transferred or "
                    "withdrawn)",
                    head_id=head.id,
                    state=head.state,
                )
            )
    elif outcome is not None:
        raise InvalidInput(_("only closing takes an outcome"), field="$.outcome")


#: Statuses of an offer whose provider follows the referral's state.
CURRENT_OFFER = frozenset({"held", "accepted", "confirmed"})


async def recipients(
    conn: asyncpg.Connection, head: ref_db.ReferralHead
) -> tuple[list[uuid.UUID], list[str]]:
    """Who should hear of a change: the provider whose offer is current, and both jurisdictions.

    An offer is current when it is held, accepted or the confirmed placement.

    A provider that declined, let an offer expire or had it released hears no more of the
    referral (only its own offer's events): what becomes of it is another provider's offer.
    """
    holds = await hold_db.holds_of(conn, head.id)
    orgs = sorted({h.organization_id for h in holds if h.status in CURRENT_OFFER}, key=str)
    places = [head.jurisdiction]
    if head.receiving_participant != head.jurisdiction:
        places.append(head.receiving_participant)
    return orgs, places


async def announce(conn: asyncpg.Connection, head: ref_db.ReferralHead) -> None:
    """Write the referral's new state to the outbox (ids and states only)."""
    orgs, places = await recipients(conn, head)
    await outbox.emit(
        conn,
        outbox.NewEvent(
            event_type=f"referral.{head.state}",
            object_type="referral",
            object_id=head.id,
            state=head.state,
            organization_ids=orgs,
            jurisdictions=places,
        ),
    )


async def announce_hold(
    conn: asyncpg.Connection, head: ref_db.ReferralHead, hold: hold_db.Hold
) -> None:
    """Write a hold's (offer's) new status to the outbox."""
    places = [head.jurisdiction]
    if head.receiving_participant != head.jurisdiction:
        places.append(head.receiving_participant)
    await outbox.emit(
        conn,
        outbox.NewEvent(
            event_type=f"hold.{hold.status}",
            object_type="hold",
            object_id=hold.id,
            state=hold.status,
            organization_ids=[hold.organization_id],
            jurisdictions=places,
        ),
    )


async def move(
    conn: asyncpg.Connection,
    principal: Principal | None,
    head: ref_db.ReferralHead,
    to_state: str,
    *,
    outcome: str | None = None,
    action: str | None = None,
    cancel_reason: str | None = None,
    placed_need: bool = False,
) -> ref_db.ReferralHead:
    """Check and apply one transition; announce it and audit it (``principal`` None: system).

    The caller holds the referral's row lock (``for_update``) and owns the transaction.
    """
    check_transition(head, to_state, outcome, placed_need=placed_need)
    moved = await ref_db.set_state(conn, head.id, to_state, outcome, cancel_reason)
    await announce(conn, moved)
    if principal is not None:
        await audit(conn, principal, action or f"referral.{to_state}", "referral", head.id)
    return moved


async def held_open(conn: asyncpg.Connection, head: ref_db.ReferralHead) -> list[str]:
    """The planned follow-ups that keep a transnational referral open (none: it may close).

    A transnational referral stays open, and out of the retention purge, until its last
    follow-up is done or cancelled (docs/transnational.md); the database refuses to close it
    before (migration 0075).
    """
    if not head.transnational:
        return []
    return await trm_db.open_follow_ups(conn, head.id)


async def check_may_close(conn: asyncpg.Connection, head: ref_db.ReferralHead) -> None:
    """Conflict, naming them, while follow-ups keep a transnational referral open."""
    waiting = await held_open(conn, head)
    if waiting:
        raise Conflict(
            _(
                "referral {referral} is transnational and stays open until each follow-up is "
                "done or cancelled; planned: {planned}",
                referral=head.id,
                planned=", ".join(waiting),
            ),
            field="$.to",
        )


async def settle(
    conn: asyncpg.Connection,
    principal: Principal | None,
    head: ref_db.ReferralHead,
    *,
    action: str | None = None,
) -> ref_db.ReferralHead:
    """Move a referral to the state its needs add up to (after a need changed), and audit.

    A draft or submitted referral whose needs have had no offer stays as it is; a
    transnational referral with follow-ups planned does not close (:func:`held_open`). The caller
    holds the referral's row lock and owns the transaction. ``action`` is audited on the
    referral even when the summary does not change (``principal`` None: the system).
    """
    needs = (await ref_db.needs_of(conn, [head.id]))[head.id]
    target = summary(needs)
    if target == "closed" and await held_open(conn, head):
        target = head.state
    if target == head.state or (head.state in ("draft", "submitted") and target == "matched"):
        if principal is not None and action is not None:
            await audit(conn, principal, action, "referral", head.id)
        return head
    outcome = closing_outcome(needs) if target == "closed" else None
    moved = await ref_db.set_state(conn, head.id, target, outcome)
    await announce(conn, moved)
    if principal is not None:
        await audit(conn, principal, action or f"referral.{target}", "referral", head.id)
    return moved
