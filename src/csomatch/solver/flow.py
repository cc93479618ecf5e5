"""Unit-size problems as a min-cost flow (OR-Tools ``SimpleMinCostFlow``).

When every arc uses exactly one place, the assignment is a transportation problem: each
demand sends one unit of flow either through one provider to the sink, or straight to the
sink along its "unmet" arc, which costs its penalty. Integral min-cost flows are optimal for
the integer problem, so the answer is exact, fast, and needs no time limit.

Nodes: demands ``0..n-1``, providers ``n..n+m-1``, the sink ``n+m``. The network is built
with OR-Tools' vectorised calls from the compiled arrays, never one Python call per arc.
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow
from ortools.init.python.init import OrToolsVersion

from csomatch.solver.compiled import (
    OBJECTIVE_LIMIT,
    CompiledProblem,
    IntArray,
    ProblemError,
    RawResult,
    SmallIntArray,
)

SOLVER_NAME = f"ortools-{OrToolsVersion.version_string()} min-cost-flow"

Arcs = tuple[SmallIntArray, SmallIntArray, IntArray, IntArray]


def solve_flow(problem: CompiledProblem) -> RawResult:
    """Solve a unit-size problem to optimality, or prove that the must-meet demands cannot fit.

    Raises:
        ProblemError: the costs are too large for the flow's cost scaling.
    """
    # An arc into a provider without places can never carry anyone: leave it out.
    arcs = np.flatnonzero(problem.capacity[problem.arc_provider] > 0).astype(np.int32)
    result = min_cost_flow(
        problem,
        units=np.ones(len(problem.demand_ids), dtype=np.int64),
        arcs=arcs,
        placement_cost=problem.arc_cost[arcs],
        unmet_cost=problem.penalty,
    )
    if result is None:
        return RawResult(
            status="infeasible", chosen=np.zeros(0, np.int32), bound=None, solver=SOLVER_NAME
        )
    flows, cost = result
    chosen = arcs[flows > 0]
    return RawResult(status="optimal", chosen=chosen, bound=cost, solver=SOLVER_NAME)


def min_cost_flow(
    problem: CompiledProblem,
    *,
    units: IntArray,
    arcs: SmallIntArray,
    placement_cost: IntArray,
    unmet_cost: IntArray,
    capacity: IntArray | None = None,
) -> tuple[IntArray, int] | None:
    """Send ``units[d]`` from each demand through ``arcs`` or its unmet arc at least cost.

    ``placement_cost`` is per unit and per entry of ``arcs``; ``unmet_cost`` per unit and per
    demand; ``capacity`` replaces the providers' free places when given. Returns the flow on
    each of ``arcs`` and the total cost, or ``None`` when the must-meet demands cannot all
    be routed.

    Raises:
        ProblemError: the costs are too large for the flow's cost scaling.
    """
    n, m = len(problem.demand_ids), len(problem.provider_ids)
    sink = n + m
    parts = [
        placement_arcs(problem, arcs, units, placement_cost),
        capacity_arcs(problem, sink, problem.capacity if capacity is None else capacity),
        unmet_arcs(problem, sink, units, unmet_cost),
    ]
    tails, heads, capacities, costs = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    _reject_cost_scaling_overflow(costs, sink + 1)

    network = SimpleMinCostFlow()
    network.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    supplies = np.zeros(sink + 1, dtype=np.int64)
    supplies[:n] = units
    supplies[sink] = -int(units.sum())
    network.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)

    status = network.solve()
    if status == SimpleMinCostFlow.INFEASIBLE:
        return None
    if status != SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")  # a bug, not bad input
    flows = np.asarray(network.flows(np.arange(len(arcs), dtype=np.int32)), dtype=np.int64)
    return flows, int(network.optimal_cost())


def placement_arcs(
    problem: CompiledProblem, arcs: SmallIntArray, units: IntArray, costs: IntArray
) -> Arcs:
    """A person may be placed with any provider they are eligible for, at the arc's cost.

    An arc carries at most the demand's units: a person takes one place at one provider.
    """
    n = len(problem.demand_ids)
    tails = problem.arc_demand[arcs]
    return tails, problem.arc_provider[arcs] + np.int32(n), units[tails], costs


def capacity_arcs(problem: CompiledProblem, sink: int, capacity: IntArray) -> Arcs:
    """A provider never receives more people than it has free places."""
    n, m = len(problem.demand_ids), len(problem.provider_ids)
    tails = np.arange(n, n + m, dtype=np.int32)
    heads = np.full(m, sink, dtype=np.int32)
    return tails, heads, capacity, np.zeros(m, dtype=np.int64)


def unmet_arcs(problem: CompiledProblem, sink: int, units: IntArray, costs: IntArray) -> Arcs:
    """A person with an unmet penalty may stay unplaced at that cost; others must be placed.

    Demands that must be met get no such arc, so if they cannot all be placed the flow is
    infeasible and the result says so.
    """
    may_go_unmet = np.flatnonzero(~problem.must_meet).astype(np.int32)
    heads = np.full(len(may_go_unmet), sink, dtype=np.int32)
    return may_go_unmet, heads, units[may_go_unmet], costs[may_go_unmet]


def _reject_cost_scaling_overflow(costs: IntArray, n_nodes: int) -> None:
    # The cost-scaling algorithm multiplies every cost by the number of nodes.
    largest = int(np.abs(costs).max(initial=0))
    if largest * (n_nodes + 1) >= OBJECTIVE_LIMIT:
        raise ProblemError(
            "$.arcs",
            f"a cost or penalty of {largest} is too large for a network of {n_nodes} nodes; "
            "scale costs and penalties down",
        )
