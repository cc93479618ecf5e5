"""The coordinator's console: open referrals against their time limits, escalation, approvals.

A coordinator (or an admin) sees every open referral of their jurisdiction, referring or
receiving, with how long it has been in its state against the limit for that state and its
urgency (``referral_time_limit``: defaults for the region, a participant's own rows over
them), overdue first. The sweeper escalates, once, a referral that stays submitted or matched
with no offer past its limit (event ``referral.stuck``). Consent overrides and children's
placements waiting for a second person are listed with whether the caller may approve them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Final

import asyncpg
import msgspec

from csomatch.db import coordination as coord_db
from csomatch.db import holds as hold_db
from csomatch.db import outbox
from csomatch.db import referrals as ref_db
from csomatch.db.audit import AuditActor, record_event
from csomatch.domain import REGION, URGENCIES, Principal
from csomatch.errors import Forbidden, InvalidInput
from csomatch.i18n import _
from csomatch.referrals import offers
from csomatch.referrals.access import actor_of, audit_each
from csomatch.referrals.children import SIGN_OFF_STATES
from csomatch.referrals.lifecycle import IN_PROGRESS

#: The states a referral waits in (every open state after submission).
TIME_LIMIT_STATES: Final = ("submitted", *IN_PROGRESS)
#: The longest limit: 60 days, in minutes.
MAX_MINUTES: Final = 60 * 24 * 60
#: The states from which a referral with no offer is escalated.
STUCK_STATES: Final = ("submitted", "matched")
#: The most referrals one console answer lists.
CONSOLE_LIMIT: Final = 2000
SYSTEM = AuditActor(token_id=None, role="system", jurisdiction=None)


class ConsoleRow(msgspec.Struct, frozen=True, kw_only=True):
    """An open referral as the console shows it (no personal fields)."""

    id: uuid.UUID
    jurisdiction: str
    receiving_participant: str
    transnational: bool
    state: str
    urgency: str
    submitted_at: dt.datetime | None
    since: dt.datetime
    waited_minutes: int
    limit_minutes: int | None
    overdue: bool
    had_offer: bool
    first_offer_at: dt.datetime | None
    escalated_at: dt.datetime | None


class Approval(msgspec.Struct, frozen=True, kw_only=True):
    """A pending approval, and whether the caller may give it (else why not, a code)."""

    referral_id: uuid.UUID
    kind: str
    state: str
    urgency: str
    jurisdiction: str
    reason: str | None
    requested_at: dt.datetime
    may_approve: bool
    #: ``own_request`` (the caller asked for it), ``role`` (the caller's role does not
    #: approve this), None when the caller may.
    why_not: str | None


class Escalations(msgspec.Struct, frozen=True, kw_only=True):
    """What the coordinators are alerted to: expired offers and referrals stuck before one."""

    offers: list[hold_db.Hold]
    referrals: list[ConsoleRow]


def scope_of(principal: Principal, asked: str | None) -> str | None:
    """The participant whose referrals the caller asks for (None: the whole region).

    A token of one participant sees its own only; a region-wide token any, or all.
    """
    if asked is None or asked == REGION:
        return principal.participant()
    if not principal.covers(asked):
        raise Forbidden(
            _(
                "your token is for {jurisdiction}; it does not see {asked}",
                jurisdiction=principal.jurisdiction,
                asked=asked,
            ),
            field="query.jurisdiction",
        )
    return asked


def table_of(principal: Principal, asked: str | None) -> str:
    """Whose time-limit table the caller reads or edits (``MARRI``: the defaults)."""
    target = asked or principal.jurisdiction
    if not principal.covers(target):
        raise Forbidden(
            _(
                "your token is for {jurisdiction}; it does not edit {target}'s limits",
                jurisdiction=principal.jurisdiction,
                target=target,
            ),
            field="query.jurisdiction",
        )
    return target


def _check_coordinating(principal: Principal) -> None:
    if not principal.is_coordinating():
        raise Forbidden(
            _("the {role} role does not use the coordinator's console", role=principal.role)
        )


async def time_limit_table(
    conn: asyncpg.Connection, principal: Principal, asked: str | None
) -> coord_db.TimeLimitTable:
    """The caller's jurisdiction's time limits (an admin of the region: any, or the defaults)."""
    _check_coordinating(principal)
    return await coord_db.time_limits(conn, table_of(principal, asked))


def check_limits(limits: Sequence[tuple[str, str, int]]) -> None:
    """Refuse an unknown state or urgency, minutes out of range, or a pair given twice."""
    seen: set[tuple[str, str]] = set()
    for i, (state, urgency, minutes) in enumerate(limits):
        where = f"$.limits[{i}]"
        if state not in TIME_LIMIT_STATES:
            raise InvalidInput(
                _(
                    "{state} is no state a referral waits in; use one of {states}",
                    state=repr(state),
                    states=", ".join(TIME_LIMIT_STATES),
                ),
                field=f"{where}.state",
            )
        if urgency not in URGENCIES:
            raise InvalidInput(
                _(
                    "{urgency} is no urgency; use one of {urgencies}",
                    urgency=repr(urgency),
                    urgencies=", ".join(URGENCIES),
                ),
                field=f"{where}.urgency",
            )
        if not 1 <= minutes <= MAX_MINUTES:
            raise InvalidInput(
                _(
                    "a time limit is from 1 minute to {max_minutes} minutes (60 days)",
                    max_minutes=MAX_MINUTES,
                ),
                field=f"{where}.minutes",
            )
        if (state, urgency) in seen:
            raise InvalidInput(
                _(
                    "({state}, {urgency}) is given twice; give each pair once",
                    state=state,
                    urgency=urgency,
                ),
                field=f"{where}.state",
            )
        seen.add((state, urgency))


async def change_time_limits(
    conn: asyncpg.Connection,
    principal: Principal,
    asked: str | None,
    limits: Sequence[tuple[str, str, int]],
    *,
    version: int,
) -> coord_db.TimeLimitTable:
    """Change some of a jurisdiction's limits if nobody changed them since ``version`` (audited).

    A coordinator edits their own jurisdiction's, an admin theirs; an admin of ``MARRI``
    any participant's, or the defaults (``MARRI``).
    """
    _check_coordinating(principal)
    target = table_of(principal, asked)
    check_limits(limits)
    await coord_db.set_time_limits(conn, target, limits, version=version, by=principal.id)
    await record_event(
        conn, actor=actor_of(principal), action="coordination.time_limits",
        object_type="time_limits", object_id=target, outcome="ok",
    )  # fmt: skip
    return await coord_db.time_limits(conn, target)


def _row(w: coord_db.WaitingReferral, now: dt.datetime) -> ConsoleRow:
    waited = max(0, int((now - w.since).total_seconds() // 60))
    return ConsoleRow(
        id=w.id,
        jurisdiction=w.jurisdiction,
        receiving_participant=w.receiving_participant,
        transnational=w.transnational,
        state=w.state,
        urgency=w.urgency,
        submitted_at=w.submitted_at,
        since=w.since,
        waited_minutes=waited,
        limit_minutes=w.limit_minutes,
        overdue=w.limit_minutes is not None and waited > w.limit_minutes,
        had_offer=w.first_offer_at is not None,
        first_offer_at=w.first_offer_at,
        escalated_at=w.escalated_at,
    )


def ordered(rows: Sequence[ConsoleRow]) -> list[ConsoleRow]:
    """Overdue first, then the longest waiting (by the share of the limit used, then minutes)."""

    def key(r: ConsoleRow) -> tuple[int, float, int]:
        share = r.waited_minutes / r.limit_minutes if r.limit_minutes else 0.0
        return (0 if r.overdue else 1, -share, -r.waited_minutes)

    return sorted(rows, key=key)


async def console(
    conn: asyncpg.Connection, principal: Principal, asked: str | None, *, now: dt.datetime
) -> list[ConsoleRow]:
    """Every open referral of the caller's jurisdiction, overdue first; each listing audited."""
    _check_coordinating(principal)
    found = await coord_db.open_referrals(conn, scope_of(principal, asked), limit=CONSOLE_LIMIT)
    rows = ordered([_row(w, now) for w in found])
    await audit_each(conn, principal, "coordination.list", "referral", [r.id for r in rows])
    return rows


