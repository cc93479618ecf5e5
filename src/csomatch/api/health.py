"""HTTP routes of the health checks: ``/healthz`` (the process) and ``/readyz`` (the database)."""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from csomatch.api.auth import public
from csomatch.runtime.health import database_answers


class HealthOut(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``/healthz`` and ``/readyz``: ``ok``, or what is wrong (``problems`` only then)."""

    status: str
    problems: list[str] = []


@get(
    "/healthz",
    opt=public(),
    sync_to_thread=False,
    responses={
        503: ResponseSpec(
            HealthOut, generate_examples=False, description="it cannot recover by itself"
        )
    },
)
def healthz(state: State) -> Response[HealthOut]:
    """The process can serve, or recover by itself; 503 names what it cannot recover from.

    A database outage is not a problem here: ``/readyz`` says it. See docs/operations.md.
    """
    problems = state.health.problems()
    if problems:
        return Response(HealthOut(status="failing", problems=problems), status_code=503)
    return Response(HealthOut(status="ok"))


@get(
    "/readyz",
    opt=public(),
    responses={
        503: ResponseSpec(
            HealthOut, generate_examples=False, description="the database does not answer"
        )
    },
)
async def readyz(state: State) -> Response[HealthOut]:
    """The database answers."""
    if not await database_answers(state.pool, timeout_s=2):
        return Response(HealthOut(status="database unreachable"), status_code=503)
    return Response(HealthOut(status="ok"))


HEALTH_ROUTES = [healthz, readyz]
