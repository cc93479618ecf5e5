"""What each role sees of a referral and its offers (field allow-lists).

Officers and coordinators see the referral they may steer, with its offers. A provider sees
an offer to its own organisation with the needs it must judge eligibility on, and never
nationality, excluded or preferred areas, the minimum distance, consent details or other
providers' offers.
"""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from csomatch.api.schemas.coordination import ConsoleReferralOut
from csomatch.api.schemas.registry import Out, Page
from csomatch.matching.suggest import NeedResult, Plan
from csomatch.referrals.casework import (
    Hold,
    ReferralHead,
    StoredNeed,
    StoredProfile,
    StoredReferral,
)
from csomatch.referrals.handover import AgencyContact, placement_active
from csomatch.referrals.lifecycle import allowed_next


class NeedOut(Out, frozen=True, rename={"taxonomy_code": "code"}):
    """One need: a taxonomy code, `must` or `should`."""

    #: Sent as ``code``.
    taxonomy_code: str
    priority: str


class NeedStateOut(Out, frozen=True, rename={"taxonomy_code": "code", "idx": "index"}):
    """One need as its referrer sees it: code, priority, and its own state.

    A closed need's outcome (null when its referral was cancelled), an unmet need's reason.
    """

    #: Sent as ``index``: the need's position in the referral, from 0.
    idx: int
    #: Sent as ``code``.
    taxonomy_code: str
    priority: str
    state: str
    outcome: str | None
    unmet_reason: str | None


class ConsentOut(Out, frozen=True):
    """The consent as recorded."""

    given: bool
    method: str | None
    scope: list[str]
    at: dt.datetime | None


class OverrideOut(Out, frozen=True):
    """A consent override: requested for a reason, approved (or not yet) by a coordinator."""

    reason: str
    scope: list[str]
    approved: bool
    approved_at: dt.datetime | None


class ChildSignOffOut(Out, frozen=True):
    """A child's placement signed off by a second person (who is in the audit log)."""

    referral_id: uuid.UUID
    state: str
    signed_off_at: dt.datetime


class ProfileOut(Out, frozen=True):
    """The person's situation as far as the services need it (never identity)."""

    age_band: str
    age_uncertain: bool
    gender: str
    languages: list[str]
    interpreter_needed: bool
    preferred_areas: list[str]
    excluded_areas: list[str]
    min_distance_km: int
    risk_level: str
    accessibility: list[str]
    group_adults: int
    group_children_age_bands: list[str]
    nationality: str | None
    #: A child with a parent or carer placed with them (counted in group_adults).
    accompanied: bool
    #: A child's referral: appointed, requested or none (null for an adult).
    guardian_status: str | None
    consent: ConsentOut | None
    consent_override: OverrideOut | None
    #: When a second person signed off the child's placement (null: not yet, or an adult).
    child_signed_off_at: dt.datetime | None


class OfferSummary(Out, frozen=True, rename={"need_idx": "need"}):
    """An offer (a hold on a service's capacity) as the referrer and coordinator see it."""

    id: uuid.UUID
    referral_id: uuid.UUID
    #: Sent as ``need``: the index of the need the offer is for.
    need_idx: int
    service_id: uuid.UUID
    organization_id: uuid.UUID
    places: int
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    answered_at: dt.datetime | None
    decline_reason: str | None
    answered_by_role: str | None
    answered_by_agency: str | None
    escalated_at: dt.datetime | None
    #: An accepted offer's deadline for the referrer's confirmation.
    confirm_by: dt.datetime | None
    #: The provider now reports fewer free places than are held, and this offer is beyond them.
    at_risk: bool


