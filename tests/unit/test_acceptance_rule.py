"""The acceptance record's one counting rule, outcome by outcome."""

from __future__ import annotations

import uuid

import pytest

from csomatch.db.track_records import TrackRecord
from csomatch.domain import DECLINE_REASONS, OFFER_OUTCOMES
from csomatch.domain.acceptance import Tally, counted, tally
from csomatch.matching import terms
from csomatch.settings import Settings


@pytest.mark.parametrize(
    ("outcome", "offers", "accepted"),
    [
        ("accepted", 1, 1),
        ("expired_unanswered", 1, 0),
        ("other", 1, 0),
        ("no_capacity", 1, 0),
        ("person_declined", 0, 0),
        ("safety", 0, 0),
        ("not_eligible", 0, 0),
    ],
)
def test_each_end_of_an_offer_counts_or_not(outcome: str, offers: int, accepted: int) -> None:
    assert counted(outcome) == Tally(offers=offers, accepted=accepted)  # type: ignore[arg-type]


def test_every_outcome_and_every_decline_reason_has_a_rule() -> None:
    assert set(DECLINE_REASONS) < set(OFFER_OUTCOMES)
    assert {o for o in OFFER_OUTCOMES if counted(o).offers == 0} == {
        "person_declined", "safety", "not_eligible",
    }  # fmt: skip


def test_a_tally_sums_the_rule() -> None:
    found = tally({"accepted": 3, "person_declined": 4, "other": 1, "expired_unanswered": 2})
    assert found == Tally(offers=6, accepted=3)


def test_excused_declines_leave_the_matchers_term_where_it_was() -> None:
    w = terms.weights_from_settings(Settings())
    base = tally({"accepted": 2, "other": 3})
    with_excused = tally({"accepted": 2, "other": 3, "person_declined": 5, "safety": 5})
    with_expiries = tally({"accepted": 2, "other": 3, "expired_unanswered": 5})

    def cost(t: Tally) -> int:
        record = TrackRecord(
            service_id=uuid.uuid4(), offers=t.offers, accepted=t.accepted,
            feedback_n=0, feedback_sum=0,
        )  # fmt: skip
        return terms.acceptance_cost(record, w)

    assert cost(with_excused) == cost(base) > 0
    assert cost(with_expiries) > cost(base)
