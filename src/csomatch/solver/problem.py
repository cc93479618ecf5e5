"""The solver's integer view of a matching: problem, parameters and solution types.

These types are deliberately separate from the registry (``csomatch.domain``) and the API
schemas: the domain matcher converts referrals and services into a `Problem`, and reads a
`Solution` back. Everything here is an integer: distances, scores and penalties are scaled
before a problem is built, because CP-SAT and min-cost flow accept integers only.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

#: Largest magnitude of one cost or penalty. Big enough for euro cents or metres across the
#: region, small enough that sums over millions of demands still fit in 64-bit integers.
MAX_COST: Final = 10**12
#: Largest size of one demand (people or places needed together).
MAX_SIZE: Final = 1_000_000

Id = Annotated[str, Meta(min_length=1, max_length=200)]
Count = Annotated[int, Meta(ge=0)]
Size = Annotated[int, Meta(ge=1, le=MAX_SIZE)]
Cost = Annotated[int, Meta(ge=-MAX_COST, le=MAX_COST)]
Penalty = Annotated[int, Meta(ge=0, le=MAX_COST)]
Seconds = Annotated[float, Meta(gt=0)]
Workers = Annotated[int, Meta(ge=1, le=256)]
Seed = Annotated[int, Meta(ge=0, le=2**31 - 1)]

Status = Literal["optimal", "feasible", "infeasible", "unknown"]


class _Input(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """Base of the types read from a problem file: immutable, unknown fields rejected."""


class _Output(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the types the solver returns: immutable."""


# Subclasses repeat ``frozen=True``: msgspec inherits it anyway, but mypy's dataclass
# transform does not, and would otherwise report a non-frozen subclass of a frozen base.


class Demand(_Input, frozen=True):
    """One need to place: a person or a group that must stay together (``size`` places)."""

    id: Id
    size: Size = 1
    #: Cost of leaving this demand unmet; ``None`` means it must be met.
    unmet_penalty: Penalty | None = None


class Provider(_Input, frozen=True):
    """A service with a number of free places."""

    id: Id
    capacity: Count


class Arc(_Input, frozen=True):
    """An eligible pairing of a demand with a provider, and what it costs."""

    demand: Id
    provider: Id
    cost: Cost
    #: Places this demand uses at this provider; ``None`` means the demand's own size.
    size: Size | None = None


class Problem(_Input, frozen=True):
    """Demands, providers and the eligible arcs between them."""

    demands: tuple[Demand, ...]
    providers: tuple[Provider, ...]
    arcs: tuple[Arc, ...]


class SolveParams(_Input, frozen=True):
    """How long and how the solver may search; never part of the problem itself."""

    time_limit_s: Seconds = 10.0
    workers: Workers = 1
    seed: Seed = 0


class Assignment(_Output, frozen=True):
    """A demand placed with a provider."""

    demand: str
    provider: str


class Solution(_Output, frozen=True):
    """The result of a solve: assignments, unmet demands, objective and proof."""

    status: Status
    #: Total cost of the assignments plus penalties of unmet demands; ``None`` without a solution.
    objective: int | None
    #: Proven lower bound on the objective; equal to it when the status is ``optimal``.
    bound: int | None
    assignments: tuple[Assignment, ...]
    unmet: tuple[str, ...]
    solver: str
    seconds: float
