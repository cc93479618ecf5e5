"""Translate asyncpg errors into domain errors by constraint name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from csomatch.errors import Conflict, DatabaseUnavailable, InvalidInput

# constraint name -> (JSON path of the offending field, message a user can act on)
CONSTRAINT_MESSAGES: dict[str, tuple[str, str]] = {
    "capacity_counts": (
        "$.available",
        "The number of free places cannot be negative; report 0 when the service is full.",
    ),
    "capacity_within_maximum": (
        "$.available",
        "More places are reported free than the service has in total; report at most its "
        "maximum as free, or raise the maximum.",
    ),
    "organization_registration_unique": (
        "$.registration_number",
        "another organisation in this participant already has this registration number",
    ),
    "licence_valid_range": ("$.valid_to", "valid_to must not be before valid_from"),
    "licence_number_unique": ("$.number", "this organisation already has this licence"),
    # licences that live (migration 0077)
    "licence_revoked_final": ("$", "a revoked licence cannot change; add a new licence instead"),
    "licence_status_reason": ("$.reason", "a suspended or revoked licence needs a reason code"),
    "licence_evidence_ref_check": ("$.evidence_ref", "evidence_ref is 1 to 200 characters"),
    "service_location_same_org": (
        "$.location_id",
        "the location does not belong to this organisation",
    ),
    "service_child_only_serves_children": (
        "$.child_only",
        "a child-only service serves children: set serves_unaccompanied_minors or"
        " accepts_accompanied_children",
    ),
    "service_taxonomy_code_fkey": ("$.code", "invalid taxonomy code"),
    "location_area_code_fkey": ("$.area", "unknown area code; look it up at /api/v1/areas"),
    "funding_source_external_id": ("$.external_id", "this funding record already exists"),
    "funding_period": ("$.period_end", "period_end must not be before period_start"),
    "demand_signal_language": (
        "$.language",
        "a language is recorded only on a language_not_served signal, as an ISO 639 code",
    ),
    "agency_name_unique": ("$.name", "this jurisdiction already has an agency of this name"),
    "agency_jurisdiction_fkey": ("$.jurisdiction", "unknown participant code"),
    "api_token_agency_id_fkey": ("$.agency_id", "no such agency"),
    "service_duty_phone_e164": ("$.duty_phone", "give the duty phone as an E.164 number"),
    "track_record_counts": ("$.score", "feedback is a score from 1 to 5"),
    # referrals (migration 0010)
    "referral_transition": ("$.to", "the referral's lifecycle does not allow this change"),
    "referral_consent_required": (
        "$.consent",
        "a referral is submitted only with consent or an approved consent override",
    ),
    "referral_override_second_person": (
        "$.consent_override",
        "a consent override is approved by a second person, not the one who requested it",
    ),
    "referral_hold_one_open": ("$.service_id", "this referral already has an open offer"),
    # a care plan (migration 0070): one open offer per need
    "referral_hold_one_open_per_need": (
        "$.service_id",
        "this need of the referral already has an open offer",
    ),
    "referral_hold_need_fkey": ("$.need", "this referral has no such need"),
    "hold_needs_capacity": ("$.service_id", "the service has reported no capacity"),
    # holds (migration 0062)
    "hold_exceeds_free": (
        "$.places",
        "Fewer places are free at this service now than this hold asks for; hold fewer "
        "places or choose another service.",
    ),
    "hold_at_risk": (
        "$",
        "This offer is at risk: its provider now reports fewer free places than are held, "
        "and this offer is beyond them. It can be accepted or confirmed once places free "
        "up; until then ask the provider, or let it be declined and choose another service.",
    ),
    "hold_confirm_in_time": (
        "$.to",
        "Only an offer the provider accepted can be confirmed, before its confirmation "
        "deadline; this one cannot be any more. Hold a place again.",
    ),
    "hold_accepted_has_deadline": (
        "$",
        "An accepted offer needs a confirmation deadline; accept it through the offers API.",
    ),
    # a transnational referral's record (migrations 0074, 0075)
    "trm_only_transnational": ("$", "only a transnational referral has a transnational record"),
    "trm_sending_agency_side": (
        "$.sending_agency_id",
        "the sending focal point is an agency record of the referring participant",
    ),
    "trm_receiving_agency_side": (
        "$.receiving_agency_id",
        "the receiving focal point is an agency record of the receiving participant",
    ),
    "trm_return_area_side": (
        "$.return_area",
        "the return area is a municipality of the receiving participant",
    ),
    "referral_transnational_sending_agency_id_fkey": ("$.sending_agency_id", "no such agency"),
    "referral_transnational_receiving_agency_id_fkey": ("$.receiving_agency_id", "no such agency"),
    "referral_transnational_return_area_fkey": (
        "$.return_area",
        "unknown area code; look it up at /api/v1/areas",
    ),
    "referral_trm_open": (
        "$.to",
        "a transnational referral stays open until each of its follow-ups is done or cancelled",
    ),
}

CONNECTION_ERRORS = (
    OSError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
    # A connection the server terminated can be left mid-operation on the client side; the
    # pool discards it when it is released, and a retry gets a new one.
    asyncpg.InternalClientError,
)


@asynccontextmanager
async def translated() -> AsyncIterator[None]:
    """Raise domain errors instead of asyncpg integrity and connection errors."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        name = getattr(exc, "constraint_name", None) or ""
        field, message = CONSTRAINT_MESSAGES.get(name, ("$", "the change breaks a data rule"))
        if isinstance(exc, asyncpg.UniqueViolationError):
            raise Conflict(message, field=field) from exc
        raise InvalidInput(message, field=field) from exc
    except CONNECTION_ERRORS as exc:
        raise DatabaseUnavailable("the database is not reachable right now; retry shortly") from exc
