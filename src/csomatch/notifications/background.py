"""Background work of a server process, started and stopped with the app (its lifespan)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from litestar import Litestar

from csomatch.notifications.dispatch import USER_AGENT, RetryPolicy, run_dispatcher
from csomatch.settings import Settings

log = logging.getLogger(__name__)


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s stopped", task.get_name(), exc_info=task.exception())


def background_tasks(settings: Settings) -> Callable[[Litestar], AbstractAsyncContextManager[None]]:
    """A lifespan that runs the webhook dispatcher (unless ``dispatch_interval_s`` is 0).

    It needs ``app.state.pool``, so it comes after the pool's lifespan.
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
                    ),
                    name="webhook-dispatcher",
                )
                task.add_done_callback(_report_crash)
                tasks.append(task)
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    return lifespan
