"""HTTP routes of the coordinator's console: open referrals, approvals, time limits."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Annotated

import msgspec
from litestar import Response, get, put
from litestar.params import JSONBody, QueryParameter

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

JurisdictionQ = Annotated[
    str | None,
    QueryParameter(
        pattern=one_of_pattern(JURISDICTIONS),
        description="a participant, or MARRI (a region-wide token only; default: your own)",
    ),
]


@get("/api/v1/coordination/referrals", opt=roles(*COORDINATING))
async def console_referrals(
    conn: Conn, principal: Caller, jurisdiction: JurisdictionQ = None
) -> ConsoleOut:
    """Every open referral of your jurisdiction, overdue first, then the longest waiting.

    Each with its state, urgency, since when it is in that state, the minutes it has waited
    against the limit for that state and urgency, whether it ever had an offer and when the
    first came. A transnational referral shows to both participants' coordinators.
    """
    now = dt.datetime.now(dt.UTC)
    async with conn.transaction():
        rows = await coordination.console(conn, principal, jurisdiction, now=now)
        views = [console_view(principal, r) for r in rows]
    return ConsoleOut(
        jurisdiction=coordination.scope_of(principal, jurisdiction),
        as_of=now,
        counts=dict(Counter(v.state for v in views)),
        overdue=sum(v.overdue for v in views),
        referrals=views,
    )


@get("/api/v1/coordination/approvals", opt=roles(*COORDINATING))
async def console_approvals(
    conn: Conn, principal: Caller, jurisdiction: JurisdictionQ = None
) -> ApprovalList:
    """Consent overrides and children's placements waiting for a second person, oldest first.

    ``may_approve`` says whether you may give it; ``why_not`` why not (``own_request``: you
    asked for it; ``role``: a coordinator approves it). Approve with ``POST
    /api/v1/referrals/{id}/override-approval`` or ``/child-sign-off``.
    """
    async with conn.transaction():
        found = await coordination.approvals(conn, principal, jurisdiction)
        views = [approval_view(principal, a) for a in found]
    return ApprovalList(approvals=views)


@get("/api/v1/coordination/time-limits", opt=roles(*COORDINATING), response_headers=ETAG)
async def get_time_limits(
    conn: Conn, principal: Caller, jurisdiction: JurisdictionQ = None
) -> Response[TimeLimitTableOut]:
    """Your jurisdiction's time limit per referral state and urgency, in minutes.

    ``MARRI`` (an admin of the region) is the defaults every participant starts from.
    """
    table = await coordination.time_limit_table(conn, principal, jurisdiction)
    out = msgspec.convert(table, TimeLimitTableOut, from_attributes=True)
    return Response(out, headers={"ETag": etag(table.version)})


@put("/api/v1/coordination/time-limits", opt=roles(*COORDINATING), response_headers=ETAG)
async def put_time_limits(
    conn: Conn,
    principal: Caller,
    data: JSONBody[TimeLimitsIn],
    if_match: IfMatch = None,
    jurisdiction: JurisdictionQ = None,
) -> Response[TimeLimitTableOut]:
    """Change some time limits of your jurisdiction; needs ``If-Match`` (412 if stale).

    Limits are 1 minute to 60 days; states and urgencies are the referral's. Audited.
    """
    version = version_of(if_match, required=True)
    assert version is not None
    rows = [(x.state, x.urgency, x.minutes) for x in data.limits]
    async with conn.transaction():
        table = await coordination.change_time_limits(
            conn, principal, jurisdiction, rows, version=version
        )
    out = msgspec.convert(table, TimeLimitTableOut, from_attributes=True)
    return Response(out, headers={"ETag": etag(table.version)})


COORDINATION_ROUTES = [console_referrals, console_approvals, get_time_limits, put_time_limits]
