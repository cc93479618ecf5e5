"""Batch placement: many people at once (a group identified in one operation), jointly.

Each person is referenced by a key the caller chooses (``p1``), never by a name. Families
stay together: a person with accompanying children needs ``group_size`` places in one
provider. Every need of every person is placed in the same two-stage plan as a suggestion
(`csomatch.matching.plan`), so nobody is placed at the expense of a better joint answer.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

from csomatch.domain import Priority
from csomatch.matching import terms
from csomatch.matching.plan import JointPlan, NeedPlan, Stage, plan
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.rules import is_accommodation
from csomatch.matching.snapshot import Snapshot
from csomatch.matching.suggest import Assigned, assigned_view
from csomatch.solver import SolveParams

#: Most people one batch may place; a larger operation is split by the caller.
MAX_BATCH_PEOPLE: Final = 500
#: A caller's opaque reference for a person (``p1``, ``case-17``): letters, digits, - and _.
PersonKey = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


class BatchPerson(NeedsProfile, frozen=True, kw_only=True):
    """One person's needs profile, under the caller's key."""

    key: PersonKey


class BatchRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The people to place together; at most `MAX_BATCH_PEOPLE` (checked with a clear error)."""

    people: Annotated[list[BatchPerson], Meta(min_length=1)]


class NeedPlacement(msgspec.Struct, frozen=True, kw_only=True):
    """One need of one person: its assigned service, or why it stays unmet."""

    index: int
    code: str
    priority: Priority
    #: Places it takes at the service: the group for accommodation, else 1.
    places: int
    assigned: Assigned | None
    #: A rule's reason code, ``no_provider`` or ``no_capacity``; None when assigned.
    unmet_reason: str | None


class PersonPlacement(msgspec.Struct, frozen=True, kw_only=True):
    """The placements of one person, under the caller's key."""

    key: str
    group_size: int
    needs: list[NeedPlacement]


class BatchPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The solver's account of the joint plan."""

    status: str
    objective: int | None
    #: Proven lower bound; equal to the objective when the status is ``optimal``.
    bound: int | None
    #: (objective - bound) / objective; 0 when proven optimal.
    gap: float | None
    solver: str
    seconds: float
    assigned: int
    unmet: int
    stages: list[Stage]


class BatchResult(msgspec.Struct, frozen=True, kw_only=True):
    """Every person's placements and the plan."""

    people: list[PersonPlacement]
    plan: BatchPlan


def place(
    people: list[BatchPerson], snap: Snapshot, weights: terms.Weights, params: SolveParams
) -> BatchResult:
    """Place every need of every person jointly and optimally against current free places."""
    joint = plan(people, snap, weights, params)
    placements = [
        PersonPlacement(
            key=person.key,
            group_size=person.group_size,
            needs=[_placement(n, person) for n in needs],
        )
        for person, needs in zip(people, joint.needs, strict=True)
    ]
    return BatchResult(people=placements, plan=_batch_plan(joint))


def _placement(n: NeedPlan, person: BatchPerson) -> NeedPlacement:
    assigned = None if n.planned is None else assigned_view(n.planned)
    return NeedPlacement(
        index=n.index,
        code=n.need.code,
        priority=n.need.priority,
        places=person.group_size if is_accommodation(n.need.code) else 1,
        assigned=assigned,
        unmet_reason=n.unmet_reason,
    )


def _batch_plan(joint: JointPlan) -> BatchPlan:
    gap: float | None = None
    if joint.objective is not None and joint.bound is not None:
        gap = round((joint.objective - joint.bound) / max(abs(joint.objective), 1), 6)
    flat = [n for needs in joint.needs for n in needs]
    return BatchPlan(
        status=joint.status,
        objective=joint.objective,
        bound=joint.bound,
        gap=gap,
        solver="+".join(dict.fromkeys(s.solver for s in joint.stages)) or "none",
        seconds=round(sum(s.seconds for s in joint.stages), 6),
        assigned=sum(n.planned is not None for n in flat),
        unmet=sum(n.planned is None for n in flat),
        stages=joint.stages,
    )
