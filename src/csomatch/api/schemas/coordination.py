"""What the coordinator's console answers: open referrals, approvals, time limits.

No personal fields: a referral is its id, jurisdictions, state, urgency and dates.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from msgspec import Meta

from csomatch.api.schemas.registry import In, Out

Minutes = Annotated[int, Meta(ge=1, le=60 * 24 * 60)]


class ConsoleReferralOut(Out, frozen=True):
    """An open referral on the console: how long it has waited in its state, and its limit."""

    id: uuid.UUID
    jurisdiction: str
    receiving_participant: str
    transnational: bool
    state: str
    urgency: str
    submitted_at: dt.datetime | None
    #: When the referral entered its state.
    since: dt.datetime
    waited_minutes: int
    #: The limit for this state and urgency (None: no limit).
    limit_minutes: int | None
    overdue: bool
    had_offer: bool
    first_offer_at: dt.datetime | None
    #: When the sweeper escalated it for waiting with no offer past its limit.
    escalated_at: dt.datetime | None


class ConsoleOut(Out, frozen=True):
    """The open referrals of a jurisdiction, overdue first, and how many are in each state."""

    jurisdiction: str | None
    as_of: dt.datetime
    counts: dict[str, int]
    overdue: int
    referrals: list[ConsoleReferralOut]


class ApprovalOut(Out, frozen=True):
    """A consent override or a child's placement waiting for a second person."""

    referral_id: uuid.UUID
    #: ``consent_override`` or ``child_sign_off``.
    kind: str
    state: str
    urgency: str
    jurisdiction: str
    #: The override's reason code.
    reason: str | None
    requested_at: dt.datetime
    may_approve: bool
    #: Why the caller may not: ``own_request`` or ``role``.
    why_not: str | None


class ApprovalList(Out, frozen=True):
    """The approvals waiting in a jurisdiction, oldest first."""

    approvals: list[ApprovalOut]


class TimeLimitOut(Out, frozen=True):
    """The limit of one state and urgency, and the region's default for it."""

    state: str
    urgency: str
    minutes: int
    default_minutes: int
    overridden: bool


class TimeLimitTableOut(Out, frozen=True):
    """A jurisdiction's time limits (``MARRI``: the defaults); its ETag is ``version``."""

    jurisdiction: str
    version: int
    limits: list[TimeLimitOut]


class TimeLimitIn(In, frozen=True):
    """One limit to set: a state, an urgency, minutes (1 to 60 days)."""

    state: Annotated[str, Meta(max_length=40)]
    urgency: Annotated[str, Meta(max_length=40)]
    minutes: Minutes


class TimeLimitsIn(In, frozen=True):
    """The limits to change (others stay as they are)."""

    limits: Annotated[list[TimeLimitIn], Meta(min_length=1, max_length=100)]
