"""Synthetic services and profiles for the matcher's unit tests (plain factory functions)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from csomatch.db.track_records import TrackRecord
from csomatch.domain import Service
from csomatch.matching import rules
from csomatch.matching.profile import Need, NeedsProfile
from csomatch.matching.snapshot import Snapshot
from csomatch.matching.suggest import SuggestionResult, suggest
from csomatch.matching.terms import DEFAULT_WEIGHTS
from csomatch.solver import SolveParams

PARAMS = SolveParams(time_limit_s=5.0, workers=1, seed=0)

NOW = dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)
BELGRADE = (44.80401, 20.46513)
NIS = (43.32472, 21.90333)
AREAS = {"RS-1": BELGRADE, "RS-2": NIS}


def make_service(**overrides: Any) -> Service:
    """A synthetic adult, any-gender service in Belgrade with fresh free places."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "organization_id": uuid.uuid4(),
        "organization_name": "Test Org",
        "location_id": uuid.uuid4(),
        "taxonomy_code": "ACC.EMERG",
        "name": "Test service",
        "description": "",
        "genders": ["female", "male", "other"],
        "age_bands": ["18-24", "25-59", "60+"],
        "accepts_accompanied_children": False,
        "serves_unaccompanied_minors": False,
        "child_only": False,
        "accepts_families": False,
        "max_group_size": 1,
        "languages": ["sr", "en"],
        "accessibility": [],
        "security_level": "standard",
        "intake_24_7": False,
        "cross_border": False,
        "licence_required": False,
        "accepting_referrals": True,
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
        "location_name": "Site",
        "area_code": "RS-1",
        "area_name": "Belgrade",
        "participant_code": "RS",
        "address": None,
        "latitude": BELGRADE[0],
        "longitude": BELGRADE[1],
        "confidential": False,
        "area_latitude": BELGRADE[0],
        "area_longitude": BELGRADE[1],
        "unit": "bed",
        "maximum": 10,
        "available": 5,
        "held": 0,
        "capacity_updated_at": NOW - dt.timedelta(hours=2),
        "capacity_verified_at": None,
        "capacity_version": 1,
        "duty_phone": None,
    }
    values.update(overrides)
    return Service(**values)


def make_profile(**overrides: Any) -> NeedsProfile:
    """A synthetic adult woman speaking Serbian in Belgrade, needing emergency shelter."""
    values: dict[str, Any] = {
        "needs": [Need(code="ACC.EMERG", priority="must")],
        "age_band": "25-59",
        "gender": "female",
        "languages": ["sr"],
        "current_area": "RS-1",
        "jurisdiction": "RS",
    }
    values.update(overrides)
    return NeedsProfile(**values)


def make_ctx(**overrides: Any) -> rules.MatchContext:
    """A context with nothing excluded and no interpreter."""
    values: dict[str, Any] = {
        "now": NOW,
        "stale_hours": 72.0,
        "excluded_points": (),
        "interpretation_available": False,
        "licensed": frozenset(),
    }
    values.update(overrides)
    return rules.MatchContext(**values)


def make_snapshot(
    services: list[Service],
    *,
    licensed: frozenset[uuid.UUID] = frozenset(),
    records: dict[uuid.UUID, TrackRecord] | None = None,
) -> Snapshot:
    """The registry as the matcher sees it, from synthetic services."""
    return Snapshot(
        services=services,
        licensed=licensed,
        records=records or {},
        areas=AREAS,
        now=NOW,
        stale_hours=72.0,
    )


def run_suggest(
    profile: NeedsProfile, services: list[Service], **snapshot: Any
) -> SuggestionResult:
    """Suggestions with the default weights."""
    return suggest(profile, make_snapshot(services, **snapshot), DEFAULT_WEIGHTS, PARAMS)
