"""The early warning's model: days until a kind of place is full, and how sure that is.

Pure functions, no database (docs/early-warnings.md, "The model"):

- ``n`` arrivals (needs recorded) were counted in a window of ``T`` days; ``F`` places are
  free now. Arrivals are a Poisson process of unknown rate λ; the estimate is λ̂ = n / T a day.
- **Days until full**: F / λ̂ = F·T / n, the time the F free places take to be taken at the
  current rate (departures are not counted: the worst case, see the docs).
- **Uncertainty**: both the randomness of arrivals and the rate's own uncertainty. With the
  Jeffreys prior, λ given n arrivals in T days is Gamma(n + ½, T); given λ, the arrivals in
  the next d days are Poisson(λd). Together they are negative binomial with r = n + ½ and
  p = T / (T + d), so the places are full within d days with probability
  P(N_d ≥ F) = 1 − Σ_{j<F} C(r+j−1, j) p^r (1−p)^j. The interval is the ``LOW`` and
  ``HIGH`` quantiles of that time (an 80 % interval).
"""

from __future__ import annotations

import math
from typing import Final

import msgspec

#: The quantiles of the interval: 80 % of the predictive probability lies between them.
LOW: Final = 0.10
HIGH: Final = 0.90
#: Days shown at most: a longer time (or no arrivals at all) reads as "not in sight".
MAX_DAYS: Final = 3650.0
#: The interval's bounds are found to this many days.
PRECISION_DAYS: Final = 0.05


class Runout(msgspec.Struct, frozen=True, kw_only=True):
    """Days until full, its 80 % interval (``None``: beyond ``MAX_DAYS`` or no arrivals)."""

    rate_per_day: float
    days: float | None
    low: float | None
    high: float | None


def full_within(days: float, *, free: int, arrivals: int, window_days: float) -> float:
    """The probability that ``free`` places are all taken within ``days`` (module doc).

    P(N_d ≥ F) for N_d negative binomial (r = n + ½, p = T / (T + d)): 1 − I_p(r, F), the
    regularised incomplete beta function, in O(√F) steps rather than a sum of F terms.
    """
    if free <= 0:
        return 1.0
    if days <= 0:
        return 0.0
    return 1.0 - incomplete_beta(arrivals + 0.5, free, window_days / (window_days + days))


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    # The fraction converges fast on this side of the mean; the other side by symmetry.
    if x < (a + 1) / (a + b + 2):
        return front * _fraction(a, b, x) / a
    return 1.0 - front * _fraction(b, a, 1.0 - x) / b


def _fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz's method)."""
    tiny, eps = 1e-300, 1e-15
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def quantile(q: float, *, free: int, arrivals: int, window_days: float) -> float | None:
    """The days by which the places are full with probability ``q`` (None: > MAX_DAYS)."""
    if free <= 0:
        return 0.0

    def cdf(d: float) -> float:
        return full_within(d, free=free, arrivals=arrivals, window_days=window_days)

    if cdf(MAX_DAYS) < q:
        return None
    lo, hi = 0.0, MAX_DAYS
    while hi - lo > PRECISION_DAYS:
        mid = (lo + hi) / 2
        if cdf(mid) >= q:
            hi = mid
        else:
            lo = mid
    return hi


def runout(*, free: int, arrivals: int, window_days: float) -> Runout:
    """Days until ``free`` places are full after ``arrivals`` in ``window_days`` (module doc)."""
    if window_days <= 0 or free < 0 or arrivals < 0:
        raise ValueError("window_days must be positive, free and arrivals not negative")
    rate = arrivals / window_days
    if free == 0:
        return Runout(rate_per_day=rate, days=0.0, low=0.0, high=0.0)
    if arrivals == 0:
        return Runout(rate_per_day=0.0, days=None, low=None, high=None)
    days = free / rate
    return Runout(
        rate_per_day=rate,
        days=days if days <= MAX_DAYS else None,
        low=quantile(LOW, free=free, arrivals=arrivals, window_days=window_days),
        high=quantile(HIGH, free=free, arrivals=arrivals, window_days=window_days),
    )
