"""``create_app``: the one place where csomatch is wired together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin

from csomatch.api.agencies import AGENCY_ROUTES
from csomatch.api.aliases import mark_deprecated_parameters
from csomatch.api.auth import SCHEMA_PATH, TokenCache, authorize, provide_principal
from csomatch.api.coordination import COORDINATION_ROUTES
from csomatch.api.early_warnings import EARLY_WARNING_ROUTES
from csomatch.api.feedback import FEEDBACK_ROUTES
from csomatch.api.financing import FINANCING_ROUTES
from csomatch.api.funding import FUNDING_ROUTES
from csomatch.api.gaps import GAP_ROUTES
from csomatch.api.handover import HANDOVER_ROUTES
from csomatch.api.health import HEALTH_ROUTES
from csomatch.api.language import language_middleware
from csomatch.api.licences import LICENCE_ROUTES
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
from csomatch.api.transnational import TRANSNATIONAL_ROUTES
from csomatch.audit.key import load_key
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.pool import Pool, acquire
from csomatch.errors import CsomatchError
from csomatch.notifications.targets import Resolver
from csomatch.runtime.health import Health
from csomatch.runtime.lifespan import lifespan
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
    """Build the application: routes, dependencies, guards, problem details, lifespan.

    The lifespan (``runtime.lifespan``) opens the pools and the search index and starts the
    background loops; ``freeze_heap`` (the server process, not tests) has it move what
    start-up built, the search index included, out of the garbage collector's full passes
    (``gc.freeze``). ``health`` is what ``/healthz`` reports (the supervisor of ``csomatch
    serve`` writes its verdict there); every background loop is watched by it.

    The audit key is read (created at the first start) here: a missing permission or a
    key file others can read stops the start with AuditKeyError, saying what to fix.

    ``resolver`` turns webhook host names into addresses (default: the system's DNS).
    """
    names = resolver or Resolver()
    audit_key = load_key(settings, create=True)

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
            *AGENCY_ROUTES,
            *HANDOVER_ROUTES,
            *COORDINATION_ROUTES,
            *TRANSNATIONAL_ROUTES,
            *FEEDBACK_ROUTES,
            *LICENCE_ROUTES,
            *FINANCING_ROUTES,
            *EARLY_WARNING_ROUTES,
            *web_routes(),
        ],
        # Pools, search index and background loops: started and stopped in runtime/lifespan.py.
        lifespan=[
            lifespan(
                settings,
                database_url,
                audit_key=audit_key,
                resolver=names,
                caches=lambda: {
                    "token_cache": TokenCache(settings.token_cache_seconds),
                    "service_views": ServiceViews(),
                },
                freeze_heap=freeze_heap,
            )
        ],
        state=State({"health": health or Health(), "declared_parameters": DeclaredParameters()}),
        # Logging is the command's (``logging.basicConfig`` in ``csomatch.cli``). Litestar's default
        # would take the root logger over with a queue emptied by a thread, and a worker forked
        # by ``csomatch serve`` has no such thread: its records would be lost.
        logging_config=None,
        # Who may call first (401/403 before anything is said about the request), then
        # whether the request names only parameters the route declares.
        guards=[authorize, check_parameters],
        # The request's language for _() and Content-Language (api/language.py).
        middleware=[language_middleware],
        # Bodies are read strictly, as their handler's type (api/params.py).
        request_class=CsomatchRequest,
        on_app_init=[document_problems, mark_deprecated_parameters],
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
