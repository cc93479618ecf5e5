"""Outcome figures for the coordinator and the gap analysis, by service code and area.

How fast referrals get an offer and an acceptance, how often offers are accepted, and why
they are declined; and every submitted referral, offered or not, by receiving participant and
urgency: placed, still open, closed unplaced, cancelled, never offered, time to first offer.

Coordinators and admins see their jurisdiction's figures (``MARRI``: all). Funders see the
same figures of closed months only, as they stood when the current month began (offers and
answers after that do not count), with small counts hidden: referral counts per cell go
through the gap analysis's small-cell suppression (1-4 hidden, with complementary
suppression), every other count from 1 to 4 is hidden, and a rate or a duration over fewer
than 5 is hidden.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import asyncpg
import msgspec

from csomatch.db import outcomes as out_db
from csomatch.domain import COORDINATING, DECLINE_REASONS, Principal, Role
from csomatch.errors import Forbidden, InvalidInput
from csomatch.gaps.periods import open_since, sees_open_period
from csomatch.gaps.suppression import THRESHOLD, TOTAL, suppress
from csomatch.i18n import _

#: Roles that may read outcome figures.
READERS: Final[tuple[Role, ...]] = (*COORDINATING, "funder")


class Duration(msgspec.Struct, frozen=True, kw_only=True):
    """A duration over ``n`` referrals, in hours (None: no data, or hidden)."""

    n: int | None
    median_hours: float | None
    p90_hours: float | None


class Cell(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of one (participant, area, service code), or of all (keys None)."""

    participant: str | None
    area: str | None
    code: str | None
    referrals: int | None
    offers: int | None
    accepted: int | None
    declined: int | None
    expired: int | None
    still_open: int | None
    #: accepted / (accepted + declined + expired): offers still open do not count
    acceptance_rate: float | None
    decline_reasons: dict[str, int | None]
    time_to_offer: Duration
    time_to_acceptance: Duration
    suppressed: bool = False


class SubmittedCell(msgspec.Struct, frozen=True, kw_only=True):
    """Every submitted referral of one (receiving participant, urgency), or of all (keys None).

    How each stands: placed, still open, closed without a placement, cancelled; how many
    never had an offer; and the time from submission to the first offer of those that had one.
    """

    participant: str | None
    urgency: str | None
    submitted: int | None
    placed: int | None
    still_open: int | None
    closed_unplaced: int | None
    cancelled: int | None
    never_offered: int | None
    time_to_first_offer: Duration
    suppressed: bool = False


class OutcomeReport(msgspec.Struct, frozen=True, kw_only=True):
    """The figures of referrals submitted in [since, until).

    ``total`` and ``cells`` count offers (referrals with at least one); ``submitted_total``
    and ``submitted`` count every submitted referral, offered or not.
    """

    since: dt.datetime
    until: dt.datetime
    jurisdiction: str | None
    small_counts_hidden: bool
    total: Cell
    cells: list[Cell]
    submitted_total: SubmittedCell
    submitted: list[SubmittedCell]


Key = tuple[str | None, str | None, str | None]


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


def _duration(d: out_db.Durations | None) -> Duration:
    if d is None or d.n == 0:
        return Duration(n=0, median_hours=None, p90_hours=None)
    return Duration(n=d.n, median_hours=_hours(d.median_s), p90_hours=_hours(d.p90_s))


def _cell(counts: out_db.OfferCounts, offer: Duration, accept: Duration) -> Cell:
    answered = counts.accepted + counts.declined + counts.expired
    return Cell(
        participant=counts.participant,
        area=counts.area_code,
        code=counts.code,
        referrals=counts.referrals,
        offers=counts.offers,
        accepted=counts.accepted,
        declined=counts.declined,
        expired=counts.expired,
        still_open=counts.still_open,
        acceptance_rate=round(counts.accepted / answered, 4) if answered else None,
        decline_reasons={r: getattr(counts, r) for r in DECLINE_REASONS},
        time_to_offer=offer,
        time_to_acceptance=accept,
    )


def _small(n: int | None) -> int | None:
    return None if n is not None and 0 < n < THRESHOLD else n


def _hide_small(cell: Cell, hidden: bool) -> Cell:
    """A funder's view of a cell: small counts, and figures over small counts, hidden."""
    if hidden:
        empty = Duration(n=None, median_hours=None, p90_hours=None)
        return Cell(
            participant=cell.participant, area=cell.area, code=cell.code,
            referrals=None, offers=None, accepted=None, declined=None, expired=None,
            still_open=None, acceptance_rate=None,
            decline_reasons=dict.fromkeys(cell.decline_reasons),
            time_to_offer=empty, time_to_acceptance=empty, suppressed=True,
        )  # fmt: skip
    answered = sum(x or 0 for x in (cell.accepted, cell.declined, cell.expired))

    def duration(d: Duration) -> Duration:
        if d.n is not None and 0 < d.n < THRESHOLD:
            return Duration(n=None, median_hours=None, p90_hours=None)
        return d

    return msgspec.structs.replace(
        cell,
        offers=_small(cell.offers),
        accepted=_small(cell.accepted),
        declined=_small(cell.declined),
        expired=_small(cell.expired),
        still_open=_small(cell.still_open),
        acceptance_rate=cell.acceptance_rate if answered >= THRESHOLD else None,
        decline_reasons={r: _small(n) for r, n in cell.decline_reasons.items()},
        time_to_offer=duration(cell.time_to_offer),
        time_to_acceptance=duration(cell.time_to_acceptance),
        suppressed=False,
    )


