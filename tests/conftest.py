"""Shared fixtures: a real PostgreSQL for the whole session, a fresh database per test.

The server is an embedded PostgreSQL in a temporary directory, or the one named by
``CSOMATCH_TEST_DATABASE_URL``. Migrations run once into a template database; every test
that asks for ``db_url`` gets its own copy (``CREATE DATABASE ... TEMPLATE``), so tests never
see each other's rows.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from csomatch.db.embedded import EmbeddedPostgres, database_url
from csomatch.db.migrate import migrate

#: Each pytest-xdist worker has its own templates, so that workers sharing one server
#: (``CSOMATCH_TEST_DATABASE_URL``) never drop each other's.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
TEMPLATE = f"csomatch_test_template{'_' + WORKER if WORKER else ''}"


@pytest.fixture(scope="session", autouse=True)
def _empty_working_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run in an empty folder, so that what the app keeps under a relative default
    ``CSOMATCH_HOME`` (``./.csomatch``: the audit key and checkpoint log) stays out of the
    checkout; tests find their files from ``__file__``."""
    before = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    try:
        yield
    finally:
        os.chdir(before)


@pytest.fixture
def embedded_home() -> Iterator[Path]:
    """An empty folder for a PostgreSQL server of a test's own, outside pytest's temporary
    root: as root the embedded server runs as its own user, who must enter every parent, and
    each new pytest process (another worker, another checkout's suite) closes that root
    (``pytest-of-root``, mode 0700) again."""
    with tempfile.TemporaryDirectory(prefix="csomatch-home-", dir="/tmp") as path:
        os.chmod(path, 0o755)  # noqa: S103 -- as root the embedded server runs as its own user
        yield Path(path)


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """URL of a PostgreSQL server's maintenance database, for creating test databases."""
    configured = os.environ.get("CSOMATCH_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="csomatch-test-", dir="/tmp") as home:
        os.chmod(home, 0o755)  # noqa: S103 -- as root the embedded server runs as its own user
        server = EmbeddedPostgres(Path(home))
        url = server.start()
        asyncio.run(_throwaway_durability(url))
        try:
            yield url
        finally:
            server.stop()


async def _throwaway_durability(server_url: str) -> None:
    """Stop the tests' own server from flushing to disk: every test database is thrown away
    with the server, and each test copies a template (``CREATE DATABASE``), which with
    ``fsync`` on waits for the disk. The tests of crash recovery start servers of their own,
    with the settings the app runs with."""
    conn = await asyncpg.connect(server_url)
    try:
        for setting in ("fsync", "full_page_writes", "synchronous_commit"):
            await conn.execute(f"ALTER SYSTEM SET {setting} = off")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()


async def _create_template(server_url: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(database_url(server_url, TEMPLATE))
    try:
        await migrate(conn)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template(pg_server_url: str) -> str:
    """Name of a database holding every migration, copied for each test."""
    asyncio.run(_create_template(pg_server_url))
    return TEMPLATE


@asynccontextmanager
async def fresh_database(server_url: str, template: str) -> AsyncIterator[str]:
    """Create a database copied from ``template``, yield its URL, drop it afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    try:
        yield database_url(server_url, name)
    finally:
        admin = await asyncpg.connect(server_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def db_url(pg_server_url: str, pg_template: str) -> AsyncIterator[str]:
    """URL of a fresh, migrated, empty database of this test's own."""
    async with fresh_database(pg_server_url, pg_template) as url:
        yield url


@pytest.fixture
async def conn(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to this test's own database."""
    connection = await asyncpg.connect(db_url)
    try:
        yield connection
    finally:
        await connection.close()
