"""The hard rules and objective terms of the CP-SAT assignment model, one function each.

Each docstring states the rule in words a caseworker can check against practice. The
min-cost flow in `flow.py` encodes the same rules as network arcs for unit-size problems.

A group staying together is not a separate rule: one yes/no decision per (demand, provider)
places the whole group, so a family of three is never split between two shelters.
"""

from __future__ import annotations

from collections.abc import Sequence

from ortools.sat.python import cp_model


def add_one_placement_per_demand(
    model: cp_model.CpModel, placements: Sequence[cp_model.IntVar], unmet: cp_model.IntVar
) -> None:
    """Each person or group is placed with at most one provider, or counted as unmet.

    Exactly one of "placed at provider A", "placed at provider B", … or "unmet" is true, so a
    person is never booked twice and never both placed and reported unmet.
    """
    model.add_exactly_one([*placements, unmet])


def add_must_be_met(model: cp_model.CpModel, unmet: cp_model.IntVar) -> None:
    """A person whose needs must be met (no unmet penalty) is always placed.

    If that is impossible the whole problem is infeasible and the result says so.
    """
    model.add(unmet == 0)


def add_provider_capacity(
    model: cp_model.CpModel,
    placements: Sequence[cp_model.IntVar],
    sizes: Sequence[int],
    capacity: int,
) -> None:
    """A provider never receives more places than it has free.

    A placement uses as many places as the group needs (a family of three uses three), unless
    the arc says otherwise (a room that holds the family counts once).
    """
    if sum(sizes) > capacity:
        model.add(cp_model.LinearExpr.weighted_sum(placements, sizes) <= capacity)


def placement_cost(
    placements: Sequence[cp_model.IntVar], costs: Sequence[int]
) -> cp_model.LinearExpr:
    """Each placement costs what the matcher scored for it (distance, fit, freshness, …)."""
    return cp_model.LinearExpr.weighted_sum(placements, costs)


def unmet_cost(unmet: Sequence[cp_model.IntVar], penalties: Sequence[int]) -> cp_model.LinearExpr:
    """Each person left without a place costs their unmet penalty."""
    return cp_model.LinearExpr.weighted_sum(unmet, penalties)
