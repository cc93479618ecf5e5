"""A surge: many people identified at once in one town, placed jointly and booked in one go.

An officer or coordinator lists needs profiles (how many people share each, their group,
codes and languages: needs, never identity). The people are placed jointly by the batch
matcher (`matching.placements.place_batch`: families in one provider, children only where
the rules allow), then each person becomes a referral — created, submitted, matched — and
the joint plan's services are held for it as a care plan (`referrals.careplan`).

All or report: each person's care plan is held whole or not at all, in a savepoint of its
own; a person whose plan is refused (a place taken since the plan was made) keeps a
submitted referral and the answer says why, while the others stay booked. The route's
Idempotency-Key makes a retry replay the first answer.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Final

import asyncpg
import msgspec
from msgspec import Meta

from csomatch.domain import (
    AgeBand,
    AreaCode,
    ChildAgeBand,
    Gender,
    GuardianStatus,
    LanguageCode,
    ParticipantCode,
    Principal,
    RiskLevel,
    Urgency,
)
from csomatch.errors import Conflict, InvalidInput
from csomatch.i18n import _
from csomatch.matching.batch import BatchPerson, BatchPlan, BatchRequest, PersonPlacement
from csomatch.matching.placements import place_batch
from csomatch.matching.profile import Adults, Need
from csomatch.referrals import careplan, casework
from csomatch.referrals.model import Consent, ReferralIn
from csomatch.referrals.steps import Step
from csomatch.referrals.suggestions import match_referral
from csomatch.settings import Settings

#: Most people (adults and children) one surge may place; a larger operation is split.
MAX_SURGE_PEOPLE: Final = 100


class _SurgeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of a surge's inputs: immutable, unknown fields rejected."""


class SurgeGroup(_SurgeIn, frozen=True, kw_only=True):
    """``count`` people (or families) who share one needs profile."""

    count: Annotated[int, Meta(ge=1, le=MAX_SURGE_PEOPLE)]
    needs: Annotated[list[Need], Meta(min_length=1, max_length=20)]
    gender: Gender
    age_band: AgeBand
    age_uncertain: bool = False
    accompanied: bool = False
    languages: Annotated[list[LanguageCode], Meta(min_length=1, max_length=10)]
    interpreter_needed: bool = False
    risk_level: RiskLevel = "low"
    group_adults: Adults = 1
    group_children_age_bands: Annotated[list[ChildAgeBand], Meta(max_length=10)] = []
    #: A child's profile only, and required there (as for any child's referral).
    guardian_status: GuardianStatus | None = None
    #: This group's consent when it differs from the surge's: a child's is the guardian's.
    consent: Consent | None = None


class SurgeIn(_SurgeIn, frozen=True, kw_only=True):
    """Everyone identified in one operation, in one town, with the consent each person gave."""

    jurisdiction: ParticipantCode
    current_area: AreaCode
    urgency: Urgency = "emergency"
    #: Each person's consent, as the officer recorded it (the same for everyone listed).
    consent: Consent
    groups: Annotated[list[SurgeGroup], Meta(min_length=1, max_length=50)]


class HeldNeed(msgspec.Struct, frozen=True, kw_only=True):
    """A need of one person held at the service the joint plan chose."""

    index: int
    code: str
    service_id: uuid.UUID
    places: int


class BookedPerson(msgspec.Struct, frozen=True, kw_only=True):
    """One person (or family) of the surge: their referral, what was held, or why not."""

    key: str
    referral_id: uuid.UUID
    group_size: int
    held: list[HeldNeed]
    #: Why nothing was held although the plan had places (a place taken meanwhile...).
    refused: str | None


class SurgeResult(msgspec.Struct, frozen=True, kw_only=True):
    """The joint plan and the booking of every person."""

    people: list[PersonPlacement]
    plan: BatchPlan
    booked: list[BookedPerson]


def surge_people(data: SurgeIn) -> list[BatchPerson]:
    """The batch of a surge: one person (a family counts once) per count of each group."""
    total = sum(g.count * (g.group_adults + len(g.group_children_age_bands)) for g in data.groups)
    if total > MAX_SURGE_PEOPLE:
        raise InvalidInput(
            _(
                "a surge places at most {limit} people, children included (got {total}); "
                "split it into several",
                limit=MAX_SURGE_PEOPLE,
                total=total,
            ),
            field="$.groups",
        )
    people = []
    for gi, g in enumerate(data.groups):
        fields = msgspec.structs.asdict(g)
        del fields["count"], fields["guardian_status"], fields["consent"]
        people += [
            BatchPerson(
                key=f"g{gi + 1}-{k + 1}",
                jurisdiction=data.jurisdiction,
                current_area=data.current_area,
                urgency=data.urgency,
                **fields,
            )
            for k in range(g.count)
        ]
    return people


async def book_surge(
    conn: asyncpg.Connection,
    principal: Principal,
    data: SurgeIn,
    settings: Settings,
    *,
    now: dt.datetime,
) -> SurgeResult:
    """Place everyone jointly, make each a referral and hold its share of the plan."""
    people = surge_people(data)
    joint = await place_batch(conn, principal, BatchRequest(people=people), settings)
    groups = [(gi, g) for gi, g in enumerate(data.groups) for _ in range(g.count)]
    booked = []
    for person, placed, (gi, group) in zip(people, joint.people, groups, strict=True):
        fields = msgspec.structs.asdict(person)
        del fields["key"]
        referral = ReferralIn(
            **fields, consent=group.consent or data.consent, guardian_status=group.guardian_status
        )
        try:
            async with conn.transaction():
                record = await casework.create(conn, principal, referral, now=now)
                rid = record.referral.head.id
                await casework.transition(conn, principal, rid, Step(to="submitted"), now=now)
        except InvalidInput as exc:
            # A referral's own path ($.consent.method) is the group's field here.
            field = (exc.field or "$").replace("$", f"$.groups[{gi}]", 1)
            raise InvalidInput(exc.detail, field=field) from exc
        await match_referral(conn, principal, rid, settings=settings, now=now)
        items = [
            careplan.PlanItemIn(index=n.index, service_id=n.assigned.service_id, places=n.places)
            for n in placed.needs
            if n.assigned is not None
        ]
        held: list[HeldNeed] = []
        refused = None
        if items:
            try:
                async with conn.transaction():
                    await careplan.place_plan(
                        conn, principal, settings, rid, careplan.PlanIn(needs=items), now=now
                    )
                held = [
                    HeldNeed(index=i.index, code=person.needs[i.index].code,
                             service_id=i.service_id, places=i.places or 1)
                    for i in items
                ]  # fmt: skip
            except (Conflict, InvalidInput) as exc:
                refused = exc.detail
        booked.append(
            BookedPerson(
                key=person.key, referral_id=rid, group_size=person.group_size, held=held,
                refused=refused,
            )
        )  # fmt: skip
    return SurgeResult(people=joint.people, plan=joint.plan, booked=booked)
