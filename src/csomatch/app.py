"""``create_app``: the one place where csomatch is wired together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from csomatch.api.auth import SCHEMA_PATH, TokenCache, authorize, provide_principal
from csomatch.api.funding import FUNDING_ROUTES
from csomatch.api.gaps import GAP_ROUTES
from csomatch.api.health import HEALTH_ROUTES
from csomatch.api.matching import MATCH_ROUTES
from csomatch.api.me import ME_ROUTES
from csomatch.api.notifications import NOTIFICATION_ROUTES
from csomatch.api.offers import OFFER_ROUTES
from csomatch.api.outcomes import OUTCOME_ROUTES
from csomatch.api.params import CsomatchRequest, DeclaredParameters, check_parameters
from csomatch.api.problems import (
    database_unavailable,
    document_problems,
    domain_error,
    http_error,
    unexpected_error,
)
from csomatch.api.referrals import REFERRAL_ROUTES
from csomatch.api.registry import REGISTRY_ROUTES
from csomatch.api.schemas.codes import TYPE_DECODERS, ListedCodeSchema
from csomatch.api.schemas.registry import ServiceViews
from csomatch.api.search import SEARCH_ROUTES
from csomatch.audit.checkpoints import checkpoint_lifespan
from csomatch.audit.key import load_key
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.pool import Pool, acquire, create_pool
from csomatch.errors import CsomatchError
from csomatch.notifications.background import background_tasks
from csomatch.notifications.targets import Resolver
from csomatch.referrals.sweeper import run_sweeper
from csomatch.runtime.health import Health
from csomatch.search.demand import RecordedToday
from csomatch.search.index import SearchIndex
from csomatch.settings import Settings
from csomatch.web.pages import web_routes


def create_app(
    settings: Settings,
    database_url: str,
    *,
    freeze_heap: bool = False,
    health: Health | None = None,
    resolver: Resolver | None = None,
) -> Litestar:
    """Build the application: pool, dependencies, auth, problem details, routes.

    ``freeze_heap`` (the server process, not tests) moves what start-up built, the search
    index included, out of the garbage collector's full passes (``gc.freeze``): it lives as
    long as the process, and walking it in the middle of a request costs tens of ms.
    ``health`` is what ``/healthz`` reports (the supervisor of ``csomatch serve`` writes its
    verdict there); every background task of the app is watched by it (``health.watch``).

    The audit key is read (created at the first start) here: a missing permission or a
    key file others can read stops the start with AuditKeyError, saying what to fix.

    ``resolver`` turns webhook host names into addresses (default: the system's DNS).
    """
    names = resolver or Resolver()
    audit_key = load_key(settings, create=True)

    @asynccontextmanager
    async def pool_lifespan(app: Litestar) -> AsyncIterator[None]:
        app.state.pool = await create_pool(
            database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            timeout_s=settings.connect_timeout_s,
            audit_key=audit_key,  # the audit events written through it are signed
        )
        # The search and token checks: single statements, returned without a reset.
        app.state.query_pool = await create_pool(
            database_url,
            min_size=settings.pool_min_size,
            max_size=settings.pool_max_size,
            timeout_s=settings.connect_timeout_s,
            stateless=True,
        )
        app.state.token_cache = TokenCache(settings.token_cache_seconds)
        app.state.recorded_searches = RecordedToday()
        app.state.service_views = ServiceViews()
        # The search from memory, kept equal to the tables by notifications (None: SQL).
        app.state.search_index = SearchIndex(database_url) if settings.search_index else None
        if app.state.search_index is not None:
            await app.state.search_index.start()
        if freeze_heap:
            gc.freeze()
        sweeper = app.state.health.watch(
            asyncio.create_task(run_sweeper(app.state.pool, settings), name="sweeper")
        )
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if app.state.search_index is not None:
                await app.state.search_index.close()
            await app.state.query_pool.close()
            await app.state.pool.close()

    async def provide_conn(
        request: ASGIConnection[Any, Any, Any, Any],
    ) -> AsyncIterator[asyncpg.Connection]:
        pool: Pool = request.app.state.pool
        conn = await acquire(pool)
        try:
            yield conn
        finally:
            await pool.release(conn)  # type: ignore[arg-type]

    def provide_settings() -> Settings:
        return settings

    return Litestar(
        route_handlers=[
            *HEALTH_ROUTES,
            *REGISTRY_ROUTES,
            *SEARCH_ROUTES,
            *MATCH_ROUTES,
            *REFERRAL_ROUTES,
            *OFFER_ROUTES,
            *NOTIFICATION_ROUTES,
            *OUTCOME_ROUTES,
            *GAP_ROUTES,
            *FUNDING_ROUTES,
            *ME_ROUTES,
            *web_routes(),
        ],
        lifespan=[
            pool_lifespan,
            background_tasks(settings, names),
            checkpoint_lifespan(settings, audit_key),
        ],
        state=State({"health": health or Health(), "declared_parameters": DeclaredParameters()}),
        # Logging is the command's (``logging.basicConfig`` in ``csomatch.cli``). Litestar's default
        # would take the root logger over with a queue emptied by a thread, and a worker forked
        # by ``csomatch serve`` has no such thread: its records would be lost.
        logging_config=None,
        # Who may call first (401/403 before anything is said about the request), then
        # whether the request names only parameters the route declares.
        guards=[authorize, check_parameters],
        # Bodies are read strictly, as their handler's type (api/params.py).
        request_class=CsomatchRequest,
        on_app_init=[document_problems],
        type_decoders=TYPE_DECODERS,
        plugins=[ListedCodeSchema()],
        dependencies={
            "conn": Provide(provide_conn),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "principal": Provide(provide_principal),
            "resolver": Provide(lambda: names, sync_to_thread=False),
        },
        exception_handlers={
            CsomatchError: domain_error,
            HTTPException: http_error,
            **dict.fromkeys(CONNECTION_ERRORS, database_unavailable),
            Exception: unexpected_error,
        },
        openapi_config=OpenAPIConfig(
            title="csomatch",
            version="0.1.0",
            path=SCHEMA_PATH,
            render_plugins=[JsonRenderPlugin()],
            description="Service-capacity registry and matcher for NRMs (see README).",
        ),
    )
