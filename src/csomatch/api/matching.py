"""HTTP routes of the matcher: suggestions for one needs profile, and batch placement."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any, Literal

import anyio.to_thread
import asyncpg
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from csomatch import registry
from csomatch.api.auth import roles
from csomatch.api.idempotency import idempotent
from csomatch.api.schemas.registry import Out
from csomatch.db.signals import record_signals
from csomatch.domain import REFERRING, Principal
from csomatch.errors import InvalidInput
from csomatch.matching.batch import (
    MAX_BATCH_PEOPLE,
    BatchPlan,
    BatchRequest,
    PersonPlacement,
    place,
)
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.snapshot import check_code, load_snapshot, service_codes
from csomatch.matching.suggest import NeedResult, Plan, solve_params, suggest
from csomatch.matching.terms import weights_from_settings
from csomatch.matching.unmet import profile_hash, unmet_signal
from csomatch.settings import Settings

Conn = NamedDependency[asyncpg.Connection]
Cfg = NamedDependency[Settings]
Caller = NamedDependency[Principal]
MATCHERS = REFERRING
COST_UNIT = "1 point = 100 m"


class SuggestionsOut(Out, frozen=True):
    """Suggestions per need (no addresses or site points) and the solver's joint plan."""

    needs: list[NeedResult]
    plan: Plan
    #: The scale of every cost: 1 point = 100 m of travel.
    cost_unit: str


def _named_areas(profile: NeedsProfile, path: str) -> list[tuple[str, str]]:
    """(JSON path, area code) of every area a profile names, for errors naming the field."""
    return [
        (f"{path}.current_area", profile.current_area),
        *((f"{path}.excluded_areas[{i}]", a) for i, a in enumerate(profile.excluded_areas)),
    ]


@post("/api/v1/match/suggestions", opt=roles(*MATCHERS), status_code=200)
async def suggestions(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    data: JSONBody[NeedsProfile],
    explain: Annotated[
        Literal["excluded"] | None,
        QueryParameter(description="'excluded': list each excluded service and its rule"),
    ] = None,
) -> Response[SuggestionsOut]:
    """Ranked services per need, each cost broken down by term, and the joint best plan.

    ``?explain=excluded`` also lists, per need, each service a hard rule excluded and the
    rule (its reason code).

    A need the plan cannot meet is recorded as an unmet-demand signal (service, area,
    reason; no person data), once per token, day and identical profile. Honours an
    Idempotency-Key (a retry gets the first answer).
    """
    run = functools.partial(_suggestions, conn, settings, principal, data, explain)
    return await idempotent(request, conn, principal, run, status_code=200, required=False)


async def _suggestions(
    conn: asyncpg.Connection,
    settings: Settings,
    principal: Principal,
    data: NeedsProfile,
    explain: str | None,
) -> SuggestionsOut:
    known = await service_codes(conn)
    for i, need in enumerate(data.needs):
        check_code(need.code, known, f"$.needs[{i}].code")
    now = dt.datetime.now(dt.UTC)
    snap = await load_snapshot(
        conn,
        codes={n.code for n in data.needs},
        areas=_named_areas(data, "$"),
        now=now,
        stale_hours=settings.stale_hours,
        address_scope=registry.address_scope(principal),
    )
    run = functools.partial(
        suggest,
        data,
        snap,
        weights_from_settings(settings),
        solve_params(settings),
        list_excluded=explain == "excluded",
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
    return SuggestionsOut(needs=result.needs, plan=result.plan, cost_unit=COST_UNIT)


class BatchOut(Out, frozen=True):
    """Per person (by the caller's key) and need: the assigned service or why none; the plan."""

    people: list[PersonPlacement]
    plan: BatchPlan
    cost_unit: str


#: Bytes a batch body may hold: 500 full profiles fit easily; more is refused with 413.
BATCH_MAX_BODY = 2_000_000


def _check_batch(data: BatchRequest, known: frozenset[str]) -> None:
    """Bound the size, and name the field of the first unknown code or repeated key."""
    if len(data.people) > MAX_BATCH_PEOPLE:
        raise InvalidInput(
            f"a batch places at most {MAX_BATCH_PEOPLE} people (got {len(data.people)});"
            " split it into several batches",
            field="$.people",
        )
    seen: set[str] = set()
    for i, person in enumerate(data.people):
        if person.key in seen:
            raise InvalidInput(f"key {person.key!r} is used twice", field=f"$.people[{i}].key")
        seen.add(person.key)
        for j, need in enumerate(person.needs):
            check_code(need.code, known, f"$.people[{i}].needs[{j}].code")


@post(
    "/api/v1/match/batch",
    opt=roles(*MATCHERS),
    status_code=200,
    request_max_body_size=BATCH_MAX_BODY,
)
async def batch(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    data: JSONBody[BatchRequest],
) -> Response[BatchOut]:
    """Place many people at once, jointly and optimally, families in one provider.

    Each need left unmet is recorded as an unmet-demand signal (source ``batch``). Honours
    an Idempotency-Key (a retry gets the first answer).
    """
    run = functools.partial(_batch, conn, settings, principal, data)
    return await idempotent(request, conn, principal, run, status_code=200, required=False)


async def _batch(
    conn: asyncpg.Connection, settings: Settings, principal: Principal, data: BatchRequest
) -> BatchOut:
    _check_batch(data, await service_codes(conn))
    now = dt.datetime.now(dt.UTC)
    snap = await load_snapshot(
        conn,
        codes={n.code for p in data.people for n in p.needs},
        areas=[
            area
            for i, p in enumerate(data.people)
            for area in (
                (f"$.people[{i}].current_area", p.current_area),
                *(
                    (f"$.people[{i}].excluded_areas[{k}]", a)
                    for k, a in enumerate(p.excluded_areas)
                ),
            )
        ],
        now=now,
        stale_hours=settings.stale_hours,
        address_scope=registry.address_scope(principal),
    )
    run = functools.partial(
        place, data.people, snap, weights_from_settings(settings), solve_params(settings)
    )
    result = await anyio.to_thread.run_sync(run)
    signals = []
    for person, placed in zip(data.people, result.people, strict=True):
        digest = profile_hash(person)
        signals += [
            unmet_signal(
                person,
                need.code,
                need.unmet_reason,
                source="batch",
                token_id=principal.id,
                now=now,
                profile_digest=digest,
            )
            for need in placed.needs
            if need.unmet_reason is not None
        ]
    await record_signals(conn, signals)
    return BatchOut(people=result.people, plan=result.plan, cost_unit=COST_UNIT)


MATCH_ROUTES = [suggestions, batch]
