"""HTTP route of the matcher: ranked suggestions and a joint plan for a needs profile."""

from __future__ import annotations

import datetime as dt
import functools

import anyio.to_thread
import asyncpg
import msgspec
from litestar import post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from csomatch import registry
from csomatch.api.auth import roles
from csomatch.api.schemas import Out
from csomatch.db import areas as area_db
from csomatch.db.candidates import area_points, candidate_services
from csomatch.db.signals import record_signals
from csomatch.db.tokens import TokenRecord
from csomatch.domain import Service
from csomatch.errors import InvalidInput
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.rules import INTERPRETATION_CODE
from csomatch.matching.suggest import NeedResult, Plan, suggest
from csomatch.matching.unmet import profile_hash, unmet_signal
from csomatch.settings import Settings

Conn = NamedDependency[asyncpg.Connection]
Cfg = NamedDependency[Settings]
Caller = NamedDependency[TokenRecord]
MATCHERS = ("officer", "coordinator", "admin")


class SuggestionsOut(Out, frozen=True):
    """Suggestions per need (no addresses or site points) and the solver's joint plan."""

    needs: list[NeedResult]
    plan: Plan
    #: The scale of every cost: 1 point = 100 m of travel.
    cost_unit: str


async def _check_codes(conn: asyncpg.Connection, profile: NeedsProfile) -> None:
    for i, need in enumerate(profile.needs):
        if not await area_db.is_service_code(conn, need.code):
            raise InvalidInput(f"unknown taxonomy code {need.code!r}", field=f"$.needs[{i}].code")


def _area_points_or_error(profile: NeedsProfile, points: dict[str, tuple[float, float]]) -> None:
    if profile.current_area not in points:
        raise InvalidInput(
            f"unknown area code {profile.current_area!r}; look it up at /api/v1/areas",
            field="$.current_area",
        )
    for i, code in enumerate(profile.excluded_areas):
        if code not in points:
            raise InvalidInput(f"unknown area code {code!r}", field=f"$.excluded_areas[{i}]")


def _hide_confidential(
    services: list[Service], points: dict[str, tuple[float, float]]
) -> list[Service]:
    # A confidential site is placed at its area's centre, so that distances from chosen
    # points cannot be used to triangulate a shelter.
    return [
        msgspec.structs.replace(
            s, latitude=points[s.area_code][0], longitude=points[s.area_code][1]
        )
        if s.confidential and s.area_code in points
        else s
        for s in services
    ]


@post("/api/v1/match/suggestions", opt=roles(*MATCHERS), status_code=200)
async def suggestions(
    conn: Conn, settings: Cfg, principal: Caller, data: JSONBody[NeedsProfile]
) -> SuggestionsOut:
    """Ranked services per need, each cost broken down by term, and the joint best plan.

    A need the plan cannot meet is recorded as an unmet-demand signal (service, area,
    reason; no person data), once per token, day and identical profile.
    """
    await _check_codes(conn, data)
    codes = sorted({n.code for n in data.needs} | {INTERPRETATION_CODE})
    now = dt.datetime.now(dt.UTC)
    found = await candidate_services(conn, codes, now.date())
    services = found.services
    wanted = {data.current_area, *data.excluded_areas, *(s.area_code for s in services)}
    points = await area_points(conn, sorted(wanted))
    _area_points_or_error(data, points)
    if not registry.reveals_confidential(principal):
        services = _hide_confidential(services, points)
    run = functools.partial(
        suggest, data, services, points, now, settings.stale_hours, licensed=found.licensed
    )
    result = await anyio.to_thread.run_sync(run)
    digest = profile_hash(data)
    await record_signals(
        conn,
        [
            unmet_signal(
                data,
                need.code,
                need.unmet_reason,
                source="suggestion",
                token_id=principal.id,
                now=now,
                profile_digest=digest,
            )
            for need in result.needs
            if need.unmet_reason is not None
        ],
    )
    return SuggestionsOut(needs=result.needs, plan=result.plan, cost_unit="1 point = 100 m")


MATCH_ROUTES = [suggestions]
