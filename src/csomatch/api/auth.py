"""Bearer-token authentication and deny-by-default role policies.

Every route handler declares who may call it in ``opt={"roles": ...}`` (or ``"public"``). The
``authorize`` guard runs on every route: a route without a declaration answers 403 to
everyone, and a test lists the routes to make sure none is missing.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from csomatch.db.pool import Pool
from csomatch.db.tokens import TokenRecord, find_token

PUBLIC = "public"
#: The OpenAPI document is public; Litestar generates its routes.
SCHEMA_PATH = "/schema"
ALL_ROLES = ("officer", "provider", "funder", "coordinator", "admin")


def roles(*allowed: str) -> dict[str, object]:
    """The ``opt`` of a route callable by these roles."""
    return {"roles": allowed}


def public() -> dict[str, object]:
    """The ``opt`` of a route anyone may call (health checks, the API schema)."""
    return {"roles": PUBLIC}


async def authorize(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Authenticate the bearer token and check the route's declared roles."""
    allowed = handler.opt.get("roles")
    if allowed == PUBLIC or connection.scope["path"].startswith(SCHEMA_PATH + "/"):
        return
    if not allowed:
        raise PermissionDeniedException("this route declares no access policy")
    header = connection.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret:
        raise NotAuthorizedException(
            "send 'Authorization: Bearer TOKEN'; create a token with 'csomatch token create'"
        )
    pool: Pool = connection.app.state.pool
    async with pool.acquire() as conn:
        principal = await find_token(conn, secret.strip())  # type: ignore[arg-type]
    if principal is None:
        raise NotAuthorizedException("unknown or revoked token")
    if not isinstance(allowed, tuple) or principal.role not in allowed:
        raise PermissionDeniedException(f"the {principal.role} role may not do this")
    connection.state.principal = principal


async def provide_principal(request: ASGIConnection[Any, Any, Any, Any]) -> TokenRecord:
    """The authenticated caller of the current request."""
    principal: TokenRecord = request.state.principal
    return principal
