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
every role and checks the fields against the allow-lists of docs/referrals.md. They read
nothing: the use cases (``referrals.casework``, ``referrals.offers``) return the records they
are made from.
"""

from __future__ import annotations

from typing import Literal, TypeVar

import msgspec

from csomatch.api.schemas.coordination import ApprovalOut, ConsoleReferralOut
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
from csomatch.domain import REFERRING, Principal
from csomatch.errors import NotFound
from csomatch.i18n import _
from csomatch.referrals.casework import Hold, ReferralHead, ReferralRecord, StoredNeed
from csomatch.referrals.coordination import Approval, ConsoleRow
from csomatch.referrals.offers import Offer
from csomatch.referrals.sides import is_referring_side

Audience = Literal["referrer", "provider"]
View = TypeVar("View", ReferralOut, OfferSummary)


def audience_of(principal: Principal) -> Audience | None:
    """Which views of referrals a caller gets: the referrer's, the provider's, or none."""
    if principal.role in REFERRING:
        return "referrer"
    if principal.role == "provider":
        return "provider"
    return None


def referral_view(principal: Principal, record: ReferralRecord) -> ReferralOut | OfferOut:
    """A referral as this caller may see it (access already checked by the use case).

    The referrer's view (``allowed_next`` offers cancelling only to the referring side), or
    the provider's view of its own offer (its confirmed placement,
    else its newest offer; none: "not found").
    """
    stored = record.referral
    audience = audience_of(principal)
    if audience == "referrer":
        out = referral_out(stored, record.holds)
        if is_referring_side(principal, stored.head):
            return out
        # Only the referring side cancels: the others are not offered the step.
        allowed = [s for s in out.allowed_next if s != "cancelled"]
        return msgspec.structs.replace(out, allowed_next=allowed)
    if audience == "provider":
        mine = [h for h in record.holds if h.organization_id == principal.organization_id]
        shown = [h for h in mine if h.status == "confirmed"] or mine
        if shown:
            return offer_out(shown[-1], stored)
    raise NotFound(_("no referral {head_id}", head_id=stored.head.id))


def offer_view(principal: Principal, offer: Offer) -> OfferSummary | OfferOut:
    """An offer as this caller may see it.

    The referrer's summary, or the provider's view of its own organisation's offer.
    """
    hold = offer.hold
    audience = audience_of(principal)
    if audience == "referrer":
        return offer_summary(hold)
    if (
        audience == "provider"
        and hold.organization_id == principal.organization_id
        and offer.referral is not None
    ):
        return offer_out(hold, offer.referral, offer.agency)
    raise NotFound(_("no offer {hold_id}", hold_id=hold.id))


def provider_offer_view(principal: Principal, offer: Offer) -> OfferOut:
    """The provider's view of its own offer (the routes only providers call)."""
    view = offer_view(principal, offer)
    if not isinstance(view, OfferOut):
        raise NotFound(_("no offer {hold_id}", hold_id=offer.hold.id))
    return view


def referrer_offer_view(principal: Principal, hold: Hold) -> OfferSummary:
    """The referrer's view of an offer, on a route only referrers call."""
    return referrer_only(offer_view(principal, Offer(hold=hold, referral=None)))


def referrer_only(view: View | OfferOut) -> View:
    """The referrer's view, on a route only referrers call (a provider's view is refused)."""
    if isinstance(view, OfferOut):
        raise NotFound(_("no referral {referral_id}", referral_id=view.referral_id))
    return view


def summary_view(
    principal: Principal, head: ReferralHead, needs: list[StoredNeed]
) -> ReferralSummary:
    """A referral in a list: only for referrers (providers list their offers instead)."""
    if audience_of(principal) != "referrer":
        raise NotFound(_("no referral {head_id}", head_id=head.id))
    return referral_summary(head, needs)


def console_view(principal: Principal, row: ConsoleRow) -> ConsoleReferralOut:
    """An open referral on the coordinator's console: for coordinators and admins only."""
    if not principal.is_coordinating():
        raise NotFound(_("no referral {row_id}", row_id=row.id))
    return msgspec.convert(row, ConsoleReferralOut, from_attributes=True)


def approval_view(principal: Principal, approval: Approval) -> ApprovalOut:
    """A pending approval on the coordinator's console: for coordinators and admins only."""
    if not principal.is_coordinating():
        raise NotFound(_("no referral {referral_id}", referral_id=approval.referral_id))
    return msgspec.convert(approval, ApprovalOut, from_attributes=True)
