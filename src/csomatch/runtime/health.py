"""What ``/healthz`` and ``/readyz`` answer.

``/healthz``: whether a server process can still recover by itself; ``/readyz``: whether the
database answers.

A database that is down is not such a problem (``/readyz`` says it, and the pools, the search
index and the background loops resume when it returns). These are: the supervisor gave up
restarting the embedded PostgreSQL, or a background task of the process stopped.
"""

from __future__ import annotations

import asyncio
import logging
import mmap
from typing import Any

import asyncpg

from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.pool import Pool

log = logging.getLogger(__name__)

_SIZE = 512


class Health:
    """The problems of one server process that it cannot recover from by itself.

    The supervisor's verdict lives in anonymous shared memory, so that the workers it forks
    after creating this object read what it writes; the watched tasks are each process's own.
    """

    def __init__(self) -> None:
        # Byte 0: 1 when failing; then the reason, UTF-8, NUL-padded.
        self._verdict = mmap.mmap(-1, _SIZE)
        self._tasks: list[asyncio.Task[Any]] = []

    def fail(self, reason: str) -> None:
        """Record that the supervisor cannot recover (``reason`` is shown by ``/healthz``)."""
        text = reason.encode()[: _SIZE - 1]
        self._verdict[1:] = text.ljust(_SIZE - 1, b"\0")
        self._verdict[0] = 1

    def clear(self) -> None:
        """Record that the supervisor has recovered."""
        self._verdict[0] = 0

    def watch(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        """Count ``task`` (a background loop meant to run until cancelled) among the checks."""
        task.add_done_callback(_report_stop)
        self._tasks = [t for t in self._tasks if not t.cancelled()] + [task]
        return task

    def problems(self) -> list[str]:
        """What this process cannot recover from by itself; empty when healthy."""
        found = []
        if self._verdict[0]:
            found.append(self._verdict[1:].rstrip(b"\0").decode(errors="replace"))
        found += [f"background task {t.get_name()} stopped" for t in self._tasks if _stopped(t)]
        return found


def _stopped(task: asyncio.Task[Any]) -> bool:
    return task.done() and not task.cancelled()


def _report_stop(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    log.error("background task %s stopped", task.get_name(), exc_info=error)


async def database_answers(pool: Pool, timeout_s: float = 2.0) -> bool:
    """Whether the database gives a connection and answers a query within ``timeout_s``."""
    try:
        async with pool.acquire(timeout=timeout_s) as conn:
            await conn.fetchval("SELECT 1")
    except (*CONNECTION_ERRORS, asyncpg.PostgresError, TimeoutError):
        return False
    return True
