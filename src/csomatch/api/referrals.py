"""HTTP routes of referrals: create, read, list, move through the lifecycle, match, hold.

Every POST goes through :func:`csomatch.api.idempotency.idempotent` (Idempotency-Key);
every read and write leaves an audit event in the same transaction (a refused one in a
transaction of its own).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Cfg, Conn
from csomatch.api.idempotency import AuditAs, idempotent
from csomatch.api.schemas.referrals import (
    ChildSignOffOut,
    OfferOut,
    OfferSummary,
    ReferralList,
    ReferralOut,
    SuggestionsForReferral,
)
from csomatch.api.schemas.registry import Page
from csomatch.api.schemas.views import (
    referral_view,
    referrer_offer_view,
    referrer_only,
    summary_view,
)
from csomatch.domain import REFERRING
from csomatch.referrals import casework, children, holds
from csomatch.referrals.careplan import PlanIn
from csomatch.referrals.model import DeclineIn, HoldIn, ReferralIn, TransitionIn
from csomatch.referrals.suggestions import match_referral

REFERRERS = REFERRING
StateQ = Annotated[
    str | None,
    QueryParameter(
        name="state",
        pattern=r"^(draft|submitted|matched|offered|accepted|declined|expired|confirmed|"
        r"in_service|closed|cancelled)$",
    ),
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@post("/api/v1/referrals", opt=roles(*REFERRERS), status_code=201)
async def create_referral(
    request: Request[Any, Any, Any], conn: Conn, principal: Caller, data: JSONBody[ReferralIn]
) -> Response[ReferralOut]:
    """Create a referral (a draft) from the minimum data; needs an Idempotency-Key."""

    async def run() -> ReferralOut:
        record = await casework.create(conn, principal, data, now=_now())
        return referrer_only(referral_view(principal, record))

    return await idempotent(
        request, conn, principal, run, status_code=201,
        audit_as=AuditAs(action="referral.create", object_type="referral"),
    )  # fmt: skip


@get("/api/v1/referrals/{referral_id:uuid}", opt=roles(*REFERRERS))
async def get_referral(
    conn: Conn, principal: Caller, referral_id: FromPath[uuid.UUID]
) -> ReferralOut:
    """One referral with its profile, offers, allowed next states and next suggestion."""
    record = await casework.read(conn, principal, referral_id)
    return referrer_only(referral_view(principal, record))


@get("/api/v1/referrals", opt=roles(*REFERRERS))
async def list_referrals(
    conn: Conn,
    principal: Caller,
    referral_state: StateQ = None,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
) -> ReferralList:
    """Referrals the caller may see, newest first.

    Officer: their agency's; coordinator: their jurisdiction's, including transnational ones
    addressed to it.
    """
    async with conn.transaction():
        page = await casework.list_page(
            conn, principal, state=referral_state, limit=limit, offset=offset
        )
    return ReferralList(
        items_page=Page(total=page.total, limit=limit, offset=offset),
        referrals=[summary_view(principal, h, page.needs[h.id]) for h in page.heads],
    )


@post(
    "/api/v1/referrals/{referral_id:uuid}/transitions",
    opt=roles(*REFERRERS, "provider"),
    status_code=200,
)
async def transition(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
    data: JSONBody[TransitionIn],
) -> Response[ReferralOut | OfferOut]:
    """Move a referral: submit, confirm (an accepted offer), start service, close, cancel.

    An illegal move answers 409 naming the current state and the allowed next ones.
    Providers may only mark a referral placed with them in service or closed, and get back
    their offer view (with the referral's state), never the referral.
    """

    async def run() -> ReferralOut | OfferOut:
        step = casework.Step(to=data.to, need=data.need, outcome=data.outcome, reason=data.reason)
        record = await casework.transition(conn, principal, referral_id, step, now=_now())
        return referral_view(principal, record)

    return await idempotent(
        request, conn, principal, run, status_code=200,
        audit_as=AuditAs(action=f"referral.{data.to}", object_type="referral",
                         object_id=referral_id),
    )  # fmt: skip


@post("/api/v1/referrals/{referral_id:uuid}/suggestions", opt=roles(*REFERRERS), status_code=200)
async def referral_suggestions(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
) -> Response[SuggestionsForReferral]:
    """Run the matcher on a referral; a submitted, declined or expired referral becomes matched.

    Services that declined or let it expire are left out.
    """

    async def run() -> SuggestionsForReferral:
        matched = await match_referral(conn, principal, referral_id, settings=settings, now=_now())
        return SuggestionsForReferral(
            referral_id=referral_id, state=matched.state, needs=matched.result.needs,
            plan=matched.result.plan, cost_unit="1 point = 100 m",
        )  # fmt: skip

    return await idempotent(
        request, conn, principal, run, status_code=200,
        audit_as=AuditAs(action="referral.match", object_type="referral", object_id=referral_id),
    )  # fmt: skip


@post("/api/v1/referrals/{referral_id:uuid}/holds", opt=roles(*REFERRERS), status_code=201)
async def create_hold(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
    data: JSONBody[HoldIn],
) -> Response[OfferSummary]:
    """Hold places of a service now (an offer to its provider, expiring by urgency), or 409.

    The 409 carries ``free_places``: the number free right now.
    """

    async def run() -> OfferSummary:
        hold = await holds.place_hold(
            conn, principal, settings, referral_id, data.service_id, data.places, now=_now(),
            need=data.need,
        )  # fmt: skip
        return referrer_offer_view(principal, hold)

    return await idempotent(
        request, conn, principal, run, status_code=201,
        audit_as=AuditAs(action="hold.create", object_type="referral", object_id=referral_id),
    )  # fmt: skip


@post("/api/v1/referrals/{referral_id:uuid}/plan", opt=roles(*REFERRERS), status_code=201)
async def place_plan(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
    data: JSONBody[PlanIn],
) -> Response[ReferralOut]:
    """Hold a service for every need of a care plan, or none.

    A refusal is a 409 naming the need (``need``), the service (``service_id``) and why, with
    nothing held. The body names a service per need (``needs``) or takes the matcher's plan
    (``matcher_plan: true``).
    """

    async def run() -> ReferralOut:
        record = await casework.plan(conn, principal, settings, referral_id, data, now=_now())
        return referrer_only(referral_view(principal, record))

    return await idempotent(
        request, conn, principal, run, status_code=201,
        audit_as=AuditAs(action="referral.plan", object_type="referral", object_id=referral_id),
    )  # fmt: skip


@post(
    "/api/v1/referrals/{referral_id:uuid}/override-approval",
    opt=roles("coordinator"),
    status_code=200,
)
async def approve_override(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
) -> Response[ReferralOut]:
    """A coordinator (not the requester) approves a requested consent override; logged."""

    async def run() -> ReferralOut:
        record = await casework.approve_override(conn, principal, referral_id, now=_now())
        return referrer_only(referral_view(principal, record))

    return await idempotent(
        request, conn, principal, run, status_code=200,
        audit_as=AuditAs(action="referral.override_approve", object_type="referral",
                         object_id=referral_id),
    )  # fmt: skip


@post(
    "/api/v1/referrals/{referral_id:uuid}/child-sign-off",
    opt=roles("coordinator", "officer"),
    status_code=200,
)
async def child_sign_off(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
) -> Response[ChildSignOffOut]:
    """A second person signs off a child's placement, which may then be confirmed; logged.

    A coordinator, or an officer of the guardianship authority, never the referrer. Signing
    again answers the same sign-off.
    """

    async def run() -> ChildSignOffOut:
        signed = await children.sign_off(conn, principal, referral_id, now=_now())
        return ChildSignOffOut(
            referral_id=signed.referral_id, state=signed.state, signed_off_at=signed.signed_off_at
        )

    return await idempotent(
        request, conn, principal, run, status_code=200,
        audit_as=AuditAs(action="referral.child_sign_off", object_type="referral",
                         object_id=referral_id),
    )  # fmt: skip


@post(
    "/api/v1/referrals/{referral_id:uuid}/decline",
    opt=roles("coordinator", "admin"),
    status_code=200,
)
async def decline_by_receiving(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
    data: JSONBody[DeclineIn],
) -> Response[ReferralOut]:
    """The receiving side declines a transnational referral with a reason code.

    A coordinator of the receiving participant; the referral returns to ``submitted`` with its
    open offers released, for the referring side to match again. Anyone else is refused
    (403, or 404 for a referral they cannot see).
    """

    async def run() -> ReferralOut:
        record = await casework.decline_by_receiving(conn, principal, referral_id, data.reason)
        return referrer_only(referral_view(principal, record))

    return await idempotent(
        request, conn, principal, run, status_code=200,
        audit_as=AuditAs(action="referral.declined_by_receiving", object_type="referral",
                         object_id=referral_id),
    )  # fmt: skip


REFERRAL_ROUTES = [
    create_referral, get_referral, list_referrals, transition, referral_suggestions,
    create_hold, place_plan, approve_override, child_sign_off, decline_by_receiving,
]  # fmt: skip
