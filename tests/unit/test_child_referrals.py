"""A child's referral, rule by rule: who is a child, the guardian, the consent that fits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from csomatch.db import referrals as ref_db
from csomatch.errors import InvalidInput
from csomatch.referrals import children
from csomatch.referrals.model import ReferralIn

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def referral(**overrides: Any) -> ReferralIn:
    values: dict[str, Any] = {
        "needs": [{"code": "ACC.CHILD"}], "age_band": "14-17", "gender": "female",
        "languages": ["sr"], "current_area": "RS-792680", "jurisdiction": "RS",
        "guardian_status": "appointed",
        "consent": {"given": True, "method": "guardian", "scope": ["referral"], "at": NOW},
    }  # fmt: skip
    values.update(overrides)
    return msgspec.convert(values, ReferralIn)


def stored(**overrides: Any) -> ref_db.StoredProfile:
    values: dict[str, Any] = {
        "age_band": "14-17", "age_uncertain": False, "gender": "female", "languages": ["sr"],
        "interpreter_needed": False, "preferred_areas": [], "excluded_areas": [],
        "min_distance_km": 0, "risk_level": "low", "accessibility": [], "group_adults": 1,
        "group_children_age_bands": [], "nationality": None, "guardian_status": "none",
        "consent_given": None, "consent_method": None, "consent_scope": [], "consent_at": None,
        "override_reason": None, "override_scope": [], "override_requested_by": None,
        "override_approved_by": None, "override_approved_at": None,
    }  # fmt: skip
    values.update(overrides)
    return ref_db.StoredProfile(**values)


def test_under_18_or_of_uncertain_age_is_a_child() -> None:
    assert children.is_child("0-5", False)
    assert children.is_child("14-17", False)
    assert children.is_child("18-24", True)
    assert not children.is_child("18-24", False)


def field_of(data: ReferralIn) -> str | None:
    try:
        children.check_new_referral(data)
    except InvalidInput as refused:
        return refused.field
    return None


def test_a_child_with_an_appointed_guardian_who_consents_passes() -> None:
    assert field_of(referral()) is None
    assert field_of(referral(accompanied=True)) is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"guardian_status": None}, "$.guardian_status"),
        ({"consent": {"given": True, "method": "verbal", "scope": ["referral"], "at": NOW}},
         "$.consent.method"),
        ({"guardian_status": "requested"}, "$.consent.method"),
        ({"consent": None,
          "consent_override": {"reason": "lacks_capacity", "scope": ["referral"]}},
         "$.consent_override.reason"),
        ({"age_band": "25-59", "guardian_status": "none", "consent": None}, "$.guardian_status"),
        ({"age_band": "25-59", "guardian_status": None, "consent": None, "accompanied": True},
         "$.accompanied"),
    ],
)  # fmt: skip
def test_what_a_childs_referral_may_not_say(overrides: dict[str, Any], field: str) -> None:
    assert field_of(referral(**overrides)) == field


def test_without_a_guardian_a_best_interest_override_is_asked_for() -> None:
    data = referral(
        guardian_status="none",
        consent=None,
        consent_override={"reason": "child_best_interest", "scope": ["referral"]},
    )
    assert field_of(data) is None


def test_submission_needs_the_guardians_consent_or_an_approved_best_interest_override() -> None:
    with pytest.raises(InvalidInput):
        children.check_submission(stored(consent_given=True, consent_method="verbal",
                                         consent_at=NOW))  # fmt: skip
    with pytest.raises(InvalidInput):
        children.check_submission(stored(override_reason="child_best_interest"))
    with pytest.raises(InvalidInput):
        children.check_submission(
            stored(override_reason="imminent_danger", override_approved_at=NOW)
        )
    children.check_submission(stored(consent_given=True, consent_method="guardian", consent_at=NOW))
    children.check_submission(
        stored(override_reason="child_best_interest", override_approved_at=NOW)
    )
    # An adult's referral is not held to it.
    children.check_submission(
        stored(age_band="25-59", consent_given=True, consent_method="verbal", consent_at=NOW)
    )
