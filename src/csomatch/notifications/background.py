"""Background work of a server process, started and stopped with the app (its lifespan)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import asyncpg
import httpx
from litestar import Litestar

from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.pool import Pool
from csomatch.errors import CsomatchError
from csomatch.notifications.dispatch import USER_AGENT, RetryPolicy, connection, run_dispatcher
from csomatch.notifications.targets import Resolver
from csomatch.referrals.retention import purge
from csomatch.settings import Settings

log = logging.getLogger(__name__)


async def run_retention(pool: Pool, retention_days: int, interval_s: float) -> None:
    """Purge closed referrals past the retention period now, then every ``interval_s``."""
    while True:
        try:
            async with connection(pool) as conn:
                report = await purge(
                    conn, now=dt.datetime.now(dt.UTC), retention_days=retention_days
                )
            log.info(
                "retention: %d referrals reduced to aggregate facts, %d within the period",
                report.purged,
                report.waiting,
            )
        except (*CONNECTION_ERRORS, CsomatchError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("retention run failed (%s); next run as scheduled", type(exc).__name__)
        await asyncio.sleep(interval_s)


def background_tasks(
    settings: Settings, resolver: Resolver | None = None
) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A lifespan that runs the webhook dispatcher (unless ``dispatch_interval_s`` is 0) and
    the daily retention purge (unless ``purge_interval_hours`` is 0).

    It needs ``app.state.pool``, so it comes after the pool's lifespan. Each task is
    watched by ``app.state.health``: one that stops makes ``/healthz`` answer 503.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        async with httpx.AsyncClient(
            follow_redirects=False, headers={"User-Agent": USER_AGENT}
        ) as client:
            if settings.dispatch_interval_s > 0:
                task = asyncio.create_task(
                    run_dispatcher(
                        app.state.pool,
                        client,
                        RetryPolicy.from_settings(settings),
                        settings.dispatch_interval_s,
                        resolver,
                    ),
                    name="webhook-dispatcher",
                )
                tasks.append(app.state.health.watch(task))
            if settings.purge_interval_hours > 0:
                task = asyncio.create_task(
                    run_retention(
                        app.state.pool,
                        settings.retention_days,
                        settings.purge_interval_hours * 3600,
                    ),
                    name="retention",
                )
                tasks.append(app.state.health.watch(task))
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    return lifespan