def _why_not(principal: Principal, p: coord_db.PendingApproval) -> str | None:
    if p.kind == "consent_override" and principal.role != "coordinator":
        return "role"
    if p.kind == "child_sign_off" and principal.role != "coordinator":
        return "role"
    if p.own:
        return "own_request"
    return None


async def approvals(
    conn: asyncpg.Connection, principal: Principal, asked: str | None
) -> list[Approval]:
    """Consent overrides and children's placements waiting for a second person (audited).

    The person who asked for one (the override's requester, the child's referrer) may not
    give it: ``why_not`` says so, and the approving routes refuse it too.
    """
    _check_coordinating(principal)
    found = await coord_db.pending_approvals(
        conn, scope_of(principal, asked), principal.id,
        sign_off_states=sorted(SIGN_OFF_STATES), limit=CONSOLE_LIMIT,
    )  # fmt: skip
    out = []
    for p in found:
        why = _why_not(principal, p)
        out.append(
            Approval(
                referral_id=p.referral_id,
                kind=p.kind,
                state=p.state,
                urgency=p.urgency,
                jurisdiction=p.jurisdiction,
                reason=p.reason,
                requested_at=p.requested_at,
                may_approve=why is None,
                why_not=why,
            )
        )
    await audit_each(
        conn, principal, "coordination.approvals", "referral", [a.referral_id for a in out]
    )
    return out


async def escalations(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    limit: int,
    offset: int,
    now: dt.datetime,
) -> Escalations:
    """Escalated offers and escalated (stuck) referrals of the caller's jurisdiction (audited)."""
    held = await offers.escalated(conn, principal, limit=limit, offset=offset)
    stuck = await coord_db.escalated_referrals(
        conn, principal.participant(), limit=limit, offset=offset
    )
    await audit_each(conn, principal, "referral.escalated", "referral", [s.id for s in stuck])
    return Escalations(offers=held, referrals=[_row(s, now) for s in stuck])


async def escalate_stuck(conn: asyncpg.Connection, *, now: dt.datetime, batch: int = 100) -> int:
    """Escalate, once each, referrals submitted or matched with no offer past their limit.

    Each in a transaction of its own: marked (``escalated_at``), announced as
    ``referral.stuck`` to its jurisdictions' coordinators (webhooks, event feed) and audited.
    Returns how many were escalated.
    """
    done = 0
    for referral_id in await coord_db.stuck_referrals(conn, now, limit=batch):
        async with conn.transaction():
            head = await ref_db.get_head(conn, referral_id, for_update=True)
            if head is None or not await coord_db.mark_escalated(conn, referral_id, now):
                continue
            places = [head.jurisdiction]
            if head.receiving_participant != head.jurisdiction:
                places.append(head.receiving_participant)
            await outbox.emit(
                conn,
                outbox.NewEvent(
                    event_type="referral.stuck", object_type="referral", object_id=head.id,
                    state=head.state, jurisdictions=places,
                ),
            )  # fmt: skip
            await record_event(
                conn, actor=SYSTEM, action="referral.stuck", object_type="referral",
                object_id=str(head.id), outcome="ok",
            )  # fmt: skip
            done += 1
    return done
