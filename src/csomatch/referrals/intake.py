"""Creating and submitting referrals: the minimum data, checked; consent or an approved override."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import asyncpg

from csomatch.db import areas as area_db
from csomatch.db import referrals as ref_db
from csomatch.db.candidates import area_points
from csomatch.db.signals import NewSignal, record_signals
from csomatch.domain import NATIONALITY_CODES, Principal, serving_participant
from csomatch.errors import Conflict, Forbidden, InvalidInput
from csomatch.i18n import _
from csomatch.matching.unmet import needed_language, population_group
from csomatch.referrals import children, lifecycle, transnational
from csomatch.referrals.access import audit, visible_head
from csomatch.referrals.model import ReferralIn

#: Tolerance for the clock of the officer's device: a consent time or ``needed_by`` up to
#: this far on the wrong side of the server's clock is accepted, further is a mistake.
CLOCK_SKEW = dt.timedelta(minutes=5)
#: Consent older than this is not the person's informed consent to this referral: ask again.
CONSENT_MAX_AGE = dt.timedelta(days=30)
#: ``needed_by`` at most this far ahead (366 days: a date one year from today, leap or not).
NEEDED_BY_HORIZON = dt.timedelta(days=366)


async def _check_codes_and_areas(conn: asyncpg.Connection, data: ReferralIn) -> None:
    for i, need in enumerate(data.needs):
        if not await area_db.is_service_code(conn, need.code):
            raise InvalidInput(
                _("unknown taxonomy code {code}", code=repr(need.code)), field=f"$.needs[{i}].code"
            )
    named = [
        ("$.current_area", data.current_area),
        *((f"$.preferred_areas[{i}]", a) for i, a in enumerate(data.preferred_areas)),
        *((f"$.excluded_areas[{i}]", a) for i, a in enumerate(data.excluded_areas)),
    ]
    known = await area_points(conn, [code for _, code in named])
    for field, code in named:
        if code not in known:
            raise InvalidInput(
                _("unknown area code {code}; look it up at /api/v1/areas", code=repr(code)),
                field=field,
            )


def _check_jurisdiction(principal: Principal, data: ReferralIn) -> str:
    """The referring participant: the token's, which the body must repeat (MARRI: any)."""
    if not principal.covers(data.jurisdiction):
        raise InvalidInput(
            _(
                "your token refers from {jurisdiction}, not {asked}; a "
                "transnational referral names the other participant in "
                "receiving_participant",
                jurisdiction=principal.jurisdiction,
                asked=data.jurisdiction,
            ),
            field="$.jurisdiction",
        )
    return data.jurisdiction


def check_consent_covers(
    *,
    transnational: bool,
    consent_given: bool | None,
    consent_scope: list[str],
    override_reason: str | None,
    override_scope: list[str],
) -> None:
    """Consent (or the override) covers a referral, and the crossing of a transnational one."""
    if consent_given:
        if "referral" not in consent_scope:
            raise InvalidInput(
                _("the consent scope must include 'referral'"), field="$.consent.scope"
            )
        if transnational and "cross_border" not in consent_scope:
            raise InvalidInput(
                _("a transnational referral needs consent whose scope includes 'cross_border'"),
                field="$.consent.scope",
            )
    elif override_reason is not None:
        if "referral" not in override_scope:
            raise InvalidInput(
                _("the override scope must include 'referral'"), field="$.consent_override.scope"
            )
        if transnational and "cross_border" not in override_scope:
            raise InvalidInput(
                _("a transnational referral needs an override whose scope includes 'cross_border'"),
                field="$.consent_override.scope",
            )


