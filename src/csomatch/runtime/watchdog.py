"""The watchdog that keeps the embedded PostgreSQL running while ``csomatch serve`` runs.

The supervisor of ``csomatch serve`` calls ``tick`` about every second. The watchdog looks at
the postmaster (``postmaster.pid`` and its process: no connection, nothing in the server's
log) and, when it is gone, starts it again (``EmbeddedPostgres.restart_if_down``: under a
lock file in CSOMATCH_HOME, so that of several processes sharing it one does it). The pools,
the search index and the background loops of the workers reconnect by themselves.

A check that finds the server down and does not bring it back counts as a failure; the next
check waits 1, 2, 4 ... up to 30 s. After ``attempts`` failures in a row, ``/healthz`` answers
503 (the process cannot recover by itself); the watchdog keeps trying, and the first check
that finds the server running makes it healthy again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from csomatch.db.embedded import EmbeddedPostgres, Restart, RestartFailed
from csomatch.runtime.health import Health

log = logging.getLogger(__name__)

#: Seconds between two checks of a running server, and the longest wait after failures.
CHECK_INTERVAL_S = 1.0
MAX_BACKOFF_S = 30.0


class Watchdog:
    """Restarts the embedded PostgreSQL when it died; reports to ``Health`` when it cannot."""

    def __init__(
        self,
        server: EmbeddedPostgres,
        health: Health,
        *,
        attempts: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._server = server
        self._health = health
        self._attempts = attempts
        self._clock = clock
        self._failures = 0
        self._next_check = 0.0

    def tick(self) -> None:
        """Check the server if it is time to; restart it when it is down."""
        now = self._clock()
        if now < self._next_check:
            return
        if self._server.running():
            self._recovered()
            return
        try:
            outcome = self._server.restart_if_down()
        except (RestartFailed, OSError) as exc:
            self._failed(f"{type(exc).__name__}: {exc}")
            return
        if outcome is Restart.BUSY:
            self._failed("another csomatch process is restarting it", level=logging.INFO)
            return
        if outcome is Restart.RESTARTED:
            log.warning("restarted the embedded PostgreSQL in %s", self._server.pgdata)
        self._recovered()

    def _recovered(self) -> None:
        if self._failures:
            log.warning("the embedded PostgreSQL is running again")
        self._failures = 0
        self._health.clear()
        self._next_check = self._clock() + CHECK_INTERVAL_S

    def _failed(self, why: str, *, level: int = logging.ERROR) -> None:
        self._failures += 1
        log.log(
            level,
            "the embedded PostgreSQL is down and was not restarted (%d in a row): %s",
            self._failures,
            why,
        )
        if self._failures >= self._attempts:
            self._health.fail(
                f"the embedded PostgreSQL could not be restarted ({self._failures} attempts); "
                "see the server log in CSOMATCH_HOME/pgdata/log"
            )
        backoff = min(CHECK_INTERVAL_S * 2 ** (self._failures - 1), MAX_BACKOFF_S)
        self._next_check = self._clock() + backoff
