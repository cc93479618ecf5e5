"""HTTP routes of the coordinator's console: open referrals, approvals, time limits."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from contextlib import AbstractContextManager
from typing import Annotated

import msgspec
from litestar import Response, get, put
from litestar.params import JSONBody, QueryParameter

from csomatch.api.aliases import either, field_named, old_name
from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Conn
from csomatch.api.params import ETAG, IfMatch, etag, version_of
from csomatch.api.schemas.coordination import (
    ApprovalList,
    ConsoleOut,
    TimeLimitsIn,
    TimeLimitTableOut,
)
from csomatch.api.schemas.views import approval_view, console_view
from csomatch.domain import COORDINATING, JURISDICTIONS
from csomatch.domain.vocabulary import one_of_pattern
from csomatch.referrals import coordination

ParticipantQ = Annotated[
    str | None,
    QueryParameter(
        pattern=one_of_pattern(JURISDICTIONS),
        description="a participant, or MARRI (a region-wide token only; default: your own)",
    ),
]
#: ``jurisdiction``: the old name of ``participant`` (deprecated, one release; api/aliases.py).
JurisdictionQ = Annotated[
    str | None, old_name("participant", pattern=one_of_pattern(JURISDICTIONS))
]


def _scope(participant: str | None, jurisdiction: str | None) -> str | None:
    return either(participant, jurisdiction, new_name="participant", old_name="jurisdiction")


def _named(participant: str | None) -> AbstractContextManager[None]:
    """Problems about the scope name the parameter sent (participant, or its old name)."""
    return field_named("jurisdiction", "participant", new_sent=participant is not None)


@get("/api/v1/coordination/referrals", opt=roles(*COORDINATING))
async def console_referrals(
    conn: Conn,
    principal: Caller,
    participant: ParticipantQ = None,
    jurisdiction: JurisdictionQ = None,
) -> ConsoleOut:
    """Every open referral of your jurisdiction, overdue first, then the longest waiting.

    Each with its state, urgency, since when it is in that state, the minutes it has waited
    against the limit for that state and urgency, whether it ever had an offer and when the
    first came. A transnational referral shows to both participants' coordinators.
    """
    now = dt.datetime.now(dt.UTC)
    scope = _scope(participant, jurisdiction)
    with _named(participant):
        async with conn.transaction():
            rows = await coordination.console(conn, principal, scope, now=now)
            views = [console_view(principal, r) for r in rows]
    return ConsoleOut(
        jurisdiction=coordination.scope_of(principal, scope),
        as_of=now,
        counts=dict(Counter(v.state for v in views)),
        overdue=sum(v.overdue for v in views),
        referrals=views,
    )


@get("/api/v1/coordination/approvals", opt=roles(*COORDINATING))
async def console_approvals(
    conn: Conn,
    principal: Caller,
    participant: ParticipantQ = None,
    jurisdiction: JurisdictionQ = None,
) -> ApprovalList:
    """Consent overrides and children's placements waiting for a second person, oldest first.

    ``may_approve`` says whether you may give it; ``why_not`` why not (``own_request``: you
    asked for it; ``role``: a coordinator approves it). Approve with ``POST
    /api/v1/referrals/{id}/override-approval`` or ``/child-sign-off``.
    """
    with _named(participant):
        async with conn.transaction():
            found = await coordination.approvals(conn, principal, _scope(participant, jurisdiction))
            views = [approval_view(principal, a) for a in found]
    return ApprovalList(approvals=views)


@get("/api/v1/coordination/time-limits", opt=roles(*COORDINATING), response_headers=ETAG)
async def get_time_limits(
    conn: Conn,
    principal: Caller,
    participant: ParticipantQ = None,
    jurisdiction: JurisdictionQ = None,
) -> Response[TimeLimitTableOut]:
    """Your jurisdiction's time limit per referral state and urgency, in minutes.

    ``MARRI`` (an admin of the region) is the defaults every participant starts from.
    """
    with _named(participant):
        table = await coordination.time_limit_table(
            conn, principal, _scope(participant, jurisdiction)
        )
    out = msgspec.convert(table, TimeLimitTableOut, from_attributes=True)
    return Response(out, headers={"ETag": etag(table.version)})


@put("/api/v1/coordination/time-limits", opt=roles(*COORDINATING), response_headers=ETAG)
async def put_time_limits(
    conn: Conn,
    principal: Caller,
    data: JSONBody[TimeLimitsIn],
    if_match: IfMatch = None,
    participant: ParticipantQ = None,
    jurisdiction: JurisdictionQ = None,
) -> Response[TimeLimitTableOut]:
    """Change some time limits of your jurisdiction; needs ``If-Match`` (412 if stale).

    Limits are 1 minute to 60 days; states and urgencies are the referral's. Audited.
    """
    version = version_of(if_match, required=True)
    assert version is not None
    rows = [(x.state, x.urgency, x.minutes) for x in data.limits]
    scope = _scope(participant, jurisdiction)
    with _named(participant):
        async with conn.transaction():
            table = await coordination.change_time_limits(
                conn, principal, scope, rows, version=version
            )
    out = msgspec.convert(table, TimeLimitTableOut, from_attributes=True)
    return Response(out, headers={"ETag": etag(table.version)})


COORDINATION_ROUTES = [console_referrals, console_approvals, get_time_limits, put_time_limits]
