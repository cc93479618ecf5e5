"""The processes of ``csomatch serve``: a supervisor and the worker processes it forks.

The supervisor (the process that ran ``csomatch serve``) has started or joined the embedded
PostgreSQL and applied the migrations; it then builds the application once, binds the
listening socket, freezes its heap (``gc.freeze``: what it built is never collected, so the
workers' collections do not write to, and copy, the pages they share with it) and forks
``workers`` processes. Each worker runs uvicorn on the shared socket (the kernel spreads the
connections) with pools, a search index and background loops of its own, made by the
application's lifespan (``runtime.lifespan``) after the fork (a connection must not cross
a fork).

The supervisor then only watches: it forks a new worker for one that died, calls the
embedded server's watchdog (``runtime.watchdog``) about every second, and on SIGTERM or
SIGINT stops the workers (each finishes its requests) before ``csomatch serve`` stops the
embedded server. The workers live in a process group of their own, so that Ctrl-C reaches
the supervisor only, and stop by themselves if the supervisor is gone.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import time
from types import FrameType
from typing import NoReturn

import uvicorn
from litestar import Litestar

from csomatch.db.embedded import EmbeddedPostgres
from csomatch.runtime.health import Health
from csomatch.runtime.protocol import protocol_class
from csomatch.runtime.watchdog import Watchdog
from csomatch.settings import Settings

log = logging.getLogger(__name__)

#: A worker that dies sooner than this after its start is started again only after a wait
#: (1, 2, 4 ... 30 s), so that one failing at start-up does not fork in a tight loop.
STABLE_AFTER_S = 10.0
#: Seconds a worker has to finish its requests and stop before it is killed.
STOP_GRACE_S = 30.0


def serve(
    settings: Settings, app: Litestar, health: Health, embedded: EmbeddedPostgres | None
) -> int:
    """Serve ``app`` with ``settings.workers`` processes until SIGTERM or SIGINT.

    ``health`` is the one ``app`` reports on ``/healthz``: the watchdog of the embedded
    server writes its verdict there.
    """
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        # The C event loop and HTTP parser (pinned dependencies), not asyncio's and h11,
        # with deadlines for reading a request (runtime.protocol).
        loop="uvloop",
        http=protocol_class(settings.read_timeout_s, settings.read_deadline_s),
        lifespan="on",
        timeout_graceful_shutdown=int(STOP_GRACE_S) - 10,
    )
    watchdog = (
        Watchdog(embedded, health, attempts=settings.embedded_restart_attempts)
        if embedded is not None
        else None
    )
    return Supervisor(config, settings.workers, watchdog=watchdog).run()


class Supervisor:
    """Forks the workers, replaces any that dies, runs the watchdog, stops them on a signal."""

    def __init__(self, config: uvicorn.Config, workers: int, *, watchdog: Watchdog | None) -> None:
        self._config = config
        self._workers = workers
        self._watchdog = watchdog
        self._pid = os.getpid()
        self._sockets: list[socket.socket] = []
        self._slot_of: dict[int, int] = {}  # worker pid -> slot
        self._started: dict[int, float] = {}  # slot -> when its worker was forked
        self._crashes: dict[int, int] = {}  # slot -> quick deaths in a row
        self._due: dict[int, float] = {}  # slot -> when to fork its next worker
        self._stopping = False

    def run(self) -> int:
        """Fork the workers and supervise them until SIGTERM or SIGINT; the exit code."""
        # Built once, before the forks: the application, its middleware, the protocol class.
        self._config.load()
        self._sockets = [self._config.bind_socket()]
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            for slot in range(self._workers):
                self._fork(slot)
            while not self._stopping:
                self._reap()
                self._fork_due()
                if self._watchdog is not None:
                    self._watchdog.tick()
                time.sleep(0.2)
        finally:
            self._stop_workers()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for sock in self._sockets:
                sock.close()
        return 0

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True
        self._signal_workers(signal.SIGTERM)

    def _signal_workers(self, signum: int) -> None:
        for pid in list(self._slot_of):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _fork(self, slot: int) -> None:
        # What the supervisor built is never collected: its pages stay shared with workers.
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            self._worker()
        self._slot_of[pid] = slot
        self._started[slot] = time.monotonic()
        self._due.pop(slot, None)
        log.info("worker %d started (pid %d)", slot, pid)

    def _worker(self) -> NoReturn:
        """The body of a forked worker: uvicorn on the shared socket, then exit."""
        code = 1
        try:
            os.setpgid(0, 0)
            signal.signal(signal.SIGTERM, _exit_on_signal)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            server = WorkerServer(self._config, supervisor=self._pid)
            server.run(sockets=self._sockets)
            code = 0 if server.started else 3
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except KeyboardInterrupt:
            code = 0
        except BaseException:
            log.exception("worker %d failed", os.getpid())
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            # Never return into the supervisor's code, nor run its exit handlers (they would
            # leave the embedded server in its name).
            os._exit(code)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self._slot_of.clear()  # no child at all: none of the workers is alive
                return
            if pid == 0:
                return
            slot = self._slot_of.pop(pid, None)
            if slot is None:
                continue  # an orphan handed to this process (PID 1 in a container)
            if self._stopping:
                continue
            lived = time.monotonic() - self._started[slot]
            crashes = 0 if lived >= STABLE_AFTER_S else self._crashes.get(slot, 0) + 1
            self._crashes[slot] = crashes
            wait = 0.0 if crashes == 0 else min(2.0 ** (crashes - 1), 30.0)
            log.warning(
                "worker %d (pid %d) stopped (exit %d) after %.0f s; another starts in %.0f s",
                slot,
                pid,
                os.waitstatus_to_exitcode(status),
                lived,
                wait,
            )
            self._due[slot] = time.monotonic() + wait

    def _fork_due(self) -> None:
        now = time.monotonic()
        for slot, due in list(self._due.items()):
            if due <= now and not self._stopping:
                self._fork(slot)

    def _stop_workers(self) -> None:
        self._stopping = True
        self._signal_workers(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while self._slot_of and time.monotonic() < deadline:
            self._reap()
            time.sleep(0.05)
        if self._slot_of:
            log.error("workers %s did not stop in time; killed", list(self._slot_of))
            self._signal_workers(signal.SIGKILL)
            while self._slot_of:
                self._reap()
                time.sleep(0.05)


class WorkerServer(uvicorn.Server):
    """uvicorn's server in a worker: it also stops when its supervisor is gone."""

    def __init__(self, config: uvicorn.Config, *, supervisor: int) -> None:
        super().__init__(config)
        self._supervisor = supervisor

    async def on_tick(self, counter: int) -> bool:
        """On uvicorn's tick (10 a second): once a second, check the supervisor is there."""
        if counter % 10 == 0 and os.getppid() != self._supervisor and not self.should_exit:
            log.warning("the supervisor (pid %d) is gone; this worker stops", self._supervisor)
            self.should_exit = True
        return await super().on_tick(counter)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)
