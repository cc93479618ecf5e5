"""Periods of the gap analysis: calendar months and quarters (UTC): ``2026-11``, ``2026-Q4``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

import msgspec

from csomatch.errors import InvalidInput
from csomatch.i18n import _

Granularity = Literal["month", "quarter"]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")


class Period(msgspec.Struct, frozen=True, kw_only=True):
    """A month or a quarter: its label, first day and the first day after it."""

    label: str
    start: dt.date
    end: dt.date

    @property
    def months(self) -> list[dt.date]:
        """First days of the calendar months the period covers."""
        out, day = [], self.start
        while day < self.end:
            out.append(day)
            day = _next_month(day)
        return out

    def reference_date(self, today: dt.date) -> dt.date:
        """The day capacity and funding are read for: the period's last day, or today."""
        return min(self.end - dt.timedelta(days=1), today)


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def period_of(day: dt.date, granularity: Granularity) -> Period:
    """The month or quarter that contains ``day``."""
    if granularity == "month":
        start = dt.date(day.year, day.month, 1)
        return Period(label=f"{day.year:04d}-{day.month:02d}", start=start, end=_next_month(start))
    quarter = (day.month - 1) // 3
    start = dt.date(day.year, 3 * quarter + 1, 1)
    end = _next_month(_next_month(_next_month(start)))
    return Period(label=f"{day.year:04d}-Q{quarter + 1}", start=start, end=end)


#: Years a period may fall in.
YEARS = range(2000, 2101)


def parse_period(label: str, *, field: str = "period") -> Period:
    """The period named ``label`` (``2026-11`` or ``2026-Q4``); InvalidInput otherwise."""
    if (m := _MONTH.match(label)) and int(m.group(1)) in YEARS:
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12:
            return period_of(dt.date(year, month, 1), "month")
    if (m := _QUARTER.match(label)) and int(m.group(1)) in YEARS:
        return period_of(dt.date(int(m.group(1)), 3 * int(m.group(2)) - 2, 1), "quarter")
    raise InvalidInput(
        _(
            "period {label} is not YYYY-MM or YYYY-Qn with a year from 2000 to 2100",
            label=repr(label),
        ),
        field=field,
    )


def last_periods(today: dt.date, granularity: Granularity, count: int) -> list[Period]:
    """The ``count`` periods up to and including the one containing ``today``, oldest first."""
    periods = [period_of(today, granularity)]
    while len(periods) < count:
        periods.append(period_of(periods[-1].start - dt.timedelta(days=1), granularity))
    return periods[::-1]


def is_closed(period: Period, today: dt.date) -> bool:
    """Whether a period is over: it ended before ``today`` (UTC).

    No new referral, search or match adds to a period that is over.
    """
    return period.end <= today


def last_closed(today: dt.date, granularity: Granularity) -> Period:
    """The newest month or quarter that is over on ``today``."""
    return period_of(period_of(today, granularity).start - dt.timedelta(days=1), granularity)


def open_since(today: dt.date) -> dt.datetime:
    """The start (UTC) of the month still open on ``today``: what a funder sees ends there."""
    return dt.datetime(today.year, today.month, 1, tzinfo=dt.UTC)


def sees_open_period(role: str) -> bool:
    """Whether ``role`` sees the current, still open period: coordinators and admins do.

    Funders see closed periods only, so that two looks around one new referral cannot tell it
    apart.
    """
    return role != "funder"