class ReferralSummary(Out, frozen=True):
    """A referral in a list: its facts and state, no profile."""

    id: uuid.UUID
    jurisdiction: str
    receiving_participant: str
    transnational: bool
    agency: str | None
    state: str
    outcome: str | None
    urgency: str
    needed_by: dt.datetime | None
    current_area: str
    needs: list[NeedStateOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class ReferralOut(ReferralSummary, frozen=True):
    """A referral with its profile, offers, allowed next states and the next suggestion."""

    profile: ProfileOut | None
    offers: list[OfferSummary]
    allowed_next: list[str]
    #: The matcher's best next service after a declined or expired offer.
    next_service_id: uuid.UUID | None
    submitted_at: dt.datetime | None
    closed_at: dt.datetime | None
    version: int
    #: Why a cancelled referral was cancelled (a code).
    cancel_reason: str | None
    #: Why the receiving side of a transnational referral last declined it (a code), and when.
    receiving_decline_reason: str | None
    receiving_declined_at: dt.datetime | None


class ReferralList(Out, frozen=True):
    """A page of referrals."""

    items_page: Page
    referrals: list[ReferralSummary]


class OfferOut(Out, frozen=True):
    """An offer as its provider sees it: the needs to judge, never identity or excluded areas."""

    id: uuid.UUID
    referral_id: uuid.UUID
    #: The index of the need this offer is for.
    need: int
    service_id: uuid.UUID
    places: int
    status: str
    created_at: dt.datetime
    expires_at: dt.datetime
    answered_at: dt.datetime | None
    decline_reason: str | None
    confirm_by: dt.datetime | None
    at_risk: bool
    urgency: str
    needed_by: dt.datetime | None
    current_area: str
    transnational: bool
    needs: list[NeedOut]
    age_band: str | None
    age_uncertain: bool | None
    #: A child with a parent or carer to be placed together.
    accompanied: bool | None
    gender: str | None
    languages: list[str]
    interpreter_needed: bool | None
    risk_level: str | None
    accessibility: list[str]
    group_adults: int | None
    group_children_age_bands: list[str]
    #: The referral's state and outcome once this offer is the placement (confirmed); null
    #: before, so that a provider never learns what became of a referral placed elsewhere.
    referral_state: str | None
    outcome: str | None
    #: Who referred, while the placement is active (confirmed or in service): the agency's
    #: name and, when the referrer's token names an agency record, its duty phone. Null
    #: otherwise. Never a contact of the person.
    referring_agency: str | None = None
    referring_agency_duty_phone: str | None = None


class OfferList(Out, frozen=True):
    """A provider's offers."""

    offers: list[OfferOut]


class EscalatedList(Out, frozen=True):
    """Offers that expired unanswered, and referrals stuck before any offer past their limit."""

    offers: list[OfferSummary]
    referrals: list[ConsoleReferralOut]


class SuggestionsForReferral(Out, frozen=True):
    """The matcher's suggestions for a referral (services already tried left out)."""

    referral_id: uuid.UUID
    state: str
    needs: list[NeedResult]
    plan: Plan
    cost_unit: str


def _needs(needs: list[StoredNeed]) -> list[NeedOut]:
    return msgspec.convert(needs, list[NeedOut], from_attributes=True)


def _need_states(needs: list[StoredNeed]) -> list[NeedStateOut]:
    return msgspec.convert(needs, list[NeedStateOut], from_attributes=True)


def offer_summary(h: Hold) -> OfferSummary:
    """The referrer's view of an offer."""
    return msgspec.convert(h, OfferSummary, from_attributes=True)


def _profile(p: StoredProfile) -> ProfileOut:
    consent = (
        None
        if p.consent_given is None
        else ConsentOut(
            given=p.consent_given, method=p.consent_method, scope=p.consent_scope, at=p.consent_at
        )
    )
    override = (
        None
        if p.override_reason is None
        else OverrideOut(
            reason=p.override_reason,
            scope=p.override_scope,
            approved=p.override_approved_at is not None,
            approved_at=p.override_approved_at,
        )
    )
    return ProfileOut(
        age_band=p.age_band, age_uncertain=p.age_uncertain, gender=p.gender,
        languages=p.languages, interpreter_needed=p.interpreter_needed,
        preferred_areas=p.preferred_areas, excluded_areas=p.excluded_areas,
        min_distance_km=p.min_distance_km, risk_level=p.risk_level,
        accessibility=p.accessibility, group_adults=p.group_adults,
        group_children_age_bands=p.group_children_age_bands, nationality=p.nationality,
        accompanied=p.accompanied, guardian_status=p.guardian_status,
        consent=consent, consent_override=override, child_signed_off_at=p.child_sign_off_at,
    )  # fmt: skip


def referral_summary(h: ReferralHead, needs: list[StoredNeed]) -> ReferralSummary:
    """A referral in a list."""
    return ReferralSummary(
        id=h.id, jurisdiction=h.jurisdiction, receiving_participant=h.receiving_participant,
        transnational=h.transnational, agency=h.agency, state=h.state, outcome=h.outcome,
        urgency=h.urgency, needed_by=h.needed_by, current_area=h.current_area,
        needs=_need_states(needs), created_at=h.created_at, updated_at=h.updated_at,
    )  # fmt: skip


def referral_out(r: StoredReferral, holds: list[Hold]) -> ReferralOut:
    """The referrer's and coordinator's view of a referral."""
    h = r.head
    return ReferralOut(
        id=h.id, jurisdiction=h.jurisdiction, receiving_participant=h.receiving_participant,
        transnational=h.transnational, agency=h.agency, state=h.state, outcome=h.outcome,
        urgency=h.urgency, needed_by=h.needed_by, current_area=h.current_area,
        needs=_need_states(r.needs), created_at=h.created_at, updated_at=h.updated_at,
        profile=None if r.profile is None else _profile(r.profile),
        offers=[offer_summary(x) for x in holds], allowed_next=list(allowed_next(h.state)),
        next_service_id=h.next_service_id, submitted_at=h.submitted_at,
        closed_at=h.closed_at, version=h.version, cancel_reason=h.cancel_reason,
        receiving_decline_reason=h.receiving_decline_reason,
        receiving_declined_at=h.receiving_declined_at,
    )  # fmt: skip


def offer_out(hold: Hold, r: StoredReferral, agency: AgencyContact | None = None) -> OfferOut:
    """The provider's view of one of its offers (``agency``: the referring agency's record)."""
    h, p = r.head, r.profile
    placed = hold.status == "confirmed"
    active = placement_active(r, hold)
    return OfferOut(
        id=hold.id, referral_id=hold.referral_id, need=hold.need_idx, service_id=hold.service_id,
        places=hold.places, status=hold.status, created_at=hold.created_at,
        expires_at=hold.expires_at, answered_at=hold.answered_at,
        decline_reason=hold.decline_reason, confirm_by=hold.confirm_by, at_risk=hold.at_risk,
        urgency=h.urgency, needed_by=h.needed_by,
        current_area=h.current_area, transnational=h.transnational, needs=_needs(r.needs),
        age_band=p.age_band if p else None, age_uncertain=p.age_uncertain if p else None,
        accompanied=p.accompanied if p else None, gender=p.gender if p else None,
        languages=p.languages if p else [],
        interpreter_needed=p.interpreter_needed if p else None,
        risk_level=p.risk_level if p else None,
        accessibility=p.accessibility if p else [], group_adults=p.group_adults if p else None,
        group_children_age_bands=p.group_children_age_bands if p else [],
        referral_state=h.state if placed else None, outcome=h.outcome if placed else None,
        referring_agency=(agency.name if agency else h.agency) if active else None,
        referring_agency_duty_phone=agency.duty_phone if agency and active else None,
    )  # fmt: skip


class QuarterRecordOut(Out, frozen=True):
    """One closed quarter of an acceptance record; the figures are null when too few."""

    quarter: str
    starts: dt.date
    ends: dt.date
    too_few_offers: bool
    offers: int | None
    counted_offers: int | None
    accepted: int | None
    acceptance_rate: float | None
    outcomes: dict[str, int] | None


class AcceptanceRecordOut(Out, frozen=True):
    """A provider organisation's acceptance record and the rule it is counted by."""

    organization_id: uuid.UUID
    min_offers_per_quarter: int
    counted_against: list[str]
    not_counted: list[str]
    quarters: list[QuarterRecordOut]
