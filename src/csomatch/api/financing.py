"""HTTP routes of "who pays": an organisation's funding and the equitable-financing view.

``GET /api/v1/organizations/{org_id}/funding``: public against donor money, single-donor
dependence and runway of one organisation and of each of its services (with the gap cell it
serves). Its own provider reads it (a CSO sees its own runway), as do coordinators, admins and
funders of its participant; anyone else gets 404.

``GET /api/v1/gaps/financing``: per participant and service code, the CSOs' share of cases
against their share of public money, and public EUR per case for state providers and CSOs.
Case counts from 1 to 4 are hidden (complementary suppression); funders see closed periods
only, like the gap cells (docs/funding.md, "Who pays").
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from litestar import get
from litestar.params import FromPath, QueryParameter

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Conn
from csomatch.api.gaps import GAP_READERS, closed_only, participants_visible_to
from csomatch.domain import PARTICIPANT_PATTERN, TAXONOMY_CODE_PATTERN, Role
from csomatch.errors import Forbidden
from csomatch.gaps.analysis import GapQuery, periods_of
from csomatch.gaps.financing import (
    EquityView,
    OrganizationFunding,
    equity_view,
    organization_funding,
)
from csomatch.gaps.periods import last_closed
from csomatch.i18n import _

ORG_FUNDING_READERS: tuple[Role, ...] = ("admin", "coordinator", "funder", "provider")


@get("/api/v1/organizations/{org_id:uuid}/funding", opt=roles(*ORG_FUNDING_READERS))
async def get_organization_funding(
    conn: Conn, principal: Caller, org_id: FromPath[uuid.UUID]
) -> OrganizationFunding:
    """Who pays for an organisation today: public and donor EUR a year, dependence, runway.

    Also each of its services with the gap cell it serves this month and that service's own
    mix. Another organisation's (for a provider), or one outside the token's jurisdiction: 404.
    """
    return await organization_funding(conn, principal, org_id, dt.datetime.now(dt.UTC).date())


@get("/api/v1/gaps/financing", opt=roles(*GAP_READERS))
async def get_gaps_financing(
    conn: Conn,
    principal: Caller,
    participant: Annotated[
        str | None, QueryParameter(pattern=PARTICIPANT_PATTERN, description="participant code")
    ] = None,
    code: Annotated[
        str | None, QueryParameter(pattern=TAXONOMY_CODE_PATTERN, description="service code")
    ] = None,
    period: Annotated[
        str | None,
        QueryParameter(
            pattern=r"^\d{4}-(\d{2}|Q[1-4])$",
            description="one period: 2026-11 or 2026-Q4; default: the last closed month",
        ),
    ] = None,
) -> EquityView:
    """CSOs' share of cases against their share of public money, per participant and code.

    Funders see closed periods only (an open one answers 403).
    """
    scope = participants_visible_to(principal)
    if participant is not None:
        if scope is not None and participant not in scope:
            raise Forbidden(
                _(
                    "this token sees {value} only, not {participant}",
                    value=", ".join(scope),
                    participant=participant,
                ),
                field="query.participant",
            )
        scope = [participant]
    today = dt.datetime.now(dt.UTC).date()
    label = period or last_closed(today, "month").label
    query = GapQuery(period=label, closed_only=closed_only(principal, True))
    (chosen,) = periods_of(query, today)
    return await equity_view(conn, participants=scope, period=chosen, code=code)


FINANCING_ROUTES = [get_organization_funding, get_gaps_financing]