def _check_fields(data: ReferralIn, jurisdiction: str, now: dt.datetime) -> str:
    """Rules the schema cannot express; return the receiving participant."""
    codes = {n.code for n in data.needs}
    if data.nationality is not None and not codes & NATIONALITY_CODES:
        raise InvalidInput(
            _(
                "nationality is recorded only when a requested service needs it ({codes}); "
                "leave it out",
                codes=", ".join(sorted(NATIONALITY_CODES)),
            ),
            field="$.nationality",
        )
    children.check_new_referral(data)
    if data.consent is not None:
        _check_consent_time(data.consent.at, now)
    if data.needed_by is not None:
        _check_needed_by(data.needed_by, now)
    receiving = data.receiving_participant or jurisdiction
    check_consent_covers(
        transnational=receiving != jurisdiction,
        consent_given=data.consent.given if data.consent else None,
        consent_scope=list(data.consent.scope) if data.consent else [],
        override_reason=data.consent_override.reason if data.consent_override else None,
        override_scope=list(data.consent_override.scope) if data.consent_override else [],
    )
    return receiving


def _with_zone(at: dt.datetime, field: str) -> dt.datetime:
    if at.tzinfo is None:
        raise InvalidInput(
            _("give the time with its zone, e.g. 2026-12-01T02:00:00Z or +01:00"), field=field
        )
    return at


def _check_consent_time(at: dt.datetime, now: dt.datetime) -> None:
    """Consent was given within the last 30 days, and not in the future (5 minutes' skew)."""
    at = _with_zone(at, "$.consent.at")
    if at > now + CLOCK_SKEW:
        raise InvalidInput(
            _(
                "consent cannot be given in the future: send the time the person "
                "consented (check the device's clock and time zone)"
            ),
            field="$.consent.at",
        )
    if at < now - CONSENT_MAX_AGE:
        raise InvalidInput(
            _(
                "consent given more than {days} days ago does not cover a new "
                "referral: ask the person again and send the time they consented",
                days=CONSENT_MAX_AGE.days,
            ),
            field="$.consent.at",
        )


def _check_needed_by(needed_by: dt.datetime, now: dt.datetime) -> None:
    """Help is needed from now (5 minutes' skew) to one year ahead."""
    needed_by = _with_zone(needed_by, "$.needed_by")
    if needed_by < now - CLOCK_SKEW:
        raise InvalidInput(
            _(
                "needed_by is in the past: send a time from now on, or leave it out "
                "when help is needed now"
            ),
            field="$.needed_by",
        )
    if needed_by > now + NEEDED_BY_HORIZON:
        raise InvalidInput(
            _("needed_by is more than a year ahead: send a time within the next year"),
            field="$.needed_by",
        )


def _profile(data: ReferralIn, principal: Principal) -> ref_db.StoredProfile:
    consent, override = data.consent, data.consent_override
    return ref_db.StoredProfile(
        age_band=data.age_band,
        age_uncertain=data.age_uncertain,
        gender=data.gender,
        languages=list(data.languages),
        interpreter_needed=data.interpreter_needed,
        preferred_areas=list(data.preferred_areas),
        excluded_areas=list(data.excluded_areas),
        min_distance_km=data.min_distance_km,
        risk_level=data.risk_level,
        accessibility=list(data.accessibility),
        group_adults=data.group_adults,
        group_children_age_bands=list(data.group_children_age_bands),
        nationality=data.nationality,
        accompanied=data.accompanied,
        guardian_status=data.guardian_status,
        consent_given=None if consent is None else consent.given,
        consent_method=None if consent is None else consent.method,
        consent_scope=[] if consent is None else list(consent.scope),
        consent_at=None if consent is None else consent.at,
        override_reason=None if override is None else override.reason,
        override_scope=[] if override is None else list(override.scope),
        override_requested_by=None if override is None else principal.id,
        override_approved_by=None,
        override_approved_at=None,
    )


