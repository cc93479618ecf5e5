"""The one lifespan of a server process: what starts with the application and stops with it.

In this order: the two database pools, the caches of the process, the search index (then,
with ``freeze_heap``, ``gc.freeze``), and the background loops: the sweeper (and the licence
reminders and the early warnings beside it), the webhook
dispatcher, the retention purge and, once the audit key is checked against the log, the
audit checkpoint writer. Every loop is started here and nowhere else, and watched by
``app.state.health``: one that stops makes ``/healthz`` answer 503. On the way out each
thing stops in the reverse order.

It runs in each worker of ``csomatch serve``, after the fork (a connection must not cross a
fork, runtime.workers), and in every test client.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from csomatch.audit.checkpoints import WriterLock, check_key, log_path, run_checkpointer
from csomatch.db.audit import AuditKey
from csomatch.db.pool import create_pool
from csomatch.gaps.early_warnings import run_early_warnings
from csomatch.notifications.dispatch import USER_AGENT, RetryPolicy, run_dispatcher
from csomatch.notifications.targets import Resolver
from csomatch.referrals.retention import run_retention
from csomatch.referrals.sweeper import run_licence_reminders, run_sweeper
from csomatch.search.demand import RecordedToday
from csomatch.search.index import SearchIndex
from csomatch.settings import Settings

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def lifespan(
    settings: Settings,
    database_url: str,
    *,
    audit_key: AuditKey,
    resolver: Resolver,
    caches: Callable[[], Mapping[str, object]] = dict,
    freeze_heap: bool = False,
) -> Lifespan:
    """The lifespan of an application on ``database_url`` (see the module's docstring).

    Args:
        settings: pool sizes, intervals and switches of the background loops.
        database_url: the database of the pools, the search index and the loops.
        audit_key: signs the audit events written through the main pool and the checkpoints.
        resolver: turns webhook host names into addresses for the dispatcher.
        caches: the HTTP layer's caches of one process, by name in ``app.state`` (made
            after the fork, each worker its own).
        freeze_heap: ``gc.freeze`` once the index is loaded (the server, not tests).
    """

    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            await _open_pools(app, stack, settings, database_url, audit_key)
            for name, cache in caches().items():
                app.state[name] = cache
            app.state.recorded_searches = RecordedToday()
            await _start_search_index(app, stack, settings, database_url)
            if freeze_heap:
                # What start-up built, the index included, lives as long as the process:
                # walking it in a full collection in the middle of a request costs tens of ms.
                gc.freeze()
            await _start_loops(app, stack, settings, audit_key, resolver)
            yield

    return run


async def _open_pools(
    app: Litestar, stack: AsyncExitStack, settings: Settings, url: str, audit_key: AuditKey
) -> None:
    """``app.state.pool`` (its audit events signed) and ``app.state.query_pool``."""
    app.state.pool = await create_pool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout_s=settings.connect_timeout_s,
        audit_key=audit_key,
    )
    stack.push_async_callback(app.state.pool.close)
    # The search and token checks: single statements, returned without a reset.
    app.state.query_pool = await create_pool(
        url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout_s=settings.connect_timeout_s,
        stateless=True,
    )
    stack.push_async_callback(app.state.query_pool.close)


async def _start_search_index(
    app: Litestar, stack: AsyncExitStack, settings: Settings, url: str
) -> None:
    """The search from memory, kept equal to the tables by notifications (None: SQL)."""
    app.state.search_index = SearchIndex(url) if settings.search_index else None
    if app.state.search_index is not None:
        await app.state.search_index.start()
        stack.push_async_callback(app.state.search_index.close)


async def _start_loops(
    app: Litestar,
    stack: AsyncExitStack,
    settings: Settings,
    audit_key: AuditKey,
    resolver: Resolver,
) -> None:
    """Start the background loops of the process, each watched by ``app.state.health``."""

    def start(loop: Coroutine[Any, Any, None], name: str) -> None:
        task = app.state.health.watch(asyncio.create_task(loop, name=name))
        stack.push_async_callback(_stop, task)

    pool = app.state.pool
    start(run_sweeper(pool, settings), "sweeper")
    start(run_licence_reminders(pool), "licence-reminders")
    start(run_early_warnings(pool, settings), "early-warnings")
    client = await stack.enter_async_context(
        httpx.AsyncClient(follow_redirects=False, headers={"User-Agent": USER_AGENT})
    )
    if settings.dispatch_interval_s > 0:
        policy = RetryPolicy.from_settings(settings)
        start(
            run_dispatcher(pool, client, policy, settings.dispatch_interval_s, resolver),
            "webhook-dispatcher",
        )
    if settings.purge_interval_hours > 0:
        every_s = settings.purge_interval_hours * 3600
        start(run_retention(pool, settings.retention_days, every_s), "retention")
    # Signing on with a key that did not sign the newest event would make the log
    # unverifiable: AuditKeyError stops the start, saying what to fix.
    async with pool.acquire() as conn:
        await check_key(conn, audit_key, settings)
    path = log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = WriterLock(path.with_suffix(".lock"))
    stack.callback(lock.release)
    every_s = settings.audit_checkpoint_interval_s
    start(run_checkpointer(pool, audit_key, path, every_s, lock), "audit-checkpoints")


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel a loop and wait for it; how it ended, Health has logged already."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
