"""The words of csomatch, each declared once: participants, roles, eligibility, codes.

Each closed set is a ``Literal`` (what mypy and msgspec check) and a tuple of its values in
order (what loops, argparse choices, SQL allow-lists and tests read), made from the
``Literal`` so that the two cannot drift. Regular expressions over a set (query parameters
and fields whose problem text names the pattern) are built from the tuple too.

The database keeps its own CHECK lists (a migration cannot import Python); a test compares
them with these tuples.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Final, Literal, get_args

from msgspec import Meta


def one_of_pattern(words: Iterable[str]) -> str:
    r"""A regular expression that matches one of ``words``, whole: ``^(a|b|c)$``.

    Only what is special outside a character class is escaped (``60+`` becomes ``60\+``,
    ``0-5`` stays), so that the pattern reads as it always did in the problem texts that
    quote it.
    """
    return "^(" + "|".join(re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", w) for w in words) + ")$"


# --- Who and where -------------------------------------------------------------------------

ParticipantCode = Literal["AL", "BA", "XK", "ME", "MK", "RS"]
#: The six MARRI participants, in the order the region lists them.
PARTICIPANTS: Final[tuple[ParticipantCode, ...]] = get_args(ParticipantCode)
#: A region-wide token's jurisdiction: every participant.
REGION: Final = "MARRI"
Jurisdiction = Literal["AL", "BA", "XK", "ME", "MK", "RS", "MARRI"]
#: Where a token may be scoped: one participant, or the whole region.
JURISDICTIONS: Final[tuple[Jurisdiction, ...]] = get_args(Jurisdiction)

#: One participant code, as a regular-expression group: ``(AL|BA|XK|ME|MK|RS)``.
PARTICIPANT_GROUP: Final = "(" + "|".join(PARTICIPANTS) + ")"
#: A participant code, whole.
PARTICIPANT_PATTERN: Final = one_of_pattern(PARTICIPANTS)
#: A gazetteer area code: its participant, a dash, digits (``RS-792680``).
AREA_CODE_PATTERN: Final = "^" + PARTICIPANT_GROUP + "-[0-9]+$"

Role = Literal["officer", "provider", "funder", "coordinator", "admin"]
#: Every role a token may have.
ROLES: Final[tuple[Role, ...]] = get_args(Role)
#: Roles that oversee a jurisdiction: its referrals, organisations, capacity, audit trail.
COORDINATING: Final[tuple[Role, ...]] = ("coordinator", "admin")
#: Roles that create and steer referrals.
REFERRING: Final[tuple[Role, ...]] = ("officer", *COORDINATING)

OrgKind = Literal["cso", "state", "io"]
#: Kinds of organisation.
ORG_KINDS: Final[tuple[OrgKind, ...]] = get_args(OrgKind)

# --- Eligibility ---------------------------------------------------------------------------

Gender = Literal["female", "male", "other"]
#: Placement genders.
GENDERS: Final[tuple[Gender, ...]] = get_args(Gender)
AgeBand = Literal["0-5", "6-13", "14-17", "18-24", "25-59", "60+"]
#: Age bands, youngest first (never a date of birth).
AGE_BANDS: Final[tuple[AgeBand, ...]] = get_args(AgeBand)
ChildAgeBand = Literal["0-5", "6-13", "14-17"]
#: The age bands of a child.
CHILD_AGE_BANDS: Final[frozenset[str]] = frozenset(get_args(ChildAgeBand))
SecurityLevel = Literal["standard", "elevated", "high"]
#: How secure a service is, least first.
SECURITY_LEVELS: Final[tuple[SecurityLevel, ...]] = get_args(SecurityLevel)
Accessibility = Literal[
    "wheelchair", "step_free", "accessible_toilet", "hearing_loop", "sign_language"
]
#: Accessibility features of a site or needs of a person.
ACCESSIBILITY: Final[tuple[Accessibility, ...]] = get_args(Accessibility)

# --- Capacity ------------------------------------------------------------------------------

CapacityUnit = Literal["bed", "place", "session_per_week", "hour_per_week", "case"]
#: What a capacity counts.
CAPACITY_UNITS: Final[tuple[CapacityUnit, ...]] = get_args(CapacityUnit)
#: A capacity unit, whole (fields whose problem text names the pattern).
CAPACITY_UNIT_PATTERN: Final = one_of_pattern(CAPACITY_UNITS)
Freshness = Literal["fresh", "aging", "stale"]

# --- Funding -------------------------------------------------------------------------------

FundingStatus = Literal["planned", "committed", "disbursed", "cancelled"]
#: States of a line of the funding ledger.
FUNDING_STATUSES: Final[tuple[FundingStatus, ...]] = get_args(FundingStatus)

# --- Services ------------------------------------------------------------------------------

#: A service code of the taxonomy: group, dot, service (``ACC.EMERG``).
TAXONOMY_CODE_PATTERN: Final = r"^[A-Z]+\.[A-Z]+$"
#: Services whose eligibility or purpose depends on nationality (return to a country of
#: origin, identity and travel documents). Nationality is accepted only with one of them.
NATIONALITY_CODES: Final[frozenset[str]] = frozenset({"RET.VOLUNTARY", "DOC.ID"})

# --- Referrals -----------------------------------------------------------------------------

Urgency = Literal["emergency", "urgent", "planned"]
#: Urgencies, in the order the lifecycle cares about.
URGENCIES: Final[tuple[Urgency, ...]] = get_args(Urgency)
Priority = Literal["must", "should"]
RiskLevel = Literal["low", "medium", "high"]
ConsentMethod = Literal["verbal", "written", "electronic", "guardian"]
ConsentScope = Literal["referral", "data_sharing", "cross_border"]
OverrideReason = Literal["child_best_interest", "lacks_capacity", "imminent_danger"]
#: Whether a child (a referral whose age band is under 18, or whose age is uncertain) has a
#: guardian: appointed (who may consent), requested from the guardianship authority, or none.
GuardianStatus = Literal["appointed", "requested", "none"]
GUARDIAN_STATUSES: Final[tuple[GuardianStatus, ...]] = get_args(GuardianStatus)
DeclineReason = Literal["no_capacity", "not_eligible", "safety", "person_declined", "other"]
#: Why an offer was declined (structured, never free text).
DECLINE_REASONS: Final[tuple[DeclineReason, ...]] = get_args(DeclineReason)
#: Declines that say nothing against the provider: they never lower its acceptance record.
EXCUSED_DECLINES: Final[frozenset[DeclineReason]] = frozenset(
    {"person_declined", "safety", "not_eligible"}
)
#: How an offer ended, as its provider's acceptance record counts it: accepted, expired
#: unanswered, or declined with one of the decline reasons. (An offer accepted and then left
#: to expire unconfirmed stays ``accepted``.)
OfferOutcome = Literal[
    "accepted", "expired_unanswered", "no_capacity", "not_eligible", "safety",
    "person_declined", "other",
]  # fmt: skip
OFFER_OUTCOMES: Final[tuple[OfferOutcome, ...]] = get_args(OfferOutcome)
Outcome = Literal["placed", "person_declined", "no_capacity", "transferred", "withdrawn"]
#: How a referral ends.
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)
NeedState = Literal[
    "suggested",
    "offered",
    "accepted",
    "declined",
    "expired",
    "confirmed",
    "in_service",
    "closed",
    "unmet",
]
#: The states of one need of a referral (its own offer and placement), in the order of its
#: life; ``closed`` and ``unmet`` are final.
NEED_STATES: Final[tuple[NeedState, ...]] = get_args(NeedState)
#: A need's states once it is finished.
NEED_FINAL: Final[frozenset[str]] = frozenset({"closed", "unmet"})
UnmetReason = Literal[
    "no_provider", "no_capacity", "not_eligible", "person_declined", "not_pursued"
]
#: Why a need was left unmet: nobody offers it, no place, no eligible service, the person
#: declined, or not pursued (the referral closed with the person placed for other needs).
UNMET_REASONS: Final[tuple[UnmetReason, ...]] = get_args(UnmetReason)
CancelReason = Literal[
    "person_withdrew", "placed_elsewhere", "duplicate", "no_longer_needed", "safety"
]
#: Why a referral was cancelled (a code, never free text): the person withdrew consent or
#: stopped taking part, was placed outside this referral, the referral duplicates another,
#: the help is no longer needed, or going on would endanger the person.
CANCEL_REASONS: Final[tuple[CancelReason, ...]] = get_args(CancelReason)

# --- Transnational referrals (TRM) -----------------------------------------------------------

ConsentItem = Literal["referral", "data_sharing", "cross_border"]
#: What a transnational referral records consent for, item by item.
CONSENT_ITEMS: Final[tuple[ConsentItem, ...]] = get_args(ConsentItem)
TrmStepCode = Literal[
    "risk_assessment", "documents", "escort", "arrival",
    "follow_up_3m", "follow_up_6m", "follow_up_12m",
]  # fmt: skip
#: The timeline of a transnational referral, in the order it is lived: the pre-return risk
#: assessment, documents, escort, arrival, and follow-up at 3, 6 and 12 months.
TRM_STEPS: Final[tuple[TrmStepCode, ...]] = get_args(TrmStepCode)
#: The follow-up steps: a transnational referral stays open until each is done or cancelled.
TRM_FOLLOW_UPS: Final[frozenset[str]] = frozenset({"follow_up_3m", "follow_up_6m", "follow_up_12m"})
TrmStepStatus = Literal["planned", "done", "cancelled"]
TRM_STEP_STATUSES: Final[tuple[TrmStepStatus, ...]] = get_args(TrmStepStatus)
# --- Licences ------------------------------------------------------------------------------

LicenceStatus = Literal["active", "suspended", "revoked"]
#: What the licensing authority last decided: in force, suspended (may be reinstated) or
#: revoked (final; a new licence is added instead).
LICENCE_STATUSES: Final[tuple[LicenceStatus, ...]] = get_args(LicenceStatus)
LicenceReason = Literal[
    "inspection_failed", "standards_not_met", "authority_request", "closed", "other"
]
#: Why a licence was suspended or revoked (a code, never free text).
LICENCE_REASONS: Final[tuple[LicenceReason, ...]] = get_args(LicenceReason)
LicenceState = Literal["valid", "expiring", "expired", "suspended", "revoked", "not_yet_valid"]
#: A licence as it stands on a day: its status, and its dates against that day (``expiring``:
#: it ends within :data:`LICENCE_EXPIRING_DAYS` days).
LICENCE_STATES: Final[tuple[LicenceState, ...]] = get_args(LicenceState)
#: A licence ending within this many days is ``expiring`` (the first reminder goes out then).
LICENCE_EXPIRING_DAYS: Final = 90
LicenceReminder = Literal["ninety_days", "thirty_days", "seven_days", "expired"]
#: The reminders sent about a licence's end, each once per validity period.
LICENCE_REMINDERS: Final[tuple[LicenceReminder, ...]] = get_args(LicenceReminder)

# --- Constrained values --------------------------------------------------------------------

Count = Annotated[int, Meta(ge=0)]
GroupSize = Annotated[int, Meta(ge=1, le=100)]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
TaxonomyCode = Annotated[str, Meta(pattern=TAXONOMY_CODE_PATTERN)]
AreaCode = Annotated[str, Meta(pattern=AREA_CODE_PATTERN)]
#: A participant code checked by its pattern rather than as an enum (inputs whose problem
#: text names the pattern); :data:`ParticipantCode` is the same set.
ParticipantPattern = Annotated[str, Meta(pattern=PARTICIPANT_PATTERN)]
