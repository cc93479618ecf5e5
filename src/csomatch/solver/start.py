"""Starting solutions and lower bounds for CP-SAT, from a greedy pass and the flow relaxation.

Both starts are cheap (a sort, or one min-cost flow) and respect every hard rule except,
possibly, placing every must-meet demand. CP-SAT receives the better one as a hint; if the
search runs out of time before it finds anything, the start itself is the answer. The
relaxations also give proven lower bounds, so even such an answer reports its gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import lcm

import numpy as np

from csomatch.solver.compiled import (
    OBJECTIVE_LIMIT,
    BoolArray,
    CompiledProblem,
    IntArray,
    SmallIntArray,
)
from csomatch.solver.flow import min_cost_flow

#: Largest multiplier applied to costs so that splitting a group's cost over its places
#: stays (nearly) exact in integers.
_MAX_COST_SCALE = 720_720  # lcm(1..16)
#: Rounds of "solve the relaxation, fix the groups it places whole".
_RELAX_AND_FIX_ROUNDS = 5


@dataclass(frozen=True, slots=True)
class Start:
    """A candidate assignment: one flag per usable arc, and what it achieves."""

    taken: BoolArray
    #: Must-meet demands it leaves unplaced; 0 means the start is a feasible solution.
    missing: int
    objective: int


def best_start(problem: CompiledProblem, usable: SmallIntArray) -> tuple[Start, int]:
    """The better of the greedy start and the rounded flow relaxation, and a lower bound."""
    candidates = [greedy_start(problem, usable)]
    bound = cheapest_choice_bound(problem, usable)
    relaxed = relaxation_start(problem, usable)
    if relaxed is not None:
        start, relaxation_bound = relaxed
        candidates.append(start)
        if relaxation_bound is not None:
            bound = max(bound, relaxation_bound)
    return min(candidates, key=lambda start: (start.missing, start.objective)), bound


def cheapest_choice_bound(problem: CompiledProblem, usable: SmallIntArray) -> int:
    """A lower bound ignoring capacity: each demand at its cheapest arc or its penalty."""
    cheapest = np.where(problem.must_meet, np.iinfo(np.int64).max, problem.penalty)
    np.minimum.at(cheapest, problem.arc_demand[usable], problem.arc_cost[usable])
    # A must-meet demand without arcs makes the problem infeasible; it adds nothing here.
    cheapest[cheapest == np.iinfo(np.int64).max] = 0
    return int(cheapest.sum())


def greedy_start(problem: CompiledProblem, usable: SmallIntArray) -> Start:
    """Must-meet demands and big groups first, then cheapest arcs first, while places remain."""
    arc_demand = problem.arc_demand[usable]
    order = np.lexsort(
        (problem.arc_cost[usable], -problem.arc_size[usable], ~problem.must_meet[arc_demand])
    )
    return _take_in_order(problem, usable, order.tolist())


def relaxation_start(
    problem: CompiledProblem, usable: SmallIntArray
) -> tuple[Start, int | None] | None:
    """Round the min-cost flow in which a group may be split across providers.

    Each demand sends its size in units of flow; a unit costs the arc's cost divided by the
    size. The flow is the linear relaxation of the assignment when arcs do not override
    sizes, and places most groups whole. Those are fixed, the flow is solved again for the
    rest with the places that are left, and so on for a few rounds; groups still split go
    to the provider that received most of them, else the cheapest with room. ``None`` when
    the relaxation cannot be built (costs too large to scale) or cannot place the must-meet
    demands.

    Returns:
        The rounded start, and the first relaxation's cost as a lower bound when it is one:
        when no usable arc overrides its demand's size (costs are rounded down, so the bound
        is never too high).
    """
    sizes = problem.demand_size
    arc_demand = problem.arc_demand[usable]
    arc_size = problem.arc_size[usable]
    scale = _cost_scale(problem, usable)
    if scale is None:
        return None
    unit_cost = problem.arc_cost[usable] * scale // sizes[arc_demand]
    unmet_unit_cost = problem.penalty * scale // sizes

    is_open = np.ones(len(sizes), dtype=np.bool_)
    left = problem.capacity.copy()
    taken = np.zeros(len(usable), dtype=np.bool_)
    share = np.zeros(len(usable))
    bound: int | None = None
    for round_number in range(_RELAX_AND_FIX_ROUNDS):
        live = np.flatnonzero(is_open[arc_demand])
        result = min_cost_flow(
            problem,
            units=np.where(is_open, sizes, 0),
            arcs=usable[live],
            placement_cost=unit_cost[live],
            unmet_cost=unmet_unit_cost,
            capacity=left,
        )
        if result is None:
            if round_number == 0:
                return None
            break
        flows, relaxed_cost = result
        if round_number == 0 and bool(np.all(arc_size == sizes[arc_demand])):
            bound = -(-relaxed_cost // scale)
        share[:] = 0
        share[live] = flows / sizes[arc_demand[live]]
        # A group routed whole is fixed, if its real size there (an arc may override it)
        # is no more than the places the flow reserved for it.
        whole = live[(flows == sizes[arc_demand[live]]) & (arc_size[live] <= flows)]
        taken[whole] = True
        is_open[arc_demand[whole]] = False
        np.subtract.at(left, problem.arc_provider[usable[whole]], arc_size[whole])
        routed = np.bincount(arc_demand[live], weights=flows, minlength=len(sizes))
        wholly_unmet = is_open & ~problem.must_meet & (routed == 0)
        is_open &= ~wholly_unmet
        if whole.size == 0 and not wholly_unmet.any():
            break

    # Groups still split: must-meet demands first, then those the relaxation placed most
    # wholly, each at the provider that received most of it, then the cheapest.
    best_share = np.zeros(len(sizes))
    np.maximum.at(best_share, arc_demand, share)
    order = np.lexsort(
        (problem.arc_cost[usable], -share, -best_share[arc_demand], ~problem.must_meet[arc_demand])
    )
    open_arcs = order[is_open[arc_demand[order]]]
    start = _take_in_order(problem, usable, open_arcs.tolist(), taken=taken, left=left)
    return start, bound


def _cost_scale(problem: CompiledProblem, usable: SmallIntArray) -> int | None:
    """A multiplier that keeps per-place costs integral yet the flow's sums within int64."""
    sizes = problem.demand_size
    n_nodes = len(problem.demand_ids) + len(problem.provider_ids) + 1
    largest = max(
        int(np.abs(problem.arc_cost[usable]).max(initial=0)),
        int(problem.penalty.max(initial=0)),
        1,
    )
    scale = min(lcm(*np.unique(sizes).tolist(), 1), _MAX_COST_SCALE)
    scale = min(scale, OBJECTIVE_LIMIT // (largest * max(n_nodes + 2, int(sizes.sum()) + 1)))
    return scale if scale >= 1 else None


def _take_in_order(
    problem: CompiledProblem,
    usable: SmallIntArray,
    order: list[int],
    *,
    taken: BoolArray | None = None,
    left: IntArray | None = None,
) -> Start:
    """Walk usable arcs in ``order``; take one if its demand is open and the group fits.

    ``taken`` and ``left`` (places per provider) carry decisions already made.
    """
    arc_demand = problem.arc_demand[usable].tolist()
    arc_provider = problem.arc_provider[usable].tolist()
    sizes = problem.arc_size[usable].tolist()
    taken = np.zeros(len(usable), dtype=np.bool_) if taken is None else taken.copy()
    places = (problem.capacity if left is None else left).tolist()
    placed = [False] * len(problem.demand_ids)
    for d in problem.arc_demand[usable][taken].tolist():
        placed[d] = True
    for a in order:
        d, p, size = arc_demand[a], arc_provider[a], sizes[a]
        if not placed[d] and size <= places[p]:
            placed[d] = True
            places[p] -= size
            taken[a] = True
    is_placed = np.array(placed, dtype=np.bool_)
    objective = int(problem.arc_cost[usable][taken].sum()) + int(problem.penalty[~is_placed].sum())
    missing = int(np.count_nonzero(problem.must_meet & ~is_placed))
    return Start(taken=taken, missing=missing, objective=objective)
