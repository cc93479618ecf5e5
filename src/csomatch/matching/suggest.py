"""Ranked suggestions per need for one person, and the joint best plan from the solver."""

from __future__ import annotations

import datetime as dt
import uuid

import msgspec

from csomatch.domain import Priority, Service
from csomatch.i18n import _
from csomatch.matching import terms
from csomatch.matching.plan import DistanceFrom, JointPlan, NeedPlan, Option, Stage, plan
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.rules import REASON_CODES, RULE_DETAILS, free_places
from csomatch.matching.snapshot import Snapshot
from csomatch.matching.unmet import unmet_explanation
from csomatch.settings import Settings
from csomatch.solver import SolveParams


class Assigned(msgspec.Struct, frozen=True, kw_only=True):
    """A service for a need (no address, no point), with its cost broken down by term."""

    service_id: uuid.UUID
    service_name: str
    organization_name: str
    area_code: str
    area_name: str
    participant: str
    distance_km: float
    #: Where ``distance_km`` is measured from: the person's current area, the
    #: accommodation the plan chose for them, or (return and reintegration needs of a
    #: transnational referral) the return area.
    distance_from: DistanceFrom
    free_places: int | None
    #: When the capacity number was last reported (null: never); ``parts`` prices its age.
    capacity_updated_at: dt.datetime | None
    #: Sum of ``parts``, in points (1 point = 100 m of travel).
    total: int
    parts: dict[str, int]


class Suggestion(Assigned, frozen=True, kw_only=True):
    """One eligible service for a need, and how it compares with the best."""

    #: How much more this costs than the best suggestion for the same need.
    delta: int
    in_plan: bool


class ExcludedService(msgspec.Struct, frozen=True, kw_only=True):
    """A service that offers the code but broke a hard rule (no address, no point)."""

    service_id: uuid.UUID
    service_name: str
    organization_name: str
    area_name: str
    participant: str
    #: The first rule it broke, as a reason code (see docs/matching.md).
    reason: str
    #: The rule in a sentence, in the request's language.
    explanation: str


class NeedResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the matcher found for one need."""

    index: int
    code: str
    priority: Priority
    suggestions: list[Suggestion]
    eligible: int
    #: Services offering the code that a hard rule excluded, counted by reason code.
    excluded: dict[str, int]
    #: The plan's choice for this need, if any.
    planned_service_id: uuid.UUID | None
    #: Why the plan could not meet this need (reason codes, most services first): the rules
    #: that excluded services, ``no_provider`` or ``no_capacity``; empty when it was met.
    unmet_reasons: list[str]
    #: The main reason, recorded as an unmet-demand signal for the gap analysis.
    unmet_reason: str | None
    #: The main reason in a sentence, in the request's language; null when it was met.
    unmet_explanation: str | None = None
    #: Which services the rules excluded and why; listed only when asked for
    #: (``?explain=excluded``), otherwise null.
    excluded_services: list[ExcludedService] | None = None


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    """The solver's joint best plan over all needs."""

    status: str
    objective: int | None
    bound: int | None
    unmet_needs: list[int]
    solver: str
    #: The accommodation stage and the services stage (only those with needs).
    stages: list[Stage]


class SuggestionResult(msgspec.Struct, frozen=True, kw_only=True):
    """Suggestions per need and the plan."""

    needs: list[NeedResult]
    plan: Plan


def solve_params(settings: Settings) -> SolveParams:
    """The solver's limits for a request: one worker and a fixed seed, so answers repeat."""
    return SolveParams(time_limit_s=settings.match_time_limit_s, workers=1, seed=0)


def suggest(
    profile: NeedsProfile,
    snap: Snapshot,
    weights: terms.Weights,
    params: SolveParams,
    top: int = 5,
    list_excluded: bool = False,
) -> SuggestionResult:
    """Rank eligible services per need and solve for the joint best plan.

    Args:
        profile: the needs; its ``current_area`` and ``excluded_areas`` must be in the
            snapshot's areas.
        snap: services offering the needed codes (and interpretation), their licences and
            track records.
        weights: the soft terms' weights in points.
        params: the solver's time limit, workers and seed.
        top: suggestions listed per need (the plan's choice is always listed).
        list_excluded: also list, per need, each excluded service and the rule it broke.
    """
    joint = plan([profile], snap, weights, params, top=top)
    (needs,) = joint.needs
    return SuggestionResult(
        needs=[_need_result(n, list_excluded) for n in needs], plan=_plan(joint, needs)
    )


def assigned_view(option: Option) -> Assigned:
    """The public view of an option: no address, no point, costs by term."""
    s = option.service
    return Assigned(
        service_id=s.id,
        service_name=s.name,
        organization_name=s.organization_name,
        area_code=s.area_code,
        area_name=s.area_name,
        participant=s.participant_code,
        distance_km=option.distance_km,
        distance_from=option.distance_from,
        free_places=free_places(s),
        capacity_updated_at=s.capacity_updated_at,
        total=option.total,
        parts=option.parts,
    )


def suggestion(option: Option, best: int, in_plan: bool) -> Suggestion:
    """An option's public view with its difference to the best and whether the plan chose it."""
    return Suggestion(
        **msgspec.structs.asdict(assigned_view(option)),
        delta=option.total - best,
        in_plan=in_plan,
    )


def _excluded_view(service: Service, reason: str) -> ExcludedService:
    return ExcludedService(
        service_id=service.id,
        service_name=service.name,
        organization_name=service.organization_name,
        area_name=service.area_name,
        participant=service.participant_code,
        reason=reason,
        explanation=_(RULE_DETAILS[reason]),
    )


def _need_result(n: NeedPlan, list_excluded: bool = False) -> NeedResult:
    planned = n.planned.service.id if n.planned else None
    shown = list(n.options)
    if n.planned is not None and all(o.service.id != planned for o in shown):
        shown.append(n.planned)
    if n.unmet_reason is None:
        unmet: list[str] = []
    elif n.eligible or not n.excluded:
        unmet = [n.unmet_reason]
    else:
        unmet = sorted(n.excluded, key=lambda r: (-n.excluded[r], REASON_CODES.index(r)))
    return NeedResult(
        index=n.index,
        code=n.need.code,
        priority=n.need.priority,
        suggestions=[suggestion(o, n.best_total, o.service.id == planned) for o in shown],
        eligible=n.eligible,
        excluded=n.excluded,
        planned_service_id=planned,
        unmet_reasons=unmet,
        unmet_reason=n.unmet_reason,
        unmet_explanation=unmet_explanation(n.unmet_reason),
        excluded_services=[_excluded_view(svc, r) for svc, r in n.excluded_services]
        if list_excluded
        else None,
    )


def _plan(joint: JointPlan, needs: list[NeedPlan]) -> Plan:
    return Plan(
        status=joint.status,
        objective=joint.objective,
        bound=joint.bound,
        unmet_needs=[n.index for n in needs if n.planned is None],
        solver="+".join(dict.fromkeys(s.solver for s in joint.stages)) or "none",
        stages=joint.stages,
    )
