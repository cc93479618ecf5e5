"""A referral's state is the summary of its needs' states (docs/referrals.md, "A care plan")."""

from __future__ import annotations

import pytest

from csomatch.db.referrals import StoredNeed
from csomatch.referrals.lifecycle import TRANSITIONS, closing_outcome, summary


def _needs(
    *states: str, outcomes: tuple[str | None, ...] = (), reasons: tuple[str | None, ...] = ()
):
    return [
        StoredNeed(
            idx=i, taxonomy_code="ACC.EMERG", priority="must", state=state,
            outcome=outcomes[i] if i < len(outcomes) else None,
            unmet_reason=reasons[i] if i < len(reasons) else None,
        )
        for i, state in enumerate(states)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        (("suggested",), "matched"),
        (("suggested", "suggested"), "matched"),
        (("offered", "suggested"), "offered"),  # a need never offered does not hold it back
        (("accepted", "offered"), "offered"),  # the least advanced need with an offer
        (("accepted", "accepted"), "accepted"),
        (("declined", "confirmed"), "declined"),  # waiting for another service comes first
        (("expired", "offered"), "expired"),
        (("confirmed", "in_service"), "confirmed"),
        (("in_service", "closed"), "in_service"),
        (("closed", "unmet"), "closed"),
        (("closed", "suggested"), "matched"),
    ],
)
def test_the_summary_is_the_least_advanced_need_with_an_offer(
    states: tuple[str, ...], expected: str
) -> None:
    assert summary(_needs(*states)) == expected


def test_every_summary_is_a_transition_the_lifecycle_allows() -> None:
    states = ("matched", "offered", "accepted", "declined", "expired", "confirmed", "in_service")
    for a in states:
        for b in (*states, "closed"):
            assert a == b or b in TRANSITIONS[a], (a, b)


def test_a_finished_referral_s_outcome() -> None:
    assert closing_outcome(_needs("closed", "unmet", outcomes=("placed",))) == "placed"
    assert closing_outcome(_needs("closed", "closed", outcomes=("transferred", "placed"))) == (
        "placed"
    )
    assert closing_outcome(_needs("unmet", "closed", outcomes=(None, "withdrawn"))) == "withdrawn"
    declined = _needs("unmet", "unmet", reasons=("person_declined", "person_declined"))
    assert closing_outcome(declined) == "person_declined"
    assert closing_outcome(_needs("unmet", reasons=("no_capacity",))) == "no_capacity"
