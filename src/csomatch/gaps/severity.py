"""Severity a funder can defend: unmet demand and the share of places at risk, on a 1-5 scale.

``classify`` is pure and reads **published** figures only (a hidden count is known to be
nonzero, nothing more). It returns the class and the rule that set it (``driver``), which
picks the sentence that explains the cell (``gaps/sentences.py``). The rules, in order, the
first that holds setting the class (docs/gaps.md, "Severity and catchments"):

- 5: at least half of the needs unmet; or a funding cliff whose weight is at least 0.5;
- 4: at least a quarter unmet; ``uncovered``; a cliff weight of at least 0.25; or 95 % of
  the places in use while there is demand;
- 3: ``under_capacity``; a cliff weight of at least 0.10; or ``underfunded`` with demand;
- 2: any unmet need (or a hidden unmet count); any cliff; ``underfunded``; ``single_donor``;
  ``stale_data``; or under 80 % of the places funded;
- 1: none of these.

The **cliff weight** is ``share of places losing funding × share of them serving demand ×
horizon`` (horizon 1 within 3 months, 0.5 within 6, 0.25 within 12): a cliff matters in
proportion to the places it closes and the demand they serve. The places serve demand in
the share that is in use (utilisation), all of them when needs went unmet; when their use is
unknown (stale numbers), as many as the needs recorded (a hidden count at its least, 1).
Cap: **a cell with no demand and free places is never above 2**.
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

#: unmet needs per need for class 5 and 4.
UNMET_CRITICAL: Final = 0.50
UNMET_HIGH: Final = 0.25
#: cliff weight for class 5, 4 and 3.
CLIFF_CRITICAL: Final = 0.50
CLIFF_HIGH: Final = 0.25
CLIFF_MODERATE: Final = 0.10
#: horizon weight of a cliff within 3, 6 or 12 months.
CLIFF_HORIZON: Final = {3: 1.0, 6: 0.5, 12: 0.25}
#: class 4: utilisation at or above this with demand.
UTILISATION_CRITICAL: Final = 0.95
#: class 2: funded places per place below this.
FUNDED_SHARE_LOW: Final = 0.80
#: the highest class of a cell without demand and with free places.
QUIET_CAP: Final = 2

Driver = Literal[
    "unmet", "cliff", "uncovered", "full", "under_capacity", "underfunded", "minor", "quiet", "none"
]


class Inputs(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The published figures and raised flags of one cell that severity weighs."""

    any_demand: bool
    needs: int | None
    unmet: int | None
    unmet_share: float | None
    uncovered: bool
    under_capacity: bool
    underfunded: bool
    single_donor: bool
    stale_services: int
    capacity: int
    free: int | None
    utilisation: float | None
    coverage: float | None
    cliff_months: int | None
    units_ending: float


def cliff_weight(x: Inputs) -> float:
    """Share of places losing funding × share serving demand × horizon (0 without a cliff)."""
    if x.cliff_months is None or x.capacity <= 0:
        return 0.0
    at_risk = min(1.0, x.units_ending / x.capacity)
    if x.unmet is None or x.unmet > 0:
        serving = 1.0
    elif x.utilisation is not None:
        serving = x.utilisation
    elif x.any_demand:
        # Use unknown (stale numbers): the places serve the needs recorded, a hidden count
        # taken at its least (1).
        serving = min(1.0, (x.needs or 1) / x.capacity)
    else:
        serving = 0.0
    return at_risk * serving * CLIFF_HORIZON.get(x.cliff_months, 0.0)


def classify(x: Inputs) -> tuple[int, Driver]:
    """The severity class 1-5 and the rule that set it."""
    severity, driver = _uncapped(x)
    if severity > QUIET_CAP and not x.any_demand and x.free is not None and x.free > 0:
        return QUIET_CAP, "quiet"
    return severity, driver


def _uncapped(x: Inputs) -> tuple[int, Driver]:
    """The class before the cap of quiet cells: the first rule that holds."""
    share = x.unmet_share
    if share is not None and share >= UNMET_CRITICAL:
        return 5, "unmet"
    cliff = cliff_weight(x) if x.cliff_months is not None else 0.0
    if cliff >= CLIFF_CRITICAL:
        return 5, "cliff"
    if share is not None and share >= UNMET_HIGH:
        return 4, "unmet"
    if x.uncovered:
        return 4, "uncovered"
    if cliff >= CLIFF_HIGH:
        return 4, "cliff"
    if x.any_demand and x.utilisation is not None and x.utilisation >= UTILISATION_CRITICAL:
        return 4, "full"
    return _moderate(x, cliff)


def _moderate(x: Inputs, cliff: float) -> tuple[int, Driver]:
    """Class 3 to 1, when no rule of class 4 or 5 holds."""
    if x.under_capacity:
        return 3, "under_capacity"
    if cliff >= CLIFF_MODERATE:
        return 3, "cliff"
    if x.underfunded and x.any_demand:
        return 3, "underfunded"
    if x.unmet is None or x.unmet > 0:
        return 2, "unmet"
    if x.cliff_months is not None:
        return 2, "cliff"
    if (
        x.underfunded
        or x.single_donor
        or x.stale_services
        or (x.coverage is not None and x.coverage < FUNDED_SHARE_LOW)
    ):
        return 2, "minor"
    return 1, "none"
