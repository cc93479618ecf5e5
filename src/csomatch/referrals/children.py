"""A child's referral: a guardian's status, the guardian's consent, a second person's sign-off.

Following the seeds' child-protection practice (presumption of minority, the best interests of
the child): a referral whose age band is under 18, or whose age is not established, is a
child's referral. It says whether a guardian is appointed, requested or not there
(``guardian_status``); it is submitted only with consent given by the guardian (method
``guardian``, which needs an appointed guardian) or with a ``child_best_interest`` consent
override a coordinator approved; and its placement is confirmed only after a second person
signed it off: a coordinator, or an officer of the guardianship authority (usually the centre
for social work), never the referrer. The sign-off is audited like the consent override.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Final

import asyncpg
import msgspec

from csomatch.db import referrals as ref_db
from csomatch.domain import CHILD_AGE_BANDS, Principal
from csomatch.errors import Conflict, Forbidden, InvalidInput, NotFound
from csomatch.i18n import _
from csomatch.referrals.access import audit
from csomatch.referrals.model import ReferralIn

#: States in which a child's placement may be signed off: submitted, and not yet confirmed.
SIGN_OFF_STATES: Final = frozenset(
    {"submitted", "matched", "offered", "accepted", "declined", "expired"}
)


class ChildSignOff(msgspec.Struct, frozen=True, kw_only=True):
    """A child's placement signed off: by whom (a token id) and when."""

    referral_id: uuid.UUID
    state: str
    signed_off_by: uuid.UUID | None
    signed_off_at: dt.datetime


def is_child(age_band: str, age_uncertain: bool) -> bool:
    """Whether a referral is a child's: under 18, or of uncertain age (presumed a child)."""
    return age_uncertain or age_band in CHILD_AGE_BANDS


def check_new_referral(data: ReferralIn) -> None:
    """What a new referral says of a child: the guardian's status, consent that fits it.

    An adult's referral says nothing of a guardian or of being accompanied.
    """
    if not is_child(data.age_band, data.age_uncertain):
        if data.guardian_status is not None:
            raise InvalidInput(
                _(
                    "guardian_status is recorded for a child's referral only (an age band "
                    "under 18, or age_uncertain); leave it out"
                ),
                field="$.guardian_status",
            )
        if data.accompanied:
            raise InvalidInput(
                _(
                    "accompanied says that a child comes with a parent or carer; leave it "
                    "out for an adult (the group's adults and children are group_adults "
                    "and group_children_age_bands)"
                ),
                field="$.accompanied",
            )
        return
    if data.guardian_status is None:
        raise InvalidInput(
            _(
                "a child's referral (an age band under 18, or age_uncertain) says "
                "whether a guardian is appointed, requested or none"
            ),
            field="$.guardian_status",
        )
    _check_child_consent(data)


def _check_child_consent(data: ReferralIn) -> None:
    consent, override = data.consent, data.consent_override
    if consent is not None and consent.given and consent.method != "guardian":
        raise InvalidInput(
            _(
                "a child's consent is given by the guardian (method 'guardian'); "
                "without an appointed guardian, request a consent override for the "
                "child's best interest (consent_override.reason 'child_best_interest')"
            ),
            field="$.consent.method",
        )
    if (
        consent is not None
        and consent.method == "guardian"
        and data.guardian_status != ("appointed")
    ):
        raise InvalidInput(
            _(
                "consent by the guardian needs an appointed guardian (guardian_status "
                "'appointed'); otherwise request a 'child_best_interest' consent "
                "override"
            ),
            field="$.consent.method",
        )
    if override is not None and override.reason != "child_best_interest":
        raise InvalidInput(
            _(
                "a child's referral proceeds without the guardian's consent only in "
                "the child's best interest: consent_override.reason "
                "'child_best_interest'"
            ),
            field="$.consent_override.reason",
        )


def check_submission(p: ref_db.StoredProfile) -> None:
    """A child's referral is submitted with the guardian's consent or an approved override."""
    if not is_child(p.age_band, p.age_uncertain):
        return
    by_guardian = bool(p.consent_given) and p.consent_method == "guardian"
    best_interest = (
        p.override_reason == "child_best_interest" and p.override_approved_at is not None
    )
    if not (by_guardian or best_interest):
        raise InvalidInput(
            _(
                "a child's referral is submitted with consent given by the guardian "
                "(method 'guardian'), or with a 'child_best_interest' consent override "
                "approved by a coordinator (POST "
                "/api/v1/referrals/{id}/override-approval)"
            ),
            field="$.consent",
        )


async def check_signed_off(conn: asyncpg.Connection, head: ref_db.ReferralHead) -> None:
    """Refuse (409) to confirm a child's placement that no second person signed off."""
    stored = await ref_db.get_referral(conn, head.id)
    p = None if stored is None else stored.profile
    if p is None or not is_child(p.age_band, p.age_uncertain):
        return
    if p.child_sign_off_at is None:
        raise Conflict(
            _(
                "referral {head_id} is a child's: its placement is confirmed after a "
                "second person signed it off (POST "
                "/api/v1/referrals/{{id}}/child-sign-off by a coordinator, or by an "
                "officer of the guardianship authority)",
                head_id=head.id,
            )
        )


def _may_sign_off(principal: Principal) -> bool:
    if principal.role == "coordinator":
        return True
    return principal.role == "officer" and principal.guardianship_authority


async def _head_for_sign_off(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> ref_db.ReferralHead:
    """The referral (locked) if it is in the signer's jurisdiction, else NotFound.

    An officer of the guardianship authority signs off the children's referrals of their
    participant, whichever agency referred them; this gives them no other access.
    """
    scope = ref_db.ReferralScope(
        jurisdiction=None if principal.is_region_wide() else principal.jurisdiction
    )
    if not await ref_db.in_scope(conn, referral_id, scope):
        raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
    head = await ref_db.get_head(conn, referral_id, for_update=True)
    if head is None:
        raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
    return head


async def sign_off(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, *, now: dt.datetime
) -> ChildSignOff:
    """A second person signs off a child's placement (audited); again: the same sign-off.

    The signer is a coordinator, or an officer of the guardianship authority, and not the
    person who made the referral. Once signed, the referral may be confirmed.
    """
    if not _may_sign_off(principal):
        raise Forbidden(
            _(
                "a coordinator, or an officer of the guardianship authority, signs off "
                "a child's placement"
            )
        )
    head = await _head_for_sign_off(conn, principal, referral_id)
    stored = await ref_db.get_referral(conn, referral_id)
    p = None if stored is None else stored.profile
    if p is None or not is_child(p.age_band, p.age_uncertain):
        raise Conflict(
            _(
                "referral {referral_id} is not a child's: no sign-off is needed",
                referral_id=referral_id,
            )
        )
    if p.child_sign_off_at is not None:
        return ChildSignOff(
            referral_id=referral_id,
            state=head.state,
            signed_off_by=p.child_sign_off_by,
            signed_off_at=p.child_sign_off_at,
        )
    if head.created_by == principal.id:
        raise Forbidden(_("a second person signs off a child's placement, not the referrer"))
    if head.state not in SIGN_OFF_STATES:
        raise Conflict(
            _(
                "referral {referral_id} is {state}; a child's placement is signed off "
                "after submission and before it is confirmed",
                referral_id=referral_id,
                state=head.state,
            )
        )
    await ref_db.sign_off_child(conn, referral_id, principal.id, now)
    await audit(conn, principal, "referral.child_sign_off", "referral", referral_id)
    return ChildSignOff(
        referral_id=referral_id, state=head.state, signed_off_by=principal.id, signed_off_at=now
    )