def _submitted_cell(c: out_db.SubmittedCounts) -> SubmittedCell:
    return SubmittedCell(
        participant=c.participant,
        urgency=c.urgency,
        submitted=c.submitted,
        placed=c.placed,
        still_open=c.still_open,
        closed_unplaced=c.closed_unplaced,
        cancelled=c.cancelled,
        never_offered=c.never_offered,
        time_to_first_offer=_duration(
            out_db.Durations(
                participant=c.participant, area_code=None, code=None, n=c.offered_n,
                median_s=c.median_s, p90_s=c.p90_s,
            )
        ),
    )  # fmt: skip


def _hide_small_submitted(cell: SubmittedCell, hidden: bool) -> SubmittedCell:
    """A funder's view of a submitted cell: the same small-count rules as the offer cells."""
    if hidden:
        return SubmittedCell(
            participant=cell.participant, urgency=cell.urgency, submitted=None, placed=None,
            still_open=None, closed_unplaced=None, cancelled=None, never_offered=None,
            time_to_first_offer=Duration(n=None, median_hours=None, p90_hours=None),
            suppressed=True,
        )  # fmt: skip
    d = cell.time_to_first_offer
    if d.n is not None and 0 < d.n < THRESHOLD:
        d = Duration(n=None, median_hours=None, p90_hours=None)
    return msgspec.structs.replace(
        cell,
        placed=_small(cell.placed),
        still_open=_small(cell.still_open),
        closed_unplaced=_small(cell.closed_unplaced),
        cancelled=_small(cell.cancelled),
        never_offered=_small(cell.never_offered),
        time_to_first_offer=d,
    )


async def submitted_figures(
    conn: asyncpg.Connection, f: out_db.Filter, *, hide: bool
) -> tuple[SubmittedCell, list[SubmittedCell]]:
    """Every submitted referral per (participant, urgency), and the total (funders: hidden).

    For a funder the submitted counts per cell go through the small-cell suppression (rows
    participants, columns urgencies); every other count from 1 to 4, and a duration over
    fewer than 5 referrals, is hidden.
    """
    cells = {
        (c.participant, c.urgency): _submitted_cell(c)
        for c in await out_db.submitted_counts(conn, f)
    }
    total = cells.pop((None, None), None) or _submitted_cell(
        out_db.SubmittedCounts(
            participant=None, urgency=None, submitted=0, placed=0, still_open=0,
            closed_unplaced=0, cancelled=0, never_offered=0, offered_n=0, median_s=None,
            p90_s=None,
        )
    )  # fmt: skip
    ordered = [cells[k] for k in sorted(cells, key=lambda k: (k[0] or "", k[1] or ""))]
    if hide:
        hidden = suppress({(c.participant, c.urgency): c.submitted or 0 for c in ordered})
        ordered = [_hide_small_submitted(c, (c.participant, c.urgency) in hidden) for c in ordered]
        total = _hide_small_submitted(total, (TOTAL, TOTAL) in hidden)
    return total, ordered


async def outcome_figures(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    since: dt.datetime,
    until: dt.datetime,
    code: str | None = None,
    participant: str | None = None,
) -> OutcomeReport:
    """The outcome figures the caller may see, per cell and in total."""
    if principal.role not in READERS:
        raise Forbidden(_("the {role} role does not see outcome figures", role=principal.role))
    if until <= since:
        raise InvalidInput(_("until must be after since"), field="until")
    as_of = None
    if not sees_open_period(principal.role):
        as_of = open_since(dt.datetime.now(dt.UTC).date())
        if until > as_of:
            raise Forbidden(
                _(
                    "funders see closed months only: until may be {value} at the latest",
                    value=as_of.date(),
                ),
                field="query.until",
            )
    jurisdiction = principal.participant()
    f = out_db.Filter(
        jurisdiction=jurisdiction,
        submitted_from=since,
        submitted_to=until,
        code=code,
        participant=participant,
        as_of=as_of,
    )
    counts = await out_db.offer_counts(conn, f)
    offers = {
        (d.participant, d.area_code, d.code): d for d in await out_db.time_to_first_offer(conn, f)
    }
    accepts = {
        (d.participant, d.area_code, d.code): d for d in await out_db.time_to_acceptance(conn, f)
    }
    cells: dict[Key, Cell] = {}
    for c in counts:
        key = (c.participant, c.area_code, c.code)
        cells[key] = _cell(c, _duration(offers.get(key)), _duration(accepts.get(key)))
    total_key: Key = (None, None, None)
    total = cells.pop(total_key, None) or _cell(
        out_db.OfferCounts(
            participant=None, area_code=None, code=None, referrals=0, offers=0, accepted=0,
            declined=0, expired=0, still_open=0, no_capacity=0, not_eligible=0, safety=0,
            person_declined=0, other=0,
        ),
        _duration(None),
        _duration(None),
    )  # fmt: skip
    hide = principal.role == "funder"
    ordered = sorted(
        cells.values(), key=lambda c: (c.participant or "", c.area or "", c.code or "")
    )
    if hide:
        # referral counts per cell: rows (participant, area), columns service codes
        interior = {((c.participant, c.area), c.code): c.referrals or 0 for c in ordered}
        hidden = suppress(interior)
        ordered = [_hide_small(c, ((c.participant, c.area), c.code) in hidden) for c in ordered]
        total = _hide_small(total, (TOTAL, TOTAL) in hidden)
    submitted_total, submitted = await submitted_figures(conn, f, hide=hide)
    return OutcomeReport(
        since=since,
        until=until,
        jurisdiction=jurisdiction,
        small_counts_hidden=hide,
        total=total,
        cells=ordered,
        submitted_total=submitted_total,
        submitted=submitted,
    )
