"""Why a need went unmet, and the signal it leaves: no person data, counted once."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter

from matching_factories import make_profile

from csomatch.matching.profile import Need
from csomatch.matching.unmet import dedup_key, profile_hash, unmet_reason, unmet_signal

NOW = dt.datetime(2026, 1, 10, 23, 30, tzinfo=dt.UTC)
TOKEN = uuid.UUID(int=7)


def test_a_met_need_has_no_reason() -> None:
    assert unmet_reason(Counter({"gender": 3}), eligible=2, planned=True) is None


def test_eligible_but_unplanned_is_no_capacity() -> None:
    assert unmet_reason(Counter({"gender": 3}), eligible=2, planned=False) == "no_capacity"


def test_nobody_offering_it_is_no_provider() -> None:
    assert unmet_reason(Counter(), eligible=0, planned=False) == "no_provider"


def test_the_rule_that_excluded_most_is_the_reason() -> None:
    assert unmet_reason(Counter({"gender": 1, "language": 4}), 0, False) == "language"
    # On a tie, the rule applied first.
    assert unmet_reason(Counter({"language": 2, "gender": 2}), 0, False) == "gender"


def test_the_profile_hash_ignores_the_order_of_needs_but_not_of_languages() -> None:
    a = make_profile(needs=[Need(code="ACC.EMERG"), Need(code="LEGAL.AID")], languages=["sr", "en"])
    b = make_profile(needs=[Need(code="LEGAL.AID"), Need(code="ACC.EMERG")], languages=["sr", "en"])
    c = make_profile(needs=[Need(code="ACC.EMERG"), Need(code="LEGAL.AID")], languages=["en", "sr"])
    assert profile_hash(a) == profile_hash(b)
    assert profile_hash(a) != profile_hash(c)


def test_the_dedup_key_depends_on_token_day_profile_and_code() -> None:
    day = NOW.date()
    key = dedup_key(TOKEN, day, "p", "ACC.EMERG")
    assert len(key) == 64
    assert key == dedup_key(TOKEN, day, "p", "ACC.EMERG")
    assert key != dedup_key(uuid.UUID(int=8), day, "p", "ACC.EMERG")
    assert key != dedup_key(TOKEN, day + dt.timedelta(days=1), "p", "ACC.EMERG")
    assert key != dedup_key(TOKEN, day, "q", "ACC.EMERG")
    assert key != dedup_key(TOKEN, day, "p", "LEGAL.AID")


def test_a_signal_carries_the_cell_and_reason_only() -> None:
    profile = make_profile(current_area="RS-1")
    signal = unmet_signal(
        profile,
        "ACC.EMERG",
        "no_capacity",
        source="batch",
        token_id=TOKEN,
        now=NOW,
        profile_digest=profile_hash(profile),
    )
    assert (signal.kind, signal.source, signal.participant_code, signal.area_code) == (
        "unmet",
        "batch",
        "RS",
        "RS-1",
    )
    assert (signal.taxonomy_code, signal.reason, signal.occurred_at) == (
        "ACC.EMERG",
        "no_capacity",
        NOW,
    )
    assert signal.dedup_key == dedup_key(TOKEN, NOW.date(), profile_hash(profile), "ACC.EMERG")


def test_each_profile_falls_in_one_coarse_population_group() -> None:
    from csomatch.matching.unmet import population_group

    assert population_group(make_profile()) == "women"
    assert population_group(make_profile(gender="male")) == "men"
    assert population_group(make_profile(gender="other")) == "unknown"
    assert population_group(make_profile(group_children_age_bands=["0-5"])) == "families"
    child = make_profile(age_band="14-17", gender="male")
    assert population_group(child) == "unaccompanied_children"
    assert population_group(make_profile(age_band="25-59", age_uncertain=True)) == (
        "unaccompanied_children"
    )
    assert population_group(make_profile(age_band="6-13", accompanied=True)) == "families"
    assert population_group(make_profile(interpreter_needed=True)) == "language_not_served"
    # an unaccompanied child stays one, whatever else holds
    assert population_group(make_profile(age_band="6-13", interpreter_needed=True)) == (
        "unaccompanied_children"
    )


def test_an_unmet_signal_carries_the_group_and_nothing_finer() -> None:
    signal = unmet_signal(
        make_profile(gender="male"), "ACC.EMERG", "no_capacity", source="suggestion",
        token_id=TOKEN, now=NOW, profile_digest="d",
    )  # fmt: skip
    assert signal.population_group == "men"


def test_a_language_group_signal_records_the_first_language_and_no_other_does() -> None:
    from csomatch.matching.unmet import needed_language

    speaker = make_profile(interpreter_needed=True, languages=["ar", "fr"])
    assert needed_language(speaker) == "ar"
    assert needed_language(make_profile(languages=["ar"])) is None  # no interpreter needed
    signal = unmet_signal(
        speaker, "ACC.EMERG", "language", source="suggestion", token_id=TOKEN, now=NOW,
        profile_digest="p",
    )  # fmt: skip
    assert (signal.population_group, signal.language) == ("language_not_served", "ar")
    assert unmet_signal(
        make_profile(), "ACC.EMERG", "gender", source="suggestion", token_id=TOKEN, now=NOW,
        profile_digest="p",
    ).language is None  # fmt: skip
