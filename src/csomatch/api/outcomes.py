"""HTTP routes of outcome figures and of a referral's access log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from litestar import get
from litestar.params import FromPath, QueryParameter

from csomatch.api.auth import ALL_ROLES, roles
from csomatch.api.deps import Caller, Conn
from csomatch.api.schemas.registry import Out
from csomatch.domain import PARTICIPANT_PATTERN, TAXONOMY_CODE_PATTERN
from csomatch.gaps.periods import open_since, sees_open_period
from csomatch.referrals.access_log import referral_access_log
from csomatch.referrals.outcomes import READERS, OutcomeReport, outcome_figures


class AccessEventOut(Out, frozen=True):
    """One access to a referral or one of its offers: who (token, role, agency), what, when."""

    seq: int
    at: dt.datetime
    token_id: uuid.UUID | None
    role: str | None
    jurisdiction: str | None
    organization_id: uuid.UUID | None
    agency: str | None
    action: str
    object_type: str
    object_id: str | None
    outcome: str


class AccessLog(Out, frozen=True):
    """A page of a referral's access log, oldest first; ask again with ``after=next_after``."""

    referral_id: uuid.UUID
    events: list[AccessEventOut]
    next_after: int


@get("/api/v1/referrals/{referral_id:uuid}/access-log", opt=roles(*ALL_ROLES))
async def get_access_log(
    conn: Conn,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
    after: Annotated[int, QueryParameter(ge=0, le=2**62, description="an event's seq")] = 0,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 200,
) -> AccessLog:
    """Who read or changed a referral and its offers (coordinator, admin of its jurisdiction).

    Anyone else gets 404. Reading it is itself logged.
    """
    events = await referral_access_log(conn, principal, referral_id, after_seq=after, limit=limit)
    return AccessLog(
        referral_id=referral_id,
        events=[msgspec.convert(e, AccessEventOut, from_attributes=True) for e in events],
        next_after=events[-1].seq if events else after,
    )


def _day(value: dt.date) -> dt.datetime:
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)


@get("/api/v1/outcomes", opt=roles(*READERS))
async def get_outcomes(
    conn: Conn,
    principal: Caller,
    since: Annotated[
        dt.date | None,
        QueryParameter(description="first day of submission (default: 365 days ago)"),
    ] = None,
    until: Annotated[
        dt.date | None,
        QueryParameter(
            description="day after the last day of submission (default: tomorrow; for a "
            "funder the first day of the current month, the latest it may ask)"
        ),
    ] = None,
    code: Annotated[
        str | None, QueryParameter(pattern=TAXONOMY_CODE_PATTERN, description="taxonomy code")
    ] = None,
    participant: Annotated[
        str | None, QueryParameter(pattern=PARTICIPANT_PATTERN, description="receiving")
    ] = None,
) -> OutcomeReport:
    """Time to offer and to acceptance, acceptance rate and decline reasons, by cell and total.

    Times are in hours (median, p90). A cell is a receiving participant, area and service
    code. Funders see closed months only, with small counts (1-4) hidden.
    """
    today = dt.datetime.now(dt.UTC).date()
    default_end = (
        today + dt.timedelta(days=1)
        if sees_open_period(principal.role)
        else open_since(today).date()
    )
    end = until or default_end
    year = dt.timedelta(days=365)
    start = since or (end - year if end > dt.date.min + year else dt.date.min)
    return await outcome_figures(
        conn, principal, since=_day(start), until=_day(end), code=code, participant=participant
    )


OUTCOME_ROUTES = [get_access_log, get_outcomes]
