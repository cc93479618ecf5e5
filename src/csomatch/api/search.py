"""HTTP route of the registry search: services near a point or an area, nearest first."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.background_tasks import BackgroundTask
from litestar.params import FromQuery, QueryParameter

from csomatch.api.auth import roles
from csomatch.api.deps import Cfg
from csomatch.api.params import Offset, list_query
from csomatch.api.schemas.registry import (
    Page,
    SearchHit,
    SearchResult,
    ServiceViews,
    freshness_of,
    service_out,
)
from csomatch.domain import (
    AGE_BANDS,
    COORDINATING,
    GENDERS,
    PARTICIPANTS,
    LanguageCode,
    Principal,
    Role,
    one_of_pattern,
)
from csomatch.search import services as searching
from csomatch.search.services import ANY_PARTICIPANT, SearchSources, ServiceQuery

SEARCHERS: tuple[Role, ...] = ("officer", "provider", *COORDINATING)
CodesQ = Annotated[list[str] | None, list_query("taxonomy codes, repeatable")]
SearchParticipantQ = Annotated[
    str | None,
    QueryParameter(
        pattern=one_of_pattern((*PARTICIPANTS, ANY_PARTICIPANT)),
        description="participant code, or 'any'; default: the caller's own participant",
    ),
]


@get("/api/v1/services/search", opt=roles(*SEARCHERS))
async def search_services(
    request: Request[Any, Any, Any],
    settings: Cfg,
    code: CodesQ = None,
    participant: SearchParticipantQ = None,
    lat: Annotated[float | None, QueryParameter(ge=-90, le=90)] = None,
    lon: Annotated[float | None, QueryParameter(ge=-180, le=180)] = None,
    area: Annotated[str | None, QueryParameter(max_length=20)] = None,
    radius_km: Annotated[float | None, QueryParameter(gt=0, le=2000)] = None,
    language: Annotated[LanguageCode | None, QueryParameter(description="ISO 639 code")] = None,
    gender: Annotated[str | None, QueryParameter(pattern=one_of_pattern(GENDERS))] = None,
    age_band: Annotated[str | None, QueryParameter(pattern=one_of_pattern(AGE_BANDS))] = None,
    unaccompanied_minor: FromQuery[bool | None] = None,
    accompanied_child: FromQuery[bool | None] = None,
    available: FromQuery[bool] = False,
    survivor_led: FromQuery[bool | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    offset: Offset = 0,
) -> Response[SearchResult]:
    """Services near a point or area, nearest first, with distance, free places and freshness.

    ``available=true`` keeps services with free places now; a stale number counts as unknown.
    ``survivor_led=true`` keeps services of survivor-led organisations (``false``: the others).
    Without ``participant`` the search keeps to the caller's own participant (a region-wide
    token: every one); ``participant=any`` searches every participant. Each hit says whether
    it is ``abroad``: outside the caller's participant (region-wide: the area's).
    A search by taxonomy code that finds nothing is recorded as demand (one ``search_empty``
    signal per code, no person data) for the gap analysis.
    """
    # The caller straight from the guard: a second dependency next to ``settings`` would make
    # Litestar resolve the two in a task group, on every search.
    principal: Principal = request.state.principal
    state = request.app.state
    query = ServiceQuery(
        codes=code, participant=participant, latitude=lat, longitude=lon, area=area,
        radius_km=radius_km, language=language, gender=gender, age_band=age_band,
        unaccompanied_minor=unaccompanied_minor, accompanied_child=accompanied_child,
        available_only=available, survivor_led=survivor_led, limit=limit, offset=offset,
    )  # fmt: skip
    sources = SearchSources(
        pool=state.query_pool,
        index=getattr(state, "search_index", None),
        recorded=getattr(state, "recorded_searches", None),
    )
    found = await searching.search_services(
        sources, principal, query, stale_hours=settings.stale_hours
    )
    page = found.page
    assert page.origin is not None  # search_services raised otherwise
    # The index's records stay the same objects until they change, so their views are kept.
    views: ServiceViews | None = state.service_views if found.from_index else None
    make_view = service_out if views is None else views.of
    now = dt.datetime.now(dt.UTC)
    hits = []
    for r in page.rows:
        view = make_view(
            r.service,
            reveal=found.scope.covers(r.service.participant_code),
            freshness=freshness_of(settings, r.service.capacity_updated_at, now),
        )
        hits.append(
            SearchHit(
                distance_km=round(r.distance_km, 1),
                free_places=view.capacity.free if view.capacity else None,
                freshness=view.capacity.freshness if view.capacity else None,
                abroad=found.abroad(r.service.participant_code),
                service=view,
            )
        )
    result = SearchResult(
        items_page=Page(total=page.total, limit=limit, offset=offset),
        origin_latitude=page.origin[0], origin_longitude=page.origin[1], hits=hits,
    )  # fmt: skip
    background = None if found.after is None else BackgroundTask(found.after)
    return Response(result, background=background)


SEARCH_ROUTES = [search_services]
