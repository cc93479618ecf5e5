"""Bearer-token authentication and deny-by-default role policies.

Every route handler declares who may call it in ``opt={"roles": ...}`` (or ``"public"``). The
``authorize`` guard runs on every route: a route without a declaration answers 403 to
everyone, and a test lists the routes to make sure none is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from csomatch.db.pool import Pool
from csomatch.domain import ROLES, Principal, Role
from csomatch.i18n import _
from csomatch.registry.tokens import principal_of, token_hash

PUBLIC = "public"
#: The OpenAPI document is public; Litestar generates its routes.
SCHEMA_PATH = "/schema"
ALL_ROLES = ROLES


class TokenCache:
    """Tokens verified in the last ``ttl_s`` seconds, by hash: their requests skip the database.

    The bound is the point: a token revoked in the database keeps working here for at most
    ``ttl_s`` seconds (``CSOMATCH_TOKEN_CACHE_SECONDS``); 0 turns the cache off. Unknown
    tokens are never cached, so a new token works at once. At most ``max_entries`` tokens
    are kept; past that the oldest go first.
    """

    def __init__(
        self,
        ttl_s: float,
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[bytes, tuple[float, Principal]] = {}

    def get(self, token_hash: bytes) -> Principal | None:
        """The caller of a token verified less than ``ttl_s`` seconds ago, else None."""
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if self._clock() >= entry[0]:
            del self._entries[token_hash]
            return None
        return entry[1]

    def put(self, token_hash: bytes, principal: Principal) -> None:
        """Remember the caller of a token the database has just verified."""
        if self.ttl_s <= 0:
            return
        self._entries.pop(token_hash, None)
        while len(self._entries) >= self.max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[token_hash] = (self._clock() + self.ttl_s, principal)


def roles(*allowed: Role) -> dict[str, object]:
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
        raise PermissionDeniedException(_("this route declares no access policy"))
    header = connection.headers.get("authorization", "")
    scheme, _space, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret:
        raise NotAuthorizedException(
            _("send 'Authorization: Bearer TOKEN'; create a token with 'csomatch token create'")
        )
    principal = await _verify(connection, token_hash(secret.strip()))
    if principal is None:
        raise NotAuthorizedException(_("unknown or revoked token"))
    if not isinstance(allowed, tuple) or principal.role not in allowed:
        raise PermissionDeniedException(_("the {role} role may not do this", role=principal.role))
    connection.state.principal = principal


async def _verify(
    connection: ASGIConnection[Any, Any, Any, Any], hashed: bytes
) -> Principal | None:
    """The caller of a valid token, from the cache or the database."""
    state = connection.app.state
    cache: TokenCache | None = getattr(state, "token_cache", None)
    principal = None if cache is None else cache.get(hashed)
    if principal is None:
        pool: Pool = getattr(state, "query_pool", None) or state.pool
        async with pool.acquire() as conn:
            principal = await principal_of(conn, hashed)  # type: ignore[arg-type]
        if principal is not None and cache is not None:
            cache.put(hashed, principal)
    return principal


async def provide_principal(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller of the current request."""
    principal: Principal = request.state.principal
    return principal
