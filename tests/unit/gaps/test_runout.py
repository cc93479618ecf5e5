"""The early warning's model (gaps/runout.py) on cases with a known answer."""

from __future__ import annotations

import random

import pytest
from scipy import stats

from csomatch.gaps.runout import HIGH, LOW, MAX_DAYS, full_within, quantile, runout


def test_one_free_place_has_a_closed_form() -> None:
    """With F = 1 the time is T·((1 − q)^(−1/r) − 1), r = n + ½ (a Lomax quantile)."""
    n, window = 30, 90.0
    r = n + 0.5
    for q in (LOW, 0.5, HIGH):
        expected = window * ((1 - q) ** (-1 / r) - 1)
        got = quantile(q, free=1, arrivals=n, window_days=window)
        assert got == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize(("free", "arrivals"), [(3, 12), (20, 90), (150, 2000), (7, 1)])
def test_probability_is_the_negative_binomial_tail(free: int, arrivals: int) -> None:
    """P(full within d) = P(NegBin(n + ½, T / (T + d)) ≥ F), checked against scipy."""
    window = 91.0
    for d in (1.0, 10.0, 45.0, 300.0):
        expected = stats.nbinom.sf(free - 1, arrivals + 0.5, window / (window + d))
        assert full_within(d, free=free, arrivals=arrivals, window_days=window) == pytest.approx(
            expected, abs=1e-9
        )


def test_point_estimate_is_free_places_over_the_rate() -> None:
    """Ten places, 45 arrivals in 90 days: half a person a day, so 20 days, within the interval."""
    r = runout(free=10, arrivals=45, window_days=90)
    assert r.rate_per_day == pytest.approx(0.5)
    assert r.days == pytest.approx(20.0)
    assert r.low is not None
    assert r.high is not None
    assert r.low < 20.0 < r.high


def test_full_now_and_no_arrivals() -> None:
    """No free place: full now. No arrival in the window: not in sight (None)."""
    assert runout(free=0, arrivals=5, window_days=90).days == 0.0
    quiet = runout(free=4, arrivals=0, window_days=90)
    assert quiet.days is None
    assert quiet.high is None
    assert quantile(HIGH, free=500, arrivals=1, window_days=90) is None  # beyond MAX_DAYS
    assert MAX_DAYS == 3650.0


def test_more_arrivals_observed_narrow_the_interval() -> None:
    """The same rate seen over more arrivals is surer: a narrower interval around 20 days."""
    few = runout(free=10, arrivals=9, window_days=18)
    many = runout(free=10, arrivals=450, window_days=900)
    assert few.days == pytest.approx(many.days)
    assert few.low is not None
    assert few.high is not None
    assert many.low is not None
    assert many.high is not None
    assert many.high - many.low < few.high - few.low


def test_interval_covers_simulated_arrivals_about_eighty_percent() -> None:
    """Synthetic Poisson arrivals at a known rate: the 80 % interval covers the real time.

    Each trial draws 90 days of arrivals at 0.5 a day (the evidence), then the real time
    until 10 more arrive (the answer). Seeded, so the share is fixed; 80 % ± sampling error.
    """
    rng = random.Random(18)
    rate, window, free, trials = 0.5, 90.0, 10, 400
    covered = 0
    for _ in range(trials):
        t, n = rng.expovariate(rate), 0
        while t < window:
            n += 1
            t += rng.expovariate(rate)
        truth = sum(rng.expovariate(rate) for _ in range(free))
        r = runout(free=free, arrivals=n, window_days=window)
        assert r.low is not None
        assert r.high is not None
        covered += r.low <= truth <= r.high
    assert 0.74 <= covered / trials <= 0.86
