"""What a caseworker tells the matcher: needs and constraints, never who the person is."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from csomatch.domain import (
    CHILD_AGE_BANDS,
    AgeBand,
    AreaCode,
    ChildAgeBand,
    Gender,
    LanguageCode,
    ParticipantCode,
    Priority,
    RiskLevel,
    TaxonomyCode,
    Urgency,
)

#: Whole kilometres: a fraction would only make a distance more exact than it needs to be.
WholeKilometres = Annotated[int, Meta(ge=0, le=1000)]
Adults = Annotated[int, Meta(ge=1, le=20)]


class _ProfileIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of the matcher's inputs: immutable, unknown fields rejected."""


class Need(_ProfileIn, frozen=True, kw_only=True):
    """One service needed, and whether the plan must or should include it."""

    code: TaxonomyCode
    priority: Priority = "must"


class NeedsProfile(_ProfileIn, frozen=True, kw_only=True):
    """The needs of one person (and accompanying group); holds no identity fields at all."""

    needs: Annotated[list[Need], Meta(min_length=1, max_length=20)]
    urgency: Urgency = "urgent"
    age_band: AgeBand
    #: Age not established: the person is treated as a child.
    age_uncertain: bool = False
    #: A child (or a person of uncertain age) with a parent or carer who is placed with them
    #: and counted in ``group_adults``. False unless stated: an unaccompanied child is matched
    #: only to services that serve unaccompanied minors.
    accompanied: bool = False
    gender: Gender
    languages: Annotated[list[LanguageCode], Meta(min_length=1, max_length=10)]
    interpreter_needed: bool = False
    current_area: AreaCode
    #: Areas to keep away from; no reason is stored.
    excluded_areas: Annotated[list[AreaCode], Meta(max_length=50)] = []
    min_distance_km: WholeKilometres = 0
    risk_level: RiskLevel = "low"
    group_adults: Adults = 1
    #: At most 10: a larger family would single the person out.
    group_children_age_bands: Annotated[list[ChildAgeBand], Meta(max_length=10)] = []
    jurisdiction: ParticipantCode
    #: Where the return and reintegration needs (RET.*, REINT.*) are served, when not in the
    #: referring jurisdiction (a transnational referral); every other need stays at home.
    receiving_participant: ParticipantCode | None = None
    #: Where the person returns to in the receiving participant (a municipality there): the
    #: return and reintegration needs are ranked by distance from it, not from
    #: ``current_area``, which stays the origin of every other need.
    return_area: AreaCode | None = None

    @property
    def group_size(self) -> int:
        """People who must be placed together: adults plus accompanying children."""
        return self.group_adults + len(self.group_children_age_bands)

    @property
    def is_child(self) -> bool:
        """Whether the person is a child, or of uncertain age (treated as a child)."""
        return self.age_uncertain or self.age_band in CHILD_AGE_BANDS
