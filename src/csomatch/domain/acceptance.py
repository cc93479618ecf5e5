"""The acceptance record's one counting rule: which ends of an offer count for its provider.

The matcher's acceptance term (``matching.terms.acceptance_cost``, through the counters of
``service_track_record``) and the provider's own record (``referrals.acceptance``, per
quarter) both count with `counted`, so a provider reads on its page exactly what ranks it.

The rule, in words:

- an **accepted** offer counts as an offer and an acceptance; if the referrer then lets it
  expire unconfirmed, nothing more is counted (that is not the provider's doing);
- an offer **left to expire unanswered** counts as an offer not accepted;
- a decline for ``person_declined``, ``safety`` or ``not_eligible`` (`EXCUSED_DECLINES`)
  does not count at all: the person chose otherwise, the placement would have been unsafe,
  or the provider's own rules exclude the person;
- the other declines are **unexplained** and count as an offer not accepted: ``other`` says
  nothing, and ``no_capacity`` means the service was offered the person because it reported
  free places it did not have (its capacity number was wrong).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import msgspec

from csomatch.domain.vocabulary import EXCUSED_DECLINES, OfferOutcome

#: A closed quarter is shown on the record only with at least this many offers that ended in
#: it (any end); with fewer, it is "too few offers to count".
MIN_OFFERS_PER_QUARTER: Final = 5


class Tally(msgspec.Struct, frozen=True, kw_only=True):
    """Offers that count for the acceptance rate, and how many of them were accepted."""

    offers: int
    accepted: int


_ACCEPTED: Final = Tally(offers=1, accepted=1)
_REFUSED: Final = Tally(offers=1, accepted=0)
_NOT_COUNTED: Final = Tally(offers=0, accepted=0)


def counted(outcome: OfferOutcome) -> Tally:
    """How one end of an offer counts for its provider (the one rule; see the module)."""
    if outcome == "accepted":
        return _ACCEPTED
    if outcome in EXCUSED_DECLINES:
        return _NOT_COUNTED
    return _REFUSED


def tally(outcomes: Mapping[OfferOutcome, int]) -> Tally:
    """The counted offers and acceptances of so many ends of offers, each counted by `counted`."""
    offers = accepted = 0
    for outcome, n in outcomes.items():
        one = counted(outcome)
        offers += one.offers * n
        accepted += one.accepted * n
    return Tally(offers=offers, accepted=accepted)
