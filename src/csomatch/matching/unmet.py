"""Unmet needs: why a need could not be met, and the demand signal it leaves for gap analysis.

A signal names a service code, an area and a reason code, never a person. Its ``dedup_key``
is a hash of who asked (the token id), the UTC day, the canonical profile and the need's
code, so an officer who repeats the same request counts once a day.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping
from typing import Final

import msgspec

from csomatch.db.signals import NewSignal, SignalSource
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.rules import REASON_CODES

#: Nobody in the registry offers the code at all.
NO_PROVIDER: Final = "no_provider"
#: Services could meet the need, but the plan found no free place for it.
NO_CAPACITY: Final = "no_capacity"


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
    """The demand signal of one unmet need: service, area, reason; no person data."""
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
    )
