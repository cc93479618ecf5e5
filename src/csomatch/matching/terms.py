"""Soft cost terms: among eligible services, lower cost ranks higher.

The scale, stated once: **1 point = 100 m of travel**. Every term is an integer number of
points, so a caseworker can read each one as "as bad as this many extra kilometres".
The weights come from `Settings` in kilometres; `weights_from_settings` is the one place
where they become integer points. Each term is a named ``<term>_cost`` function.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import msgspec

from csomatch.db.track_records import TrackRecord
from csomatch.domain import Service
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.rules import free_places
from csomatch.settings import Settings

#: Points per kilometre of travel (the scale: 1 point = 100 m).
POINTS_PER_KM: Final = 10
#: Scale of the proximity weight: it multiplies points, so it is kept in thousandths.
PROXIMITY_SCALE: Final = 1000
#: A service never offered is assumed to accept this share of its offers...
ACCEPTANCE_PRIOR: Final = 0.8
#: ...and survivors are assumed to rate it this well (1-5)...
FEEDBACK_PRIOR: Final = 4.0
#: ...with the weight of this many observations, so a few answers move it only a little.
PRIOR_OBSERVATIONS: Final = 5.0

TERMS: Final = (
    "distance",
    "language",
    "freshness",
    "specialisation",
    "availability",
    "acceptance",
    "feedback",
    "proximity",
)


#: The profile fields (or derived properties, see `rules.DERIVED_FROM`) each service-level
#: term reads; distance and proximity depend on where the person is, and are computed per
#: person. The matcher computes a term once per distinct value of these fields and code and
#: shares it, so a term that starts reading another field must list it here; a test checks
#: that changing any other field never changes a term.
TERM_READS: Final[dict[str, tuple[str, ...]]] = {
    "language": ("languages",),
    "freshness": (),
    "specialisation": ("gender", "is_child"),
    "availability": ("group_size",),
    "acceptance": (),
    "feedback": (),
}


class Weights(msgspec.Struct, frozen=True, kw_only=True):
    """Integer weights of the soft terms, in points (1 point = 100 m of travel)."""

    other_language: int
    interpreter: int
    #: Points per hour of age of a capacity number.
    per_hour_of_age: int
    general_service: int
    no_free_place: int
    #: Points for a service that accepts no offer at all (scaled down by its record).
    acceptance: int
    #: Points for a service rated 1 of 5 by survivors (scaled down by its record).
    feedback: int
    #: Thousandths of a point per point of distance between accommodation and services.
    proximity_milli: int


def weights_from_settings(settings: Settings) -> Weights:
    """The one place where the kilometre weights of `Settings` become integer points."""

    def points(km: float) -> int:
        return round(km * POINTS_PER_KM)

    return Weights(
        other_language=points(settings.match_other_language_km),
        interpreter=points(settings.match_interpreter_km),
        per_hour_of_age=points(settings.match_km_per_hour_of_age),
        general_service=points(settings.match_general_service_km),
        no_free_place=points(settings.match_no_free_place_km),
        acceptance=points(settings.match_acceptance_km),
        feedback=points(settings.match_feedback_km),
        proximity_milli=round(settings.match_proximity_weight * PROXIMITY_SCALE),
    )


DEFAULT_WEIGHTS: Final = weights_from_settings(Settings())


def distance_cost(km: float) -> int:
    """Travel from where the person is (or will stay) to the site, in points."""
    return round(km * POINTS_PER_KM)


def language_cost(profile: NeedsProfile, service: Service, w: Weights) -> int:
    """0 if the service speaks the person's first language, more for a second, most for none."""
    if profile.languages[0] in service.languages:
        return 0
    if any(lang in service.languages for lang in profile.languages):
        return w.other_language
    return w.interpreter


def freshness_cost(service: Service, now: dt.datetime, stale_hours: float, w: Weights) -> int:
    """Older capacity numbers cost more, up to the stale threshold (missing counts as stale)."""
    if service.capacity_updated_at is None:
        hours = stale_hours
    else:
        hours = (now - service.capacity_updated_at).total_seconds() / 3600
    return round(max(0.0, min(hours, stale_hours)) * w.per_hour_of_age)


def specialisation_cost(profile: NeedsProfile, service: Service, w: Weights) -> int:
    """0 for a service specialised for the person (their gender only, or children only)."""
    if service.genders == [profile.gender]:
        return 0
    if profile.is_child and service.child_only:
        return 0
    return w.general_service


def availability_cost(profile: NeedsProfile, service: Service, w: Weights) -> int:
    """0 if the service reports free places for the whole group, else a fixed cost."""
    free = free_places(service)
    return 0 if free is not None and free >= profile.group_size else w.no_free_place


def acceptance_cost(record: TrackRecord | None, w: Weights) -> int:
    """A service that often declines the offers it gets costs more.

    The acceptance rate is smoothed towards `ACCEPTANCE_PRIOR` with the weight of
    `PRIOR_OBSERVATIONS` offers, and only a rate below the prior costs anything: a new
    service (no offers yet) and a service at or above the usual rate cost 0, one that
    accepts nothing costs up to the full weight.
    """
    offers = record.offers if record else 0
    accepted = record.accepted if record else 0
    rate = (accepted + PRIOR_OBSERVATIONS * ACCEPTANCE_PRIOR) / (offers + PRIOR_OBSERVATIONS)
    return round(w.acceptance * max(0.0, ACCEPTANCE_PRIOR - rate) / ACCEPTANCE_PRIOR)


def feedback_cost(record: TrackRecord | None, w: Weights) -> int:
    """A service survivors rated poorly (1-5 at closing) costs more.

    The mean score is smoothed towards `FEEDBACK_PRIOR` with the weight of
    `PRIOR_OBSERVATIONS` scores; only a mean below the prior costs anything, up to the full
    weight for a mean of 1. A service without feedback costs 0.
    """
    n = record.feedback_n if record else 0
    total = record.feedback_sum if record else 0
    mean = (total + PRIOR_OBSERVATIONS * FEEDBACK_PRIOR) / (n + PRIOR_OBSERVATIONS)
    return round(w.feedback * max(0.0, FEEDBACK_PRIOR - mean) / (FEEDBACK_PRIOR - 1))


def proximity_cost(nearest_km: list[float], w: Weights) -> int:
    """Keeps a person's other services close to the accommodation chosen for them.

    Charged on an accommodation option: for each of the person's other needs, the distance
    from this accommodation to the nearest service that may meet it, in points, times the
    proximity weight. A shelter with counselling and legal aid next door ranks above an
    equally good one an hour away from both.
    """
    points = sum(distance_cost(km) for km in nearest_km)
    return points * w.proximity_milli // PROXIMITY_SCALE
