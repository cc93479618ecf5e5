"""A validated `Problem` as index arrays, the shared input of the flow and CP-SAT models.

Ids become positions (one pass over the arcs); everything else is a numpy array, so the
models are built without a Python loop per arc. Validation happens here, once, because
msgspec checks the `Meta` constraints only when decoding, not when a `Problem` is built in
Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Final, NoReturn, TypeGuard

import numpy as np
import numpy.typing as npt

from csomatch.solver.problem import (
    MAX_COST,
    MAX_SIZE,
    Arc,
    Demand,
    Problem,
    Provider,
    SolveParams,
    Status,
)

#: Every objective the solvers see stays below this, so no sum can overflow a signed int64.
OBJECTIVE_LIMIT: Final = 2**62

IntArray = npt.NDArray[np.int64]
SmallIntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

_demand_of = attrgetter("demand")
_provider_of = attrgetter("provider")
_cost_of = attrgetter("cost")
_size_of = attrgetter("size")
_penalty_of = attrgetter("unmet_penalty")
_capacity_of = attrgetter("capacity")


class ProblemError(ValueError):
    """A problem breaks a rule; ``path`` names the offending value, e.g. ``$.arcs[3].demand``."""

    def __init__(self, path: str, detail: str) -> None:
        super().__init__(f"{detail} - at `{path}`")
        self.path = path
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CompiledProblem:
    """A problem whose ids are positions: arc ``i`` joins ``demand[i]`` and ``provider[i]``."""

    demand_ids: list[str]
    provider_ids: list[str]
    #: Places each demand needs (its own size, used when an arc does not override it).
    demand_size: IntArray
    #: Penalty for leaving each demand unmet; 0 where ``must_meet`` is true.
    penalty: IntArray
    #: True where the demand has no unmet penalty and so must be placed.
    must_meet: BoolArray
    #: Free places per provider, clipped to the places its arcs could ever use.
    capacity: IntArray
    arc_demand: SmallIntArray
    arc_provider: SmallIntArray
    arc_cost: IntArray
    #: Places used by each arc: the arc's own size, else its demand's size.
    arc_size: IntArray

    @property
    def is_unit(self) -> bool:
        """True when every arc uses exactly one place, so the problem is a min-cost flow."""
        return bool(np.all(self.arc_size == 1))


@dataclass(frozen=True, slots=True)
class RawResult:
    """What a model returns before ids are restored: the arcs chosen, and the proof."""

    status: Status
    #: Indices into the compiled arcs; empty when there is no solution.
    chosen: SmallIntArray
    bound: int | None
    solver: str


def check_params(params: SolveParams) -> None:
    """Reject parameters outside their documented ranges (Python callers skip msgspec)."""
    if not params.time_limit_s > 0:
        raise ProblemError("$.time_limit_s", f"time limit {params.time_limit_s} must be > 0")
    if not 1 <= params.workers <= 256:
        raise ProblemError("$.workers", f"workers {params.workers} must be between 1 and 256")
    if not 0 <= params.seed <= 2**31 - 1:
        raise ProblemError("$.seed", f"seed {params.seed} must be between 0 and 2147483647")


def compile_problem(problem: Problem) -> CompiledProblem:
    """Validate ``problem`` and turn it into index arrays.

    Raises:
        ProblemError: a duplicate id, an arc naming an unknown demand or provider, two arcs
            for the same pair, or a number outside its range.
    """
    demand_index = _index_ids(problem.demands, "demands")
    provider_index = _index_ids(problem.providers, "providers")
    demand_size, penalty, must_meet = _demand_arrays(problem)

    arcs = problem.arcs
    n_arcs = len(arcs)
    arc_demand = np.fromiter(
        map(demand_index.get, map(_demand_of, arcs), repeat(-1)), dtype=np.int32, count=n_arcs
    )
    arc_provider = np.fromiter(
        map(provider_index.get, map(_provider_of, arcs), repeat(-1)), dtype=np.int32, count=n_arcs
    )
    _reject_unknown(arcs, arc_demand, "demand", "demands")
    _reject_unknown(arcs, arc_provider, "provider", "providers")
    _reject_duplicate_arcs(arcs, arc_demand, arc_provider, len(provider_index))
    arc_cost = _arc_costs(arcs)
    arc_size = _arc_sizes(arcs, arc_demand, demand_size)
    _reject_overflow(arc_demand, arc_cost, penalty, len(demand_index))
    capacity = _capacities(problem, arc_provider, arc_size)

    return CompiledProblem(
        demand_ids=list(demand_index),
        provider_ids=list(provider_index),
        demand_size=demand_size,
        penalty=penalty,
        must_meet=must_meet,
        capacity=capacity,
        arc_demand=arc_demand,
        arc_provider=arc_provider,
        arc_cost=arc_cost,
        arc_size=arc_size,
    )


def compile_arrays(
    demands: Sequence[Demand],
    providers: Sequence[Provider],
    arc_demand: npt.ArrayLike,
    arc_provider: npt.ArrayLike,
    arc_cost: npt.ArrayLike,
) -> CompiledProblem:
    """`compile_problem` for a caller that holds its arcs as arrays of positions.

    Arc ``i`` joins ``demands[arc_demand[i]]`` and ``providers[arc_provider[i]]`` at
    ``arc_cost[i]``, using the demand's size: no `Arc` object per arc is built. A valid
    problem compiles to exactly what the equivalent `Problem` compiles to; an invalid one
    raises the same `ProblemError` (the equivalent `Problem` is built only then, to name
    the offending value).
    """
    problem = Problem(demands=tuple(demands), providers=tuple(providers), arcs=())
    _index_ids(problem.demands, "demands")
    _index_ids(problem.providers, "providers")
    demand_size, penalty, must_meet = _demand_arrays(problem)
    demand_at = np.asarray(arc_demand)
    provider_at = np.asarray(arc_provider)
    cost = np.asarray(arc_cost)
    n, m = len(demands), len(providers)
    if not (demand_at.ndim == provider_at.ndim == cost.ndim == 1) or not (
        len(demand_at) == len(provider_at) == len(cost)
    ):
        raise ProblemError("$.arcs", "arc positions and costs must be three arrays of one length")
    for field, positions, size in (("demand", demand_at, n), ("provider", provider_at, m)):
        if positions.dtype.kind not in "iu" and positions.size:
            raise ProblemError(f"$.arcs[0].{field}", f"{field} positions must be integers")
        outside = np.flatnonzero((positions < 0) | (positions >= size))
        if outside.size:
            i = int(outside[0])
            raise ProblemError(
                f"$.arcs[{i}].{field}",
                f"{field} position {int(positions[i])} is not in {field}s (0..{size - 1})",
            )
    arc_d = demand_at.astype(np.int32)
    arc_p = provider_at.astype(np.int32)
    pair = arc_d.astype(np.int64) * max(m, 1) + arc_p
    if (
        (cost.dtype.kind not in "iu" and cost.size)
        or np.any((cost < -MAX_COST) | (cost > MAX_COST))
        or len(np.unique(pair)) != len(pair)
    ):
        # Name the offending value the way `compile_problem` does.
        return compile_problem(_as_problem(demands, providers, arc_d, arc_p, cost))
    arc_c = cost.astype(np.int64)
    arc_size = demand_size[arc_d]
    _reject_overflow(arc_d, arc_c, penalty, n)
    return CompiledProblem(
        demand_ids=[d.id for d in problem.demands],
        provider_ids=[p.id for p in problem.providers],
        demand_size=demand_size,
        penalty=penalty,
        must_meet=must_meet,
        capacity=_capacities(problem, arc_p, arc_size),
        arc_demand=arc_d,
        arc_provider=arc_p,
        arc_cost=arc_c,
        arc_size=arc_size,
    )


def _as_problem(
    demands: Sequence[Demand],
    providers: Sequence[Provider],
    arc_demand: SmallIntArray,
    arc_provider: SmallIntArray,
    arc_cost: npt.NDArray[np.generic],
) -> Problem:
    """The `Problem` that arrays of (valid) positions stand for."""
    return Problem(
        demands=tuple(demands),
        providers=tuple(providers),
        arcs=tuple(
            Arc(demand=demands[d].id, provider=providers[p].id, cost=c)
            for d, p, c in zip(
                arc_demand.tolist(), arc_provider.tolist(), arc_cost.tolist(), strict=True
            )
        ),
    )


def _index_ids(items: Sequence[Demand | Provider], field: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, item in enumerate(items):
        item_id = item.id
        if not isinstance(item_id, str) or not item_id:
            raise ProblemError(f"$.{field}[{position}].id", "an id must be a non-empty string")
        first = index.setdefault(item_id, position)
        if first != position:
            raise ProblemError(
                f"$.{field}[{position}].id",
                f"id {item_id!r} is already used by $.{field}[{first}]; ids must be unique",
            )
    return index


def _demand_arrays(problem: Problem) -> tuple[IntArray, IntArray, BoolArray]:
    sizes = list(map(_size_of, problem.demands))
    penalties = list(map(_penalty_of, problem.demands))
    # Vectorised when every value is a plain int in range (or None for a penalty); anything
    # else goes through the loop below, which names the first offending value.
    if set(map(type, sizes)) <= {int} and set(map(type, penalties)) <= {int, type(None)}:
        must_meet = np.fromiter(map(_is_none, penalties), dtype=np.bool_, count=len(penalties))
        with suppress(OverflowError):
            size = np.array(sizes, dtype=np.int64)
            penalty = np.array([p or 0 for p in penalties], dtype=np.int64)
            if not (
                np.any((size < 1) | (size > MAX_SIZE))
                or np.any((penalty < 0) | (penalty > MAX_COST))
            ):
                return size, penalty, must_meet
    return _demand_arrays_one_by_one(problem)


def _demand_arrays_one_by_one(problem: Problem) -> tuple[IntArray, IntArray, BoolArray]:
    n = len(problem.demands)
    size = np.empty(n, dtype=np.int64)
    penalty = np.zeros(n, dtype=np.int64)
    must_meet = np.zeros(n, dtype=np.bool_)
    for i, demand in enumerate(problem.demands):
        if not (_is_int(demand.size) and 1 <= demand.size <= MAX_SIZE):
            raise ProblemError(
                f"$.demands[{i}].size", f"size {demand.size} must be between 1 and {MAX_SIZE}"
            )
        size[i] = demand.size
        if demand.unmet_penalty is None:
            must_meet[i] = True
        elif _is_int(demand.unmet_penalty) and 0 <= demand.unmet_penalty <= MAX_COST:
            penalty[i] = demand.unmet_penalty
        else:
            raise ProblemError(
                f"$.demands[{i}].unmet_penalty",
                f"penalty {demand.unmet_penalty} must be between 0 and {MAX_COST}; "
                "scale penalties and costs down together",
            )
    return size, penalty, must_meet


def _capacities(problem: Problem, arc_provider: SmallIntArray, arc_size: IntArray) -> IntArray:
    given = list(map(_capacity_of, problem.providers))
    capacity: IntArray | None = None
    if set(map(type, given)) <= {int}:
        # Vectorised when every capacity is a plain int that fits; else one by one below.
        with suppress(OverflowError):
            capacity = np.minimum(np.array(given, dtype=np.int64), OBJECTIVE_LIMIT)
            if np.any(capacity < 0):
                capacity = None
    if capacity is None:
        capacity = _capacities_one_by_one(problem)
    # More places than all arcs into a provider can use changes nothing, and clipping keeps
    # the numbers the models see small.
    reachable = np.zeros(len(capacity), dtype=np.int64)
    np.add.at(reachable, arc_provider, arc_size)
    return np.minimum(capacity, reachable)


def _capacities_one_by_one(problem: Problem) -> IntArray:
    capacity = np.empty(len(problem.providers), dtype=np.int64)
    for i, provider in enumerate(problem.providers):
        if not (_is_int(provider.capacity) and provider.capacity >= 0):
            raise ProblemError(
                f"$.providers[{i}].capacity",
                f"capacity {provider.capacity!r} must be an integer >= 0",
            )
        capacity[i] = min(provider.capacity, OBJECTIVE_LIMIT)
    return capacity


def _reject_unknown(
    arcs: tuple[Arc, ...], positions: SmallIntArray, field: str, collection: str
) -> None:
    unknown = np.flatnonzero(positions < 0)
    if unknown.size:
        i = int(unknown[0])
        name = getattr(arcs[i], field)
        raise ProblemError(
            f"$.arcs[{i}].{field}",
            f"{field} {name!r} is not in {collection}; add it there or remove the arc",
        )


def _reject_duplicate_arcs(
    arcs: tuple[Arc, ...], arc_demand: SmallIntArray, arc_provider: SmallIntArray, n_providers: int
) -> None:
    pair = arc_demand.astype(np.int64) * max(n_providers, 1) + arc_provider
    order = np.argsort(pair, kind="stable")
    repeated = np.flatnonzero(pair[order][1:] == pair[order][:-1])
    if repeated.size:
        # Report the earliest second occurrence, naming the first one.
        seconds = order[repeated + 1]
        firsts = order[repeated]
        k = int(np.argmin(seconds))
        i, first = int(seconds[k]), int(firsts[k])
        raise ProblemError(
            f"$.arcs[{i}]",
            f"demand {arcs[i].demand!r} and provider {arcs[i].provider!r} already have an arc "
            f"at $.arcs[{first}]; keep one arc per pair",
        )


def _arc_costs(arcs: tuple[Arc, ...]) -> IntArray:
    if not arcs:
        return np.zeros(0, dtype=np.int64)
    # np.array infers float64 for a float cost and object for one beyond int64: both rejected.
    raw = np.array(list(map(_cost_of, arcs)))
    if raw.dtype.kind not in "iu":
        for i, arc in enumerate(arcs):
            if not _is_cost(arc.cost):
                _raise_cost(i, arc.cost)
    outside = np.flatnonzero((raw > MAX_COST) | (raw < -MAX_COST))
    if outside.size:
        i = int(outside[0])
        _raise_cost(i, arcs[i].cost)
    return raw.astype(np.int64)


def _is_none(value: object) -> bool:
    return value is None


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_cost(value: object) -> bool:
    return _is_int(value) and -MAX_COST <= value <= MAX_COST


def _raise_cost(i: int, cost: object) -> NoReturn:
    raise ProblemError(
        f"$.arcs[{i}].cost",
        f"cost {cost!r} must be an integer between -{MAX_COST} and {MAX_COST}; "
        "scale costs down (e.g. kilometres instead of metres)",
    )


def _arc_sizes(arcs: tuple[Arc, ...], arc_demand: SmallIntArray, demand_size: IntArray) -> IntArray:
    own = list(map(_size_of, arcs))
    inherited = demand_size[arc_demand]
    if own.count(None) == len(own):
        return inherited
    for i, size in enumerate(own):
        if size is not None and not (_is_int(size) and 1 <= size <= MAX_SIZE):
            raise ProblemError(
                f"$.arcs[{i}].size", f"size {size!r} must be between 1 and {MAX_SIZE}"
            )
    given = np.array([0 if size is None else size for size in own], dtype=np.int64)
    return np.where(given > 0, given, inherited)


def _reject_overflow(
    arc_demand: SmallIntArray, arc_cost: IntArray, penalty: IntArray, n_demands: int
) -> None:
    worst = penalty.copy()
    np.maximum.at(worst, arc_demand, np.abs(arc_cost))
    if float(worst.sum(dtype=np.float64)) >= OBJECTIVE_LIMIT:
        raise ProblemError(
            "$.arcs",
            f"costs and penalties of {n_demands} demands could add up to more than 2^62; "
            "scale costs and penalties down",
        )
