"""The matcher on a stored referral: suggestions, and the next one after a decline or expiry."""

from __future__ import annotations

import datetime as dt
import functools
import uuid

import anyio.to_thread
import asyncpg
import msgspec

from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.db.candidates import area_points, candidate_services
from csomatch.domain import Service
from csomatch.errors import Conflict
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.rules import INTERPRETATION_CODE
from csomatch.matching.suggest import SuggestionResult, suggest

#: Holds whose service is not suggested again for the same referral.
TRIED = frozenset({"declined", "expired"})


def needs_profile(stored: ref_db.StoredReferral) -> NeedsProfile:
    """The matcher's view of a referral (its profile must not have been purged)."""
    p = stored.profile
    if p is None:
        raise Conflict(f"referral {stored.head.id} no longer holds a profile (retention)")
    return msgspec.convert(
        {
            "needs": [{"code": n.taxonomy_code, "priority": n.priority} for n in stored.needs],
            "urgency": stored.head.urgency,
            "age_band": p.age_band,
            "age_uncertain": p.age_uncertain,
            "gender": p.gender,
            "languages": p.languages,
            "interpreter_needed": p.interpreter_needed,
            "current_area": stored.head.current_area,
            "excluded_areas": p.excluded_areas,
            "min_distance_km": p.min_distance_km,
            "risk_level": p.risk_level,
            "group_adults": p.group_adults,
            "group_children_age_bands": p.group_children_age_bands,
            "jurisdiction": stored.head.jurisdiction,
        },
        NeedsProfile,
    )


def _hide_confidential(
    services: list[Service], points: dict[str, tuple[float, float]]
) -> list[Service]:
    # As in the matcher's route: a confidential site stands at its area's centre.
    return [
        msgspec.structs.replace(
            s, latitude=points[s.area_code][0], longitude=points[s.area_code][1]
        )
        if s.confidential and s.area_code in points
        else s
        for s in services
    ]


async def suggestions_for(
    conn: asyncpg.Connection,
    stored: ref_db.StoredReferral,
    *,
    now: dt.datetime,
    stale_hours: float,
    reveal: bool,
) -> SuggestionResult:
    """Run the matcher on a referral, leaving out services that declined or let it expire."""
    profile = needs_profile(stored)
    tried = {
        h.service_id for h in await hold_db.holds_of(conn, stored.head.id) if h.status in TRIED
    }
    codes = sorted({n.code for n in profile.needs} | {INTERPRETATION_CODE})
    services = [s for s in await candidate_services(conn, codes) if s.id not in tried]
    if stored.head.transnational:
        # Services are sought in the receiving participant (and at home for what crosses).
        services = [
            s
            for s in services
            if s.participant_code == stored.head.receiving_participant
            or s.participant_code == stored.head.jurisdiction
        ]
    wanted = {profile.current_area, *profile.excluded_areas, *(s.area_code for s in services)}
    points = await area_points(conn, sorted(wanted))
    if not reveal:
        services = _hide_confidential(services, points)
    run = functools.partial(suggest, profile, services, points, now, stale_hours)
    return await anyio.to_thread.run_sync(run)


async def next_service(
    conn: asyncpg.Connection,
    stored: ref_db.StoredReferral,
    tried_code: str,
    *,
    now: dt.datetime,
    stale_hours: float,
) -> uuid.UUID | None:
    """The best remaining service for the need a declined or expired offer was for."""
    if stored.profile is None:
        return None
    result = await suggestions_for(conn, stored, now=now, stale_hours=stale_hours, reveal=True)
    for need in result.needs:
        if need.code == tried_code:
            if need.planned_service_id is not None:
                return need.planned_service_id
            if need.suggestions:
                return need.suggestions[0].service_id
    return None