async def create_referral(
    conn: asyncpg.Connection, principal: Principal, data: ReferralIn, *, now: dt.datetime
) -> uuid.UUID:
    """Check a new referral and store it as a draft; return its id."""
    jurisdiction = _check_jurisdiction(principal, data)
    receiving = _check_fields(data, jurisdiction, now)
    await _check_codes_and_areas(conn, data)
    referral_id = uuid.uuid4()
    await ref_db.insert_referral(
        conn,
        ref_db.NewReferral(
            id=referral_id,
            jurisdiction=jurisdiction,
            receiving_participant=receiving,
            agency=principal.agency,
            created_by=principal.id,
            creator_organization_id=principal.organization_id,
            urgency=data.urgency,
            needed_by=data.needed_by,
            current_area=data.current_area,
            needs=[(n.code, n.priority) for n in data.needs],
            profile=_profile(data, principal),
        ),
    )
    head = await ref_db.get_head(conn, referral_id)
    assert head is not None
    if data.return_area is not None:
        await transnational.start_with_return_area(conn, principal, head, data.return_area)
    await lifecycle.announce(conn, head)
    await audit(conn, principal, "referral.create", "referral", referral_id)
    return referral_id


def _signal_key(referral_id: uuid.UUID, index: int) -> str:
    return hashlib.sha256(f"referral-need:{referral_id}:{index}".encode()).hexdigest()


async def submit(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> ref_db.ReferralHead:
    """Submit a draft: consent or an approved override must cover it; one need signal each."""
    head = await visible_head(conn, principal, referral_id, for_update=True)
    lifecycle.check_transition(head, "submitted", None)
    stored = await ref_db.get_referral(conn, referral_id)
    assert stored is not None
    assert stored.profile is not None
    p = stored.profile
    if not p.consent_given and p.override_approved_at is None:
        raise InvalidInput(
            _(
                "a referral is submitted with the person's consent, or with a consent "
                "override approved by a coordinator (POST "
                "/api/v1/referrals/{id}/override-approval)"
            ),
            field="$.consent",
        )
    children.check_submission(p)
    check_consent_covers(
        transnational=head.transnational,
        consent_given=p.consent_given,
        consent_scope=p.consent_scope,
        override_reason=p.override_reason,
        override_scope=p.override_scope,
    )
    moved = await lifecycle.move(conn, principal, head, "submitted", action="referral.submit")
    await record_signals(
        conn,
        [
            NewSignal(
                kind="need",
                source="referral",
                participant_code=(where := _served_in(head, n.taxonomy_code)),
                area_code=_area_in(head.current_area, p.preferred_areas, where),
                taxonomy_code=n.taxonomy_code,
                dedup_key=_signal_key(referral_id, n.idx),
                population_group=population_group(p),
                language=needed_language(p),
            )
            for n in stored.needs
        ],
    )
    return moved


def _served_in(head: ref_db.ReferralHead, code: str) -> str:
    """The participant whose services serve this need (the jurisdiction rule)."""
    return serving_participant(code, head.jurisdiction, head.receiving_participant)


def _area_in(current: str, preferred: list[str], participant: str) -> str | None:
    """Where a need counts as demand: the person's area in ``participant``, else a preferred one."""
    if current.startswith(participant):
        return current
    return next((a for a in preferred if a.startswith(participant)), None)


async def approve_override(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, *, now: dt.datetime
) -> ref_db.ReferralHead:
    """A coordinator, not the requester, approves a requested consent override (audited)."""
    if principal.role != "coordinator":
        raise Forbidden(_("only a coordinator approves a consent override"))
    head = await visible_head(conn, principal, referral_id, for_update=True)
    stored = await ref_db.get_referral(conn, referral_id)
    assert stored is not None
    p = stored.profile
    if p is None or p.override_reason is None:
        raise Conflict(
            _("referral {referral_id} requests no consent override", referral_id=referral_id)
        )
    if p.override_approved_at is not None:
        raise Conflict(
            _(
                "the consent override of referral {referral_id} is already approved",
                referral_id=referral_id,
            )
        )
    if p.override_requested_by == principal.id:
        raise Forbidden(_("a second person approves an override, not the one who requested it"))
    await ref_db.approve_override(conn, referral_id, principal.id, now)
    await audit(conn, principal, "referral.override_approve", "referral", referral_id)
    return head
