"""A provider's acceptance record: how its offers ended, counted by the one fair rule.

Each end of an offer (accepted, expired unanswered, declined with a reason) is counted once,
in the quarter it happened, with `csomatch.domain.acceptance.counted`, which also feeds the
matcher's acceptance term. The record shows the last `QUARTERS_SHOWN` closed quarters; one
with fewer than `MIN_OFFERS_PER_QUARTER` ends shows no figures ("too few offers to count").
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Final

import asyncpg
import msgspec

from csomatch.db import track_records as track_db
from csomatch.db.holds import Hold
from csomatch.domain import Principal
from csomatch.domain.acceptance import MIN_OFFERS_PER_QUARTER, counted, tally
from csomatch.domain.vocabulary import OFFER_OUTCOMES, OfferOutcome
from csomatch.registry.organizations import managed_organization

#: How many closed quarters the record shows, newest first.
QUARTERS_SHOWN: Final = 8


class QuarterRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One closed quarter of a provider's record; figures are None when too few to count."""

    #: ``2026-Q3``.
    quarter: str
    starts: dt.date
    #: The last day of the quarter.
    ends: dt.date
    too_few_offers: bool
    #: Every offer that ended in the quarter, counted or not.
    offers: int | None
    #: Offers that count for the rate, and how many of them were accepted.
    counted_offers: int | None
    accepted: int | None
    #: accepted / counted_offers (None also when no offer counts).
    acceptance_rate: float | None
    #: Ends of offers by outcome (every outcome listed, 0 included).
    outcomes: dict[str, int] | None


class AcceptanceRecord(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation's acceptance record over its last closed quarters, newest first."""

    organization_id: uuid.UUID
    min_offers_per_quarter: int
    #: Outcomes that count as an offer not accepted, and those that never count.
    counted_against: list[str]
    not_counted: list[str]
    quarters: list[QuarterRecord]


def quarter_start(day: dt.date) -> dt.date:
    """The first day of the quarter ``day`` is in."""
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _next_quarter(start: dt.date) -> dt.date:
    return dt.date(start.year + (start.month + 2) // 12, (start.month + 2) % 12 + 1, 1)


def _previous_quarter(start: dt.date) -> dt.date:
    return quarter_start(start - dt.timedelta(days=1))


async def record_outcome(
    conn: asyncpg.Connection, hold: Hold, outcome: OfferOutcome, *, now: dt.datetime
) -> None:
    """Count how an offer ended, for its provider's record and the matcher (same rule)."""
    await track_db.record_offer_outcome(
        conn, hold.service_id, hold.organization_id, outcome,
        counts=counted(outcome), quarter=quarter_start(now.date()),
    )  # fmt: skip


def _quarter(start: dt.date, ends: dict[OfferOutcome, int]) -> QuarterRecord:
    label = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    last_day = _next_quarter(start) - dt.timedelta(days=1)
    total = sum(ends.values())
    if total < MIN_OFFERS_PER_QUARTER:
        return QuarterRecord(
            quarter=label, starts=start, ends=last_day, too_few_offers=True, offers=None,
            counted_offers=None, accepted=None, acceptance_rate=None, outcomes=None,
        )  # fmt: skip
    figures = tally(ends)
    rate = figures.accepted / figures.offers if figures.offers else None
    return QuarterRecord(
        quarter=label, starts=start, ends=last_day, too_few_offers=False, offers=total,
        counted_offers=figures.offers, accepted=figures.accepted, acceptance_rate=rate,
        outcomes={o: ends.get(o, 0) for o in OFFER_OUTCOMES},
    )  # fmt: skip


async def acceptance_record(
    conn: asyncpg.Connection, principal: Principal, org_id: uuid.UUID, *, today: dt.date
) -> AcceptanceRecord:
    """The organisation's record over its last closed quarters (NotFound unless it manages it).

    A provider reads its own organisation's; coordinators and admins any of their
    jurisdiction.
    """
    org = await managed_organization(conn, principal, org_id)
    before = quarter_start(today)
    starts = [before]
    for _ in range(QUARTERS_SHOWN):
        starts.append(_previous_quarter(starts[-1]))
    starts = starts[1:]
    found = await track_db.outcome_counts(conn, org.id, since=starts[-1], before=before)
    by_quarter: dict[dt.date, dict[OfferOutcome, int]] = {s: {} for s in starts}
    for row in found:
        by_quarter[row.quarter][row.outcome] = row.n
    return AcceptanceRecord(
        organization_id=org.id,
        min_offers_per_quarter=MIN_OFFERS_PER_QUARTER,
        counted_against=[o for o in OFFER_OUTCOMES if counted(o).offers and o != "accepted"],
        not_counted=[o for o in OFFER_OUTCOMES if not counted(o).offers],
        quarters=[_quarter(s, by_quarter[s]) for s in starts],
    )
