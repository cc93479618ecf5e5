"""The one choice of what a caller sees of a referral, by role.

Every answer that carries referral data is built here (docs/referrals.md, "Who sees what"):

- officers, coordinators and admins (who steer referrals, within
  ``access.referrals_visible_to``) get the referrer's views: the referral with its profile
  and every offer (``ReferralOut``), a referral in a list (``ReferralSummary``), an offer
  (``OfferSummary``);
- a provider gets only the offer view (``OfferOut``) of its own organisation's offers: the
  needs it judges eligibility on, never nationality, excluded or preferred areas, the minimum
  distance, consent or other providers' offers; the referral's state and outcome only once
  the placement is with it;
- anyone else (funders) gets no referral data at all.

Handlers call these functions and nothing else to shape a referral or an offer, so that a
new route cannot hand a provider the referrer's view by accident; a test calls every route as
every role and checks the fields against the allow-lists of docs/referrals.md.
"""

from __future__ import annotations

import uuid
from typing import Literal, TypeVar

import asyncpg

from csomatch.api.schemas.referrals import (
    OfferOut,
    OfferSummary,
    ReferralOut,
    ReferralSummary,
    offer_out,
    offer_summary,
    referral_out,
    referral_summary,
)
from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.domain import REFERRING, Principal
from csomatch.errors import NotFound

Audience = Literal["referrer", "provider"]
View = TypeVar("View", ReferralOut, OfferSummary)


def audience_of(principal: Principal) -> Audience | None:
    """Which views of referrals a caller gets: the referrer's, the provider's, or none."""
    if principal.role in REFERRING:
        return "referrer"
    if principal.role == "provider":
        return "provider"
    return None


def _own_offer(principal: Principal, holds: list[hold_db.Hold]) -> hold_db.Hold | None:
    """The provider's offer a referral is shown through: its confirmed placement, else its
    newest offer (None: the referral was never offered to the provider's organisation)."""
    mine = [h for h in holds if h.organization_id == principal.organization_id]
    placed = [h for h in mine if h.status == "confirmed"]
    shown = placed or mine
    return shown[-1] if shown else None


async def referral_view(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> ReferralOut | OfferOut:
    """A referral as this caller may see it (access already checked by the use case)."""
    stored = await ref_db.get_referral(conn, referral_id)
    if stored is None:
        raise NotFound(f"no referral {referral_id}")
    holds = await hold_db.holds_of(conn, referral_id)
    audience = audience_of(principal)
    if audience == "referrer":
        return referral_out(stored, holds)
    hold = _own_offer(principal, holds) if audience == "provider" else None
    if hold is None:
        raise NotFound(f"no referral {referral_id}")
    return offer_out(hold, stored)


async def hold_view(
    conn: asyncpg.Connection, principal: Principal, hold: hold_db.Hold
) -> OfferSummary | OfferOut:
    """An offer as this caller may see it: the referrer's summary, or the provider's view of
    its own organisation's offer."""
    audience = audience_of(principal)
    if audience == "referrer":
        return offer_summary(hold)
    if audience == "provider" and hold.organization_id == principal.organization_id:
        stored = await ref_db.get_referral(conn, hold.referral_id)
        if stored is not None:
            return offer_out(hold, stored)
    raise NotFound(f"no offer {hold.id}")


async def provider_offer_view(
    conn: asyncpg.Connection, principal: Principal, hold: hold_db.Hold
) -> OfferOut:
    """The provider's view of its own offer (the routes only providers call)."""
    view = await hold_view(conn, principal, hold)
    if not isinstance(view, OfferOut):
        raise NotFound(f"no offer {hold.id}")
    return view


def referrer_only(view: View | OfferOut) -> View:
    """The referrer's view, on a route only referrers call (a provider's view is refused)."""
    if isinstance(view, OfferOut):
        raise NotFound(f"no referral {view.referral_id}")
    return view


def summary_view(
    principal: Principal, head: ref_db.ReferralHead, needs: list[ref_db.StoredNeed]
) -> ReferralSummary:
    """A referral in a list: only for referrers (providers list their offers instead)."""
    if audience_of(principal) != "referrer":
        raise NotFound(f"no referral {head.id}")
    return referral_summary(head, needs)
