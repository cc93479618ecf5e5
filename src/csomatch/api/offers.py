"""HTTP routes of the provider's side: its inbox of offers, accept, decline; and escalated
offers for coordinators."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import asyncpg
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from csomatch.api.auth import roles
from csomatch.api.idempotency import AuditAs, idempotent
from csomatch.api.schemas.referrals import EscalatedList, OfferList, OfferOut, OfferSummary
from csomatch.api.schemas.views import hold_view, provider_offer_view, referrer_only
from csomatch.db import holds as hold_db
from csomatch.domain import COORDINATING, Principal
from csomatch.referrals import offers
from csomatch.referrals.access import audit
from csomatch.referrals.model import DeclineIn
from csomatch.settings import Settings

Conn = NamedDependency[asyncpg.Connection]
Cfg = NamedDependency[Settings]
Caller = NamedDependency[Principal]
StatusQ = Annotated[
    str | None,
    QueryParameter(pattern=r"^(held|accepted|declined|expired|released|confirmed)$"),
]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]
ALL_STATUSES = ["held", "accepted", "declined", "expired", "released", "confirmed"]


@get("/api/v1/offers", opt=roles("provider"))
async def list_offers(
    conn: Conn,
    principal: Caller,
    status: StatusQ = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OfferList:
    """The provider organisation's offers, newest first (``status`` filters)."""
    assert principal.organization_id is not None
    statuses = [status] if status else ALL_STATUSES
    async with conn.transaction():
        found = await hold_db.offers_for_org(
            conn, principal.organization_id, statuses=statuses, limit=limit, offset=offset
        )
        views = []
        for hold in found:
            views.append(await provider_offer_view(conn, principal, hold))
            await audit(conn, principal, "offer.list", "referral", hold.referral_id)
    return OfferList(offers=views)


@post("/api/v1/offers/{offer_id:uuid}/accept", opt=roles("provider"), status_code=200)
async def accept_offer(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    offer_id: FromPath[uuid.UUID],
) -> Response[OfferOut]:
    """Accept an offer to your organisation; the referrer then confirms the placement within
    ``CSOMATCH_CONFIRM_HOURS``. An offer at risk answers 409 until places free up."""

    async def run() -> OfferOut:
        hold = await offers.accept(conn, principal, settings, offer_id, now=dt.datetime.now(dt.UTC))
        return await provider_offer_view(conn, principal, hold)

    return await idempotent(
        request, conn, principal, run, status_code=200,
        audit_as=AuditAs(action="offer.accept", object_type="hold", object_id=offer_id),
    )  # fmt: skip


@post("/api/v1/offers/{offer_id:uuid}/decline", opt=roles("provider"), status_code=200)
async def decline_offer(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    offer_id: FromPath[uuid.UUID],
    data: JSONBody[DeclineIn],
) -> Response[OfferOut]:
    """Decline an offer with a structured reason; ``no_capacity`` also asks you for a new
    capacity number (until then the old one counts as unknown)."""

    async def run() -> OfferOut:
        hold = await offers.decline(
            conn, principal, settings, offer_id, data.reason, now=dt.datetime.now(dt.UTC)
        )
        return await provider_offer_view(conn, principal, hold)

    return await idempotent(
        request, conn, principal, run, status_code=200,
        audit_as=AuditAs(action="offer.decline", object_type="hold", object_id=offer_id),
    )  # fmt: skip


@get("/api/v1/offers/escalated", opt=roles(*COORDINATING))
async def escalated_offers(
    conn: Conn, principal: Caller, limit: Limit = 50, offset: Offset = 0
) -> EscalatedList:
    """Offers nobody answered in time, or accepted and never confirmed, where the referral or
    the service is in your jurisdiction (newest first)."""
    jurisdiction = principal.participant()
    async with conn.transaction():
        found = await hold_db.escalated_for(conn, jurisdiction, limit=limit, offset=offset)
        views: list[OfferSummary] = []
        for hold in found:
            views.append(referrer_only(await hold_view(conn, principal, hold)))
            await audit(conn, principal, "offer.escalated", "referral", hold.referral_id)
    return EscalatedList(offers=views)


OFFER_ROUTES = [list_offers, accept_offer, decline_offer, escalated_offers]
