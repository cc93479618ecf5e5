"""The vocabulary's patterns read as the API has always quoted them in its problem texts."""

from __future__ import annotations

import re

import pytest

from csomatch.domain import vocabulary as v


@pytest.mark.parametrize(
    ("pattern", "spelled"),
    [
        (v.PARTICIPANT_PATTERN, r"^(AL|BA|XK|ME|MK|RS)$"),
        (v.AREA_CODE_PATTERN, r"^(AL|BA|XK|ME|MK|RS)-[0-9]+$"),
        (v.TAXONOMY_CODE_PATTERN, r"^[A-Z]+\.[A-Z]+$"),
        (v.CAPACITY_UNIT_PATTERN, r"^(bed|place|session_per_week|hour_per_week|case)$"),
        (v.one_of_pattern(v.AGE_BANDS), r"^(0-5|6-13|14-17|18-24|25-59|60\+)$"),
        (v.one_of_pattern(v.GENDERS), r"^(female|male|other)$"),
        (v.one_of_pattern(v.FUNDING_STATUSES), r"^(planned|committed|disbursed|cancelled)$"),
    ],
)
def test_a_pattern_built_from_its_set_is_spelled_as_before(pattern: str, spelled: str) -> None:
    assert pattern == spelled


@pytest.mark.parametrize("words", [v.PARTICIPANTS, v.AGE_BANDS, v.ROLES, ("a.b", "c|d", "(e)")])
def test_one_of_pattern_matches_its_words_and_nothing_else(words: tuple[str, ...]) -> None:
    pattern = re.compile(v.one_of_pattern(words))
    assert all(pattern.match(w) for w in words)
    assert not any(pattern.match(w + "x") or pattern.match("x" + w) for w in words)
    assert not pattern.match("axb") or "axb" in words


def test_every_tuple_is_its_literal_s_values() -> None:
    assert ("officer", *v.COORDINATING) == v.REFERRING
    assert set(v.COORDINATING) <= set(v.ROLES)
    assert set(v.JURISDICTIONS) == {*v.PARTICIPANTS, v.REGION}
    assert set(v.AGE_BANDS) >= v.CHILD_AGE_BANDS
