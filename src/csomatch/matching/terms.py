"""Soft cost terms: among eligible services, lower cost ranks higher.

The scale, stated once: **1 point = 100 m of travel**. Every term is an integer number of
points, so a caseworker can read each one as "as bad as this many extra kilometres".
Weights are the module constants below; each term is a named function.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from geopy.distance import geodesic

from csomatch.domain import Service
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.rules import Point, free_places

#: Points per kilometre of travel (the scale: 1 point = 100 m).
POINTS_PER_KM: Final = 10
#: The service speaks one of the person's languages, but not the first one: as bad as 5 km.
OTHER_LANGUAGE_COST: Final = 50
#: The service speaks none of the person's languages (an interpreter is needed): 20 km.
INTERPRETER_COST: Final = 200
#: Each hour of age of the capacity number: 0.5 km.
POINTS_PER_HOUR_OF_AGE: Final = 5
#: A general service rather than one specialised for the person: 10 km.
GENERAL_SERVICE_COST: Final = 100
#: Not enough free places reported now (or none reported): 30 km.
NO_FREE_PLACE_COST: Final = 300

TERMS: Final = ("distance", "language", "freshness", "specialisation", "availability")


def distance_cost(origin: Point, service: Service) -> int:
    """Travel from the centre of the person's current area to the site, in points."""
    km = float(geodesic(origin, (service.latitude, service.longitude)).km)
    return round(km * POINTS_PER_KM)


def language_cost(profile: NeedsProfile, service: Service) -> int:
    """0 if the service speaks the person's first language, more for a second, most for none."""
    if profile.languages[0] in service.languages:
        return 0
    if any(lang in service.languages for lang in profile.languages):
        return OTHER_LANGUAGE_COST
    return INTERPRETER_COST


def freshness_cost(service: Service, now: dt.datetime, stale_hours: float) -> int:
    """Older capacity numbers cost more, up to the stale threshold (missing counts as stale)."""
    if service.capacity_updated_at is None:
        hours = stale_hours
    else:
        hours = (now - service.capacity_updated_at).total_seconds() / 3600
    return round(max(0.0, min(hours, stale_hours)) * POINTS_PER_HOUR_OF_AGE)


def specialisation_cost(profile: NeedsProfile, service: Service) -> int:
    """0 for a service specialised for the person (their gender only, or children only)."""
    if service.genders == [profile.gender]:
        return 0
    if profile.is_child and service.child_only:
        return 0
    return GENERAL_SERVICE_COST


def availability_cost(profile: NeedsProfile, service: Service) -> int:
    """0 if the service reports free places for the whole group, else a fixed cost."""
    free = free_places(service)
    return 0 if free is not None and free >= profile.group_size else NO_FREE_PLACE_COST
