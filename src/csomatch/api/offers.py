"""HTTP routes of the provider's side: its inbox of offers, accept, decline.

Coordinators also find the escalated offers here.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Cfg, Conn
from csomatch.api.idempotency import AuditAs, idempotent
from csomatch.api.schemas.referrals import (
    AcceptanceRecordOut,
    EscalatedList,
    OfferList,
    OfferOut,
)
from csomatch.api.schemas.views import console_view, provider_offer_view, referrer_offer_view
from csomatch.domain import COORDINATING
from csomatch.referrals import acceptance, coordination, offers
from csomatch.referrals.model import DeclineIn

StatusQ = Annotated[
    str | None,
    QueryParameter(pattern=r"^(held|accepted|declined|expired|released|confirmed)$"),
]
Limit = Annotated[int, QueryParameter(ge=1, le=200)]
Offset = Annotated[int, QueryParameter(ge=0, le=1_000_000)]


@get("/api/v1/offers", opt=roles("provider"))
async def list_offers(
    conn: Conn,
    principal: Caller,
    status: StatusQ = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OfferList:
    """The provider organisation's offers, newest first (``status`` filters)."""
    async with conn.transaction():
        found = await offers.inbox(conn, principal, status=status, limit=limit, offset=offset)
        # Shaped inside the transaction: a view refused rolls the listing's audit back.
        views = [provider_offer_view(principal, o) for o in found]
    return OfferList(offers=views)


@post("/api/v1/offers/{offer_id:uuid}/accept", opt=roles("provider"), status_code=200)
async def accept_offer(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    offer_id: FromPath[uuid.UUID],
) -> Response[OfferOut]:
    """Accept an offer to your organisation; the referrer then confirms the placement.

    The referrer has ``CSOMATCH_CONFIRM_HOURS`` to confirm. An offer at risk answers 409 until
    places free up.
    """

    async def run() -> OfferOut:
        offer = await offers.accept(
            conn, principal, settings, offer_id, now=dt.datetime.now(dt.UTC)
        )
        return provider_offer_view(principal, offer)

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
    """Decline an offer with a structured reason.

    ``no_capacity`` also asks you for a new capacity number (until then the old one counts as
    unknown).
    """

    async def run() -> OfferOut:
        offer = await offers.decline(
            conn, principal, settings, offer_id, data.reason, now=dt.datetime.now(dt.UTC)
        )
        return provider_offer_view(principal, offer)

    return await idempotent(
        request, conn, principal, run, status_code=200,
        audit_as=AuditAs(action="offer.decline", object_type="hold", object_id=offer_id),
    )  # fmt: skip


@get("/api/v1/offers/escalated", opt=roles(*COORDINATING))
async def escalated_offers(
    conn: Conn, principal: Caller, limit: Limit = 50, offset: Offset = 0
) -> EscalatedList:
    """Escalated offers and referrals in your jurisdiction, newest first.

    ``offers``: offers nobody answered in time, or accepted and never confirmed, where the
    referral or the service is in your jurisdiction. ``referrals``: referrals that stayed
    submitted or matched with no offer past their time limit (``referral.stuck``).
    """
    async with conn.transaction():
        found = await coordination.escalations(
            conn, principal, limit=limit, offset=offset, now=dt.datetime.now(dt.UTC)
        )
        views = [referrer_offer_view(principal, h) for h in found.offers]
        stuck = [console_view(principal, r) for r in found.referrals]
    return EscalatedList(offers=views, referrals=stuck)


@get(
    "/api/v1/organizations/{org_id:uuid}/acceptance-record",
    opt=roles("provider", *COORDINATING),
)
async def acceptance_record(
    conn: Conn, principal: Caller, org_id: FromPath[uuid.UUID]
) -> AcceptanceRecordOut:
    """How the organisation's offers ended over its last closed quarters, by the fair rule.

    A provider reads its own organisation's; coordinators and admins any organisation of
    their jurisdiction. Declines for ``person_declined``, ``safety`` or ``not_eligible`` never
    count; other declines and offers left to expire unanswered count as not accepted; an
    accepted offer counts as accepted even if it then expired unconfirmed. A quarter with
    fewer than ``min_offers_per_quarter`` offers shows no figures.
    """
    found = await acceptance.acceptance_record(
        conn, principal, org_id, today=dt.datetime.now(dt.UTC).date()
    )
    return msgspec.convert(found, AcceptanceRecordOut, from_attributes=True)


OFFER_ROUTES = [list_offers, accept_offer, decline_offer, escalated_offers, acceptance_record]
