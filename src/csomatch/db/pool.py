"""Connection pool creation, with retries while the database is starting."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from csomatch.db.audit import AuditKey, signing_connection
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.errors import DatabaseUnavailable
from csomatch.i18n import _

log = logging.getLogger(__name__)

Pool = asyncpg.Pool

RETRYABLE = (OSError, asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError)


_SETTINGS = {"application_name": "csomatch", "timezone": "UTC"}
# Each prepared statement of a stateless pool is planned once per connection, not at every
# execution: the search's statements (one per combination of filters) cost more to plan
# than to run.
_STATELESS_SETTINGS = {**_SETTINGS, "plan_cache_mode": "force_generic_plan"}


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Return a connection to its pool without the reset statement (see ``create_pool``)."""


async def create_pool(
    url: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    timeout_s: float = 30.0,
    stateless: bool = False,
    audit_key: AuditKey | None = None,
) -> Pool:
    """Open a pool on ``url``, retrying with backoff for up to ``timeout_s`` seconds.

    A ``stateless`` pool is for single statements that leave no session state behind (no
    SET, LISTEN, session advisory lock or cursor): its connections go back to the pool
    without asyncpg's reset statement, a round trip per request saved (an open transaction
    is still rolled back), keep more prepared statements (the search has a statement per
    combination of filters) and plan each of them once.

    With ``audit_key``, the audit events written through the pool are signed with it.
    """
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while True:
        try:
            pool = await asyncpg.create_pool(
                url,
                min_size=min_size,
                max_size=max_size,
                command_timeout=60,
                max_inactive_connection_lifetime=300,
                server_settings=_STATELESS_SETTINGS if stateless else _SETTINGS,
                reset=_keep_session if stateless else None,
                statement_cache_size=512 if stateless else 100,
                connection_class=(
                    asyncpg.Connection if audit_key is None else signing_connection(audit_key)
                ),
            )
        except RETRYABLE as exc:
            if time.monotonic() + delay > deadline:
                raise DatabaseUnavailable(
                    _(
                        "could not connect to PostgreSQL within {timeout_s} s ({exc}); check "
                        "CSOMATCH_DATABASE_URL and that the server is running",
                        timeout_s=format(timeout_s, ".0f"),
                        exc=exc,
                    )
                ) from exc
            log.warning("database not reachable yet (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        else:
            assert pool is not None
            return pool


async def acquire(pool: Pool, timeout_s: float = 10.0) -> asyncpg.Connection:
    """A connection of ``pool`` (give it back with ``pool.release``), or DatabaseUnavailable.

    DatabaseUnavailable when the database does not give one within ``timeout_s``.
    """
    try:
        conn: asyncpg.Connection = await pool.acquire(timeout=timeout_s)  # type: ignore[assignment]
    except (*CONNECTION_ERRORS, TimeoutError) as exc:
        raise DatabaseUnavailable(
            _("the database is not reachable right now; retry shortly")
        ) from exc
    return conn
