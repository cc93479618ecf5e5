"""Unmet needs: why a need could not be met, and the demand signal it leaves for gap analysis.

A signal names a service code, an area and a reason code, never a person. Its ``dedup_key``
is a hash of who asked (the token id), the UTC day, the canonical profile and the need's
code, so an officer who repeats the same request counts once a day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Final, Protocol

import msgspec

from csomatch.db.signals import NewSignal, PopulationGroup, SignalSource
from csomatch.domain import CHILD_AGE_BANDS
from csomatch.i18n import N_, _
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.rules import REASON_CODES, RULE_DETAILS

#: Nobody in the registry offers the code at all.
NO_PROVIDER: Final = "no_provider"
#: Services could meet the need, but the plan found no free place for it.
NO_CAPACITY: Final = "no_capacity"


#: Why a need stays unmet when no hard rule is the reason (English msgids).
UNMET_DETAILS: Final[dict[str, str]] = {
    NO_PROVIDER: N_("nobody in the registry offers this service"),
    NO_CAPACITY: N_("services could meet this need, but none has a free place left for it"),
}


def unmet_explanation(reason: str | None) -> str | None:
    """The reason a need stays unmet, in a sentence in the current locale (None: it is met)."""
    if reason is None:
        return None
    if reason in UNMET_DETAILS:
        return _(UNMET_DETAILS[reason])
    return _(
        "every service that offers it was excluded, most because {why}",
        why=_(RULE_DETAILS.get(reason, reason)),
    )


def unmet_reason(excluded: Mapping[str, int], eligible: int, planned: bool) -> str | None:
    """The reason code a need was not met for, or None when it was.

    With eligible services left unplanned, ``no_capacity``. With none, the rule that excluded
    the most services (the earlier rule on a tie), or ``no_provider`` when nobody offers it.
    """
    if planned:
        return None
    if eligible:
        return NO_CAPACITY
    if not excluded:
        return NO_PROVIDER
    return min(excluded, key=lambda r: (-excluded[r], REASON_CODES.index(r)))


def profile_hash(profile: NeedsProfile) -> str:
    """A hash of the profile that ignores the order of needs, excluded areas and children.

    The order of languages is kept: the first one is the person's own.
    """
    canonical = msgspec.structs.replace(
        profile,
        needs=sorted(profile.needs, key=lambda n: (n.code, n.priority)),
        excluded_areas=sorted(profile.excluded_areas),
        group_children_age_bands=sorted(profile.group_children_age_bands),
    )
    return hashlib.sha256(msgspec.json.encode(canonical)).hexdigest()


def dedup_key(token_id: uuid.UUID, day: dt.date, profile_digest: str, code: str) -> str:
    """sha256 of the token id, the UTC day, the profile's hash and the need's code."""
    text = f"{token_id}|{day.isoformat()}|{profile_digest}|{code}"
    return hashlib.sha256(text.encode()).hexdigest()


class GroupFacts(Protocol):
    """The profile fields the population group is read from (a needs or a stored profile)."""

    @property
    def age_band(self) -> str:
        """The person's age band."""

    @property
    def age_uncertain(self) -> bool:
        """Age not established (treated as a child)."""

    @property
    def accompanied(self) -> bool:
        """A parent or carer is placed with the child."""

    @property
    def interpreter_needed(self) -> bool:
        """The person needs an interpreter (speaks no language the services speak)."""

    @property
    def languages(self) -> Sequence[str]:
        """The person's languages, first the one they speak best."""

    @property
    def gender(self) -> str:
        """female, male or other."""

    @property
    def group_children_age_bands(self) -> Sequence[str]:
        """Accompanying children."""


def population_group(profile: GroupFacts) -> PopulationGroup:
    """The one coarse group a signal is counted in (docs/gaps.md, "Who is left out").

    The first that holds: a child (or of uncertain age) without a parent or carer placed with
    them is ``unaccompanied_children``; a person who needs an interpreter is
    ``language_not_served``; a person with children, or an accompanied child, is
    ``families``; otherwise the profile's gender gives ``women`` or ``men``, and ``other``
    gives ``unknown`` (too few to count apart). It is read from the profile only, never from
    the unmet reason: a group equal to a published reason count would let one be subtracted
    from the other.
    """
    is_child = profile.age_uncertain or profile.age_band in CHILD_AGE_BANDS
    if is_child and not profile.accompanied:
        return "unaccompanied_children"
    if profile.interpreter_needed:
        return "language_not_served"
    if profile.group_children_age_bands or is_child:
        return "families"
    if profile.gender == "female":
        return "women"
    if profile.gender == "male":
        return "men"
    return "unknown"


def needed_language(profile: GroupFacts) -> str | None:
    """The language a ``language_not_served`` signal records: the person's first; else None.

    Coarse, not identity (docs/gaps.md, "Who is left out"): a language is shared by many, and
    only decides which services count as supply for the language group.
    """
    if population_group(profile) != "language_not_served" or not profile.languages:
        return None
    return profile.languages[0]


def unmet_signal(
    profile: NeedsProfile,
    code: str,
    reason: str,
    *,
    source: SignalSource,
    token_id: uuid.UUID,
    now: dt.datetime,
    profile_digest: str,
) -> NewSignal:
    """The demand signal of one unmet need: service, area, reason, coarse group; no person data."""
    return NewSignal(
        kind="unmet",
        source=source,
        # The cell of the gap analysis is the area the person is in, and its participant.
        participant_code=profile.current_area.split("-", 1)[0],
        area_code=profile.current_area,
        taxonomy_code=code,
        reason=reason,
        dedup_key=dedup_key(token_id, now.astimezone(dt.UTC).date(), profile_digest, code),
        occurred_at=now,
        population_group=population_group(profile),
        language=needed_language(profile),
    )
