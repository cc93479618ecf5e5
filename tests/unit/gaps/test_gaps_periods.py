"""Periods of the gap analysis: labels, bounds, reference dates."""

from __future__ import annotations

import datetime as dt

import pytest

from csomatch.errors import InvalidInput
from csomatch.gaps.periods import last_periods, parse_period, period_of


def test_months_and_quarters_have_labels_and_bounds() -> None:
    nov = period_of(dt.date(2026, 11, 20), "month")
    assert (nov.label, nov.start, nov.end) == (
        "2026-11",
        dt.date(2026, 11, 1),
        dt.date(2026, 12, 1),
    )
    q4 = period_of(dt.date(2026, 12, 31), "quarter")
    assert (q4.label, q4.start, q4.end) == ("2026-Q4", dt.date(2026, 10, 1), dt.date(2027, 1, 1))
    assert len(q4.months) == 3
    assert parse_period("2026-Q4") == q4
    assert parse_period("2026-11") == nov


def test_the_reference_date_is_the_last_day_or_today() -> None:
    nov = parse_period("2026-11")
    assert nov.reference_date(dt.date(2026, 11, 20)) == dt.date(2026, 11, 20)
    assert nov.reference_date(dt.date(2027, 2, 1)) == dt.date(2026, 11, 30)


def test_last_periods_end_with_the_current_one() -> None:
    months = last_periods(dt.date(2026, 2, 10), "month", 12)
    assert [m.label for m in months][:2] == ["2025-03", "2025-04"]
    assert months[-1].label == "2026-02"
    quarters = last_periods(dt.date(2026, 2, 10), "quarter", 4)
    assert [q.label for q in quarters] == ["2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]


@pytest.mark.parametrize("label", ["2026-13", "2026-Q5", "Nov 2026", "", "0000-01", "9999-12"])
def test_a_bad_period_names_the_field(label: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_period(label)
    assert raised.value.field == "period"
