"""What an officer sends to create a referral: the matcher's needs profile, and a little more.

``ReferralIn`` extends :class:`csomatch.matching.profile.NeedsProfile` (whose fields it does
not repeat) with what a referral adds: when the help is needed by, preferred areas,
accessibility needs, consent or a consent override, and nationality (only for services that
need it); the receiving participant of a transnational referral is a profile field, as the
matcher reads it. Unknown fields are rejected; there is no field for a name, a birth date, a
document, a contact, an address, an identification status or free text about the person. A
child's referral also says whether the child is accompanied (``accompanied``, from the needs
profile) and whether a guardian is appointed (``guardian_status``); its consent is the
guardian's, or an approved ``child_best_interest`` override.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from csomatch.domain import (
    Accessibility,
    AreaCode,
    CancelReason,
    ConsentMethod,
    ConsentScope,
    CountryCode,
    DeclineReason,
    GuardianStatus,
    Outcome,
    OverrideReason,
    UnmetReason,
)
from csomatch.matching.profile import NeedsProfile

ScopeList = Annotated[list[ConsentScope], Meta(min_length=1, max_length=3)]


class _In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of referral inputs: unknown fields are rejected, naming the field."""


class Consent(_In, frozen=True, kw_only=True):
    """The person's informed consent: given or not, how, to what, and when."""

    given: bool
    method: ConsentMethod
    scope: ScopeList
    at: dt.datetime


class ConsentOverride(_In, frozen=True, kw_only=True):
    """A request to proceed without consent; a coordinator (a second person) must approve."""

    reason: OverrideReason
    scope: ScopeList


class ReferralIn(NeedsProfile, frozen=True, kw_only=True):
    """A new referral: the needs profile plus what only a referral holds."""

    needed_by: dt.datetime | None = None
    preferred_areas: Annotated[list[AreaCode], Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )
    accessibility: Annotated[list[Accessibility], Meta(max_length=5)] = msgspec.field(
        default_factory=list
    )
    consent: Consent | None = None
    consent_override: ConsentOverride | None = None
    #: ISO 3166-1 alpha-2 (or XK), checked against pycountry's list.
    nationality: CountryCode | None = None
    #: A child's referral (under 18, or age uncertain) only, and required there: whether a
    #: guardian is appointed, requested or not there.
    guardian_status: GuardianStatus | None = None


class HoldIn(_In, frozen=True, kw_only=True):
    """Hold places of a service for a referral (an offer to its provider)."""

    service_id: uuid.UUID
    #: Places to hold; by default the whole group for accommodation (adults and children
    #: are placed together), one place for any other service.
    places: Annotated[int, Meta(ge=1, le=100)] | None = None
    #: The need (its index) the offer is for; by default the first need of the service's
    #: code without an open offer.
    need: Annotated[int, Meta(ge=0, le=19)] | None = None


class TransitionIn(_In, frozen=True, kw_only=True):
    """Move a referral, or one of its needs (``need``), to another state.

    Closing names an outcome; cancelling (the whole referral) and leaving a need unmet name a
    reason code.
    """

    to: Literal["submitted", "confirmed", "in_service", "closed", "cancelled", "unmet"]
    outcome: Outcome | None = None
    need: Annotated[int, Meta(ge=0, le=19)] | None = None
    reason: CancelReason | UnmetReason | None = None


class DeclineIn(_In, frozen=True, kw_only=True):
    """Decline an offer with a structured reason."""

    reason: DeclineReason
