"""Connection pool creation, with retries while the database is starting."""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

from csomatch.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

Pool = asyncpg.Pool

RETRYABLE = (OSError, asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError)


async def create_pool(
    url: str, *, min_size: int = 2, max_size: int = 10, timeout_s: float = 30.0
) -> Pool:
    """Open a pool on ``url``, retrying with backoff for up to ``timeout_s`` seconds."""
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
                server_settings={"application_name": "csomatch", "timezone": "UTC"},
            )
        except RETRYABLE as exc:
            if time.monotonic() + delay > deadline:
                raise DatabaseUnavailable(
                    f"could not connect to PostgreSQL within {timeout_s:.0f} s ({exc}); "
                    "check CSOMATCH_DATABASE_URL and that the server is running"
                ) from exc
            log.warning("database not reachable yet (%s); retrying in %.1f s", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        else:
            assert pool is not None
            return pool
