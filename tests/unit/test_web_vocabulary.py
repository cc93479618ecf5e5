"""The web pages' copies of the vocabulary equal the server's.

The pages are plain JavaScript modules with no build step, so they cannot import the
server's lists; each keeps its own copy (words for codes, codes it sends). This test reads
those copies out of ``web/static/*.js`` and compares them with ``csomatch.domain`` and the
matcher, so that a code added on one side and not the other fails here, not in front of a
caseworker.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from csomatch.domain import (
    CANCEL_REASONS,
    CAPACITY_UNITS,
    DECLINE_REASONS,
    NATIONALITY_CODES,
    NEED_STATES,
    ORG_KINDS,
    OUTCOMES,
    PARTICIPANTS,
    REFERRING,
    ROLES,
    UNMET_REASONS,
    URGENCIES,
    ChildAgeBand,
)
from csomatch.domain.vocabulary import (
    CONSENT_ITEMS,
    LICENCE_REASONS,
    TRM_STEP_STATUSES,
    TRM_STEPS,
)
from csomatch.gaps.cells import FLAG_CODES
from csomatch.matching.rules import REASON_CODES
from csomatch.matching.terms import TERMS
from csomatch.matching.unmet import NO_PROVIDER
from csomatch.referrals.lifecycle import TRANSITIONS

STATIC = Path(__file__).resolve().parents[2] / "src" / "csomatch" / "web" / "static"


def _source(page: str) -> str:
    return (STATIC / page).read_text("utf-8")


def _object_keys(page: str, name: str) -> tuple[str, ...]:
    """The keys, in order, of ``const NAME = { ... };`` in a page."""
    found = re.search(
        r"^(?:export )?const " + name + r" = \{(?P<body>.*?)\};", _source(page), re.M | re.S
    )
    assert found is not None, f"{page}: no object {name}"
    # Values first (words may hold colons and commas), then the keys before each colon. A
    # value is a string, a list, the page's words t("...") or an object of them (one level).
    strings = re.compile(r'"(?:[^"\\]|\\.)*"')
    body = strings.sub(lambda s: s.group(0).replace("{", "(").replace("}", ")"), found["body"])
    body = re.sub(r":\s*\{[^{}]*\}", ": _", body)
    body = re.sub(r':\s*(?:t\()?("(?:[^"\\]|\\.)*"|\[[^\]]*\])\)?', ": _", body)
    return tuple(re.findall(r'(?:^|[{,])\s*"?([A-Za-z0-9_.+-]+)"?\s*:', body, re.M))


def _strings(page: str, name: str) -> tuple[str, ...]:
    """The string literals, in order, of ``const NAME = [ ... ]`` or ``new Set([ ... ])``."""
    pattern = r"^const " + name + r" = (?:new Set\()?\[(?P<body>[^\]]*)\]"
    found = re.search(pattern, _source(page), re.M)
    assert found is not None, f"{page}: no list {name}"
    return tuple(re.findall(r'"([^"]*)"', found["body"]))


def test_the_decline_reasons_a_provider_picks_are_the_server_s() -> None:
    assert _object_keys("offers.js", "REASONS") == DECLINE_REASONS


def test_every_reason_the_matcher_gives_has_words_on_the_referral_page() -> None:
    assert set(_object_keys("referwords.js", "REASONS")) == {NO_PROVIDER, *REASON_CODES}


def test_nationality_is_asked_for_the_services_the_server_accepts_it_for() -> None:
    assert set(_strings("refer.js", "NATIONALITY_CODES")) == NATIONALITY_CODES


@pytest.mark.parametrize(
    ("page", "name", "server"),
    [
        ("session.js", "PARTICIPANTS", PARTICIPANTS),
        ("session.js", "ROLE_NAMES", ROLES),
        ("offers.js", "URGENCY", URGENCIES),
        ("gaps.js", "FLAGS", FLAG_CODES),
        ("capacity.js", "UNIT_WORDS", CAPACITY_UNITS),
        ("find.js", "UNIT_WORDS", CAPACITY_UNITS),
        ("registry.js", "KINDS", ORG_KINDS),
        ("referwords.js", "TERMS", TERMS),
        ("referwords.js", "NEED_STATES", NEED_STATES),
        ("referwords.js", "OUTCOMES", OUTCOMES),
        ("referwords.js", "UNMET_REASONS", UNMET_REASONS),
        ("referwords.js", "CANCEL_REASONS", CANCEL_REASONS),
        ("referwords.js", "TRM_STEPS", TRM_STEPS),
        ("referwords.js", "TRM_STEP_STATUS", TRM_STEP_STATUSES),
        ("referwords.js", "CONSENT_ITEMS", CONSENT_ITEMS),
        ("referwords.js", "DECLINE_REASONS", DECLINE_REASONS),
        ("licences.js", "REASONS", LICENCE_REASONS),
    ],
)
def test_the_words_of_each_page_cover_exactly_the_server_s_codes(
    page: str, name: str, server: tuple[str, ...]
) -> None:
    assert _object_keys(page, name) == tuple(server)


def test_the_referral_page_knows_every_referral_state() -> None:
    assert set(_object_keys("referwords.js", "STATES")) == set(TRANSITIONS)


def test_the_referral_page_s_lists_are_the_server_s() -> None:
    assert _strings("refer.js", "ROLES") == REFERRING
    assert _strings("referrals.js", "ROLES") == REFERRING
    assert _strings("refer.js", "CHILD_BANDS") == get_args(ChildAgeBand)
