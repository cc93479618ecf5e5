"""The referral lifecycle: which state may follow which, and one function that moves it.

draft → submitted → matched → offered → accepted | declined | expired → confirmed →
in_service → closed (placed, person_declined, no_capacity, transferred, withdrawn), and
cancelled from any open state; an accepted offer not confirmed in time expires too. The
database holds the same table (``referral_transition``) and refuses any other change; this
module checks first so that the caller gets a 409 that names the current state and the
allowed next ones, with nothing changed.
"""

from __future__ import annotations

import uuid
from typing import Final

import asyncpg

from csomatch.db import holds as hold_db
from csomatch.db import outbox
from csomatch.db import referrals as ref_db
from csomatch.domain import Principal
from csomatch.errors import Conflict, InvalidInput
from csomatch.referrals.access import audit

TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "draft": ("submitted", "cancelled"),
    "submitted": ("matched", "closed", "cancelled"),
    "matched": ("offered", "closed", "cancelled"),
    "offered": ("accepted", "declined", "expired", "cancelled"),
    "accepted": ("confirmed", "expired", "closed", "cancelled"),
    "declined": ("matched", "offered", "closed", "cancelled"),
    "expired": ("matched", "offered", "closed", "cancelled"),
    "confirmed": ("in_service", "closed", "cancelled"),
    "in_service": ("closed", "cancelled"),
    "closed": (),
    "cancelled": (),
}


def allowed_next(state: str) -> tuple[str, ...]:
    """The states a referral in ``state`` may move to."""
    return TRANSITIONS.get(state, ())


def check_transition(head: ref_db.ReferralHead, to_state: str, outcome: str | None) -> None:
    """Raise Conflict (naming the state and the allowed next ones) for an illegal move."""
    allowed = allowed_next(head.state)
    if to_state not in allowed:
        raise Conflict(
            f"referral {head.id} is {head.state}; it cannot become {to_state}. Allowed next: "
            + (", ".join(allowed) if allowed else "none (it is finished)")
        )
    if to_state == "closed":
        if outcome is None:
            raise InvalidInput("closing a referral names its outcome", field="$.outcome")
        if outcome == "placed" and head.state != "in_service":
            raise Conflict(
                f"referral {head.id} is {head.state}; only a referral in service closes as "
                "placed (close it as person_declined, no_capacity, transferred or withdrawn)"
            )
    elif outcome is not None:
        raise InvalidInput("only closing takes an outcome", field="$.outcome")


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
) -> ref_db.ReferralHead:
    """Check and apply one transition; announce it and audit it (``principal`` None: system).

    The caller holds the referral's row lock (``for_update``) and owns the transaction.
    """
    check_transition(head, to_state, outcome)
    moved = await ref_db.set_state(conn, head.id, to_state, outcome)
    await announce(conn, moved)
    if principal is not None:
        await audit(conn, principal, action or f"referral.{to_state}", "referral", head.id)
    return moved
