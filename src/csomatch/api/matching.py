"""HTTP routes of the matcher: suggestions for one needs profile, and batch placement."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Request, Response, post
from litestar.params import JSONBody, QueryParameter

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Cfg, Conn
from csomatch.api.idempotency import AuditAs, idempotent
from csomatch.api.schemas.registry import Out
from csomatch.domain import REFERRING
from csomatch.matching.batch import BatchPlan, BatchRequest, PersonPlacement
from csomatch.matching.placements import place_batch
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.suggest import NeedResult, Plan
from csomatch.matching.suggestions import profile_suggestions
from csomatch.referrals.surge import BookedPerson, SurgeIn, book_surge

MATCHERS = REFERRING
COST_UNIT = "1 point = 100 m"


class SuggestionsOut(Out, frozen=True):
    """Suggestions per need (no addresses or site points) and the solver's joint plan."""

    needs: list[NeedResult]
    plan: Plan
    #: The scale of every cost: 1 point = 100 m of travel.
    cost_unit: str


@post("/api/v1/match/suggestions", opt=roles(*MATCHERS), status_code=200)
async def suggestions(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    data: JSONBody[NeedsProfile],
    explain: Annotated[
        Literal["excluded"] | None,
        QueryParameter(description="'excluded': list each excluded service and its rule"),
    ] = None,
) -> Response[SuggestionsOut]:
    """Ranked services per need, each cost broken down by term, and the joint best plan.

    ``?explain=excluded`` also lists, per need, each service a hard rule excluded and the
    rule (its reason code).

    A need the plan cannot meet is recorded as an unmet-demand signal (service, area,
    reason; no person data), once per token, day and identical profile. Honours an
    Idempotency-Key (a retry gets the first answer).
    """

    async def run() -> SuggestionsOut:
        result = await profile_suggestions(
            conn, principal, data, settings, list_excluded=explain == "excluded"
        )
        return SuggestionsOut(needs=result.needs, plan=result.plan, cost_unit=COST_UNIT)

    return await idempotent(request, conn, principal, run, status_code=200, required=False)


class BatchOut(Out, frozen=True):
    """Per person (by the caller's key) and need: the assigned service or why none; the plan."""

    people: list[PersonPlacement]
    plan: BatchPlan
    cost_unit: str


#: Bytes a batch body may hold: 500 full profiles fit easily; more is refused with 413.
BATCH_MAX_BODY = 2_000_000


@post(
    "/api/v1/match/batch",
    opt=roles(*MATCHERS),
    status_code=200,
    request_max_body_size=BATCH_MAX_BODY,
)
async def batch(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    data: JSONBody[BatchRequest],
) -> Response[BatchOut]:
    """Place many people at once, jointly and optimally, families in one provider.

    Each need left unmet is recorded as an unmet-demand signal (source ``batch``). Honours
    an Idempotency-Key (a retry gets the first answer).
    """

    async def run() -> BatchOut:
        result = await place_batch(conn, principal, data, settings)
        return BatchOut(people=result.people, plan=result.plan, cost_unit=COST_UNIT)

    return await idempotent(request, conn, principal, run, status_code=200, required=False)


class SurgeOut(Out, frozen=True):
    """The joint plan of a surge, and each person's referral with what was held or why not."""

    people: list[PersonPlacement]
    plan: BatchPlan
    booked: list[BookedPerson]
    cost_unit: str


@post("/api/v1/match/surge", opt=roles(*MATCHERS), status_code=201)
async def surge(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    data: JSONBody[SurgeIn],
) -> Response[SurgeOut]:
    """Place many people identified at once jointly, and book the plan (docs/matching.md).

    Each person (a family counts once) becomes a submitted referral, and the services the
    joint plan chose are held for it as a care plan, whole or not at all; a refused one is
    reported in ``booked`` and the others stay held. Needs an Idempotency-Key.
    """

    async def run() -> SurgeOut:
        result = await book_surge(conn, principal, data, settings, now=dt.datetime.now(dt.UTC))
        return SurgeOut(
            people=result.people, plan=result.plan, booked=result.booked, cost_unit=COST_UNIT
        )

    return await idempotent(
        request, conn, principal, run, status_code=201,
        audit_as=AuditAs(action="referral.surge", object_type="referral"),
    )  # fmt: skip


MATCH_ROUTES = [suggestions, batch, surge]
