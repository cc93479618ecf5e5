"""Problem factories and an independent exact solver (SciPy's HiGHS MILP) for the solver tests.

Plain functions with keyword overrides; every random instance is built from a seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import msgspec
import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from csomatch.solver import Arc, Demand, Problem, Provider


def demand(id: str = "d1", *, size: int = 1, unmet_penalty: int | None = None) -> Demand:
    """A demand; must be met unless a penalty is given."""
    return Demand(id=id, size=size, unmet_penalty=unmet_penalty)


def provider(id: str = "p1", *, capacity: int = 1) -> Provider:
    """A provider with ``capacity`` free places."""
    return Provider(id=id, capacity=capacity)


def arc(
    demand: str = "d1", provider: str = "p1", *, cost: int = 10, size: int | None = None
) -> Arc:
    """An eligible pairing."""
    return Arc(demand=demand, provider=provider, cost=cost, size=size)


def problem(
    demands: tuple[Demand, ...] = (),
    providers: tuple[Provider, ...] = (),
    arcs: tuple[Arc, ...] = (),
) -> Problem:
    """A problem from its three lists."""
    return Problem(demands=demands, providers=providers, arcs=arcs)


def random_problem(
    seed: int,
    *,
    groups: bool,
    max_demands: int = 12,
    max_providers: int = 5,
    density: float = 0.6,
    must_meet_share: float = 0.25,
    override_share: float = 0.2,
) -> Problem:
    """A small random instance: some demands must be met, some are groups when ``groups``."""
    rng = random.Random(seed)
    n = rng.randint(1, max_demands)
    m = rng.randint(1, max_providers)
    demands = tuple(
        Demand(
            id=f"d{i:02d}",
            size=rng.randint(1, 4) if groups else 1,
            unmet_penalty=None if rng.random() < must_meet_share else rng.randint(0, 150),
        )
        for i in range(n)
    )
    providers = tuple(
        Provider(id=f"p{j}", capacity=rng.randint(0, 8 if groups else 4)) for j in range(m)
    )
    arcs = tuple(
        Arc(
            demand=d.id,
            provider=p.id,
            cost=rng.randint(-20, 100),
            size=rng.randint(1, 4) if groups and rng.random() < override_share else None,
        )
        for d in demands
        for p in providers
        if rng.random() < density
    )
    sizes = {d.id: d.size for d in demands}
    if groups and all((a.size or sizes[a.demand]) == 1 for a in arcs):
        # Make sure a group instance really is a generalised assignment, not a flow.
        if arcs:
            arcs = (msgspec.structs.replace(arcs[0], size=2), *arcs[1:])
        else:
            arcs = (Arc(demand=demands[0].id, provider=providers[0].id, cost=1, size=2),)
    shuffled = list(arcs)
    rng.shuffle(shuffled)
    return Problem(demands=demands, providers=providers, arcs=tuple(shuffled))


@dataclass(frozen=True)
class Reference:
    """The optimum found by the independent MILP solver, or ``None`` when infeasible."""

    objective: int | None


def milp_optimum(problem: Problem) -> Reference:
    """Solve ``problem`` exactly with SciPy's HiGHS MILP, sharing no code with csomatch."""
    demand_row = {d.id: i for i, d in enumerate(problem.demands)}
    provider_row = {p.id: j for j, p in enumerate(problem.providers)}
    size = {d.id: d.size for d in problem.demands}
    penalised = [d for d in problem.demands if d.unmet_penalty is not None]
    n_vars = len(problem.arcs) + len(penalised)
    if not problem.demands:
        return Reference(0)
    if n_vars == 0:
        return Reference(None)

    cost = [a.cost for a in problem.arcs] + [d.unmet_penalty or 0 for d in penalised]
    one_each = sparse.lil_array((len(problem.demands), n_vars))
    load = sparse.lil_array((max(len(problem.providers), 1), n_vars))
    for k, a in enumerate(problem.arcs):
        one_each[demand_row[a.demand], k] = 1
        load[provider_row[a.provider], k] = size[a.demand] if a.size is None else a.size
    for k, d in enumerate(penalised, start=len(problem.arcs)):
        one_each[demand_row[d.id], k] = 1
    capacity = [p.capacity for p in problem.providers] or [0]
    result = milp(
        np.array(cost, dtype=np.float64),
        constraints=[
            LinearConstraint(one_each.tocsr(), 1, 1),
            LinearConstraint(load.tocsr(), -np.inf, np.array(capacity, dtype=np.float64)),
        ],
        integrality=np.ones(n_vars),
        bounds=Bounds(0, 1),
    )
    if result.status == 2:
        return Reference(None)
    assert result.status == 0, result.message
    return Reference(round(result.fun))


def read_gap(path: Path) -> Problem:
    """An OR-Library GAP file as a Problem: jobs must be met, weights become arc sizes."""
    numbers = [int(token) for token in path.read_text().split()]
    m, n = numbers[0], numbers[1]
    costs = np.array(numbers[2 : 2 + m * n]).reshape(m, n)
    weights = np.array(numbers[2 + m * n : 2 + 2 * m * n]).reshape(m, n)
    capacities = numbers[2 + 2 * m * n : 2 + 2 * m * n + m]
    assert len(numbers) == 2 + 2 * m * n + m, f"{path}: unexpected length"
    return Problem(
        demands=tuple(Demand(id=f"job{j}") for j in range(n)),
        providers=tuple(Provider(id=f"agent{i}", capacity=capacities[i]) for i in range(m)),
        arcs=tuple(
            Arc(
                demand=f"job{j}",
                provider=f"agent{i}",
                cost=int(costs[i, j]),
                size=int(weights[i, j]),
            )
            for i in range(m)
            for j in range(n)
        ),
    )
