"""An external database that goes away and comes back: ``/readyz`` answers 503 meanwhile and
``/healthz`` 200; then the pools reconnect, the search index listens and loads again, and the
sweeper and the webhook dispatcher carry on (no task stopped; the dispatcher publishes an
event written after the outage)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.db.embedded import EmbeddedPostgres, Restart, ensure_database
from csomatch.db.migrate import migrate
from csomatch.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
async def external(embedded_home: Path) -> AsyncIterator[tuple[EmbeddedPostgres, str]]:
    """A PostgreSQL server of this test's own (it will be killed), with a migrated database."""
    server = EmbeddedPostgres(embedded_home / "external")
    url = await ensure_database(await asyncio.to_thread(server.start))
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    try:
        yield server, url
    finally:
        await asyncio.to_thread(server.stop)


async def _eventually(check: Callable[[], Awaitable[bool]], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.2)
    pytest.fail(f"not within {within_s} s: {what}")


async def test_an_outage_of_an_external_database_is_a_503_from_readyz_only(
    external: tuple[EmbeddedPostgres, str],
) -> None:
    server, url = external
    settings = Settings(
        database_url=url,
        pool_min_size=1,
        pool_max_size=4,
        sweep_seconds=0.2,
        dispatch_interval_s=0.2,
    )
    app = create_app(settings, url)
    async with AsyncTestClient(app=app) as client:

        async def status(path: str) -> int:
            return (await client.get(path)).status_code

        async def index_ready() -> bool:
            # Ready is set once the index listens again and has loaded everything
            # (SearchIndex._connect). Not sync(): its barrier runs on the connection of the
            # app's event loop, and calling it from the test's loop raced with that loop.
            return bool(app.state.search_index.ready)

        await _eventually(index_ready, 30, "the search index loaded")
        assert await status("/readyz") == 200
        pid = int((server.pgdata / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)

        async def readyz_is(code: int) -> bool:
            return await status("/readyz") == code

        await _eventually(lambda: readyz_is(503), 30, "/readyz 503 while the database is down")
        await asyncio.sleep(2)  # the sweeper and the dispatcher fail a few rounds meanwhile
        assert await status("/healthz") == 200
        assert not app.state.search_index.ready
        assert await status("/readyz") == 503

        # A parent's mode tightened while the server was down (pytest resets its temporary
        # root to 0700 when another session starts): as root, the server runs as its own
        # user, and the restart opens the way to its data again, as the first start did.
        os.chmod(server.home.parent, 0o700)
        assert await asyncio.to_thread(server.restart_if_down) is Restart.RESTARTED
        await _eventually(lambda: readyz_is(200), 60, "/readyz 200 once the database is back")
        await _eventually(index_ready, 60, "the search index listening and loaded again")
        assert await status("/healthz") == 200
        assert app.state.health.problems() == []

        conn = await asyncpg.connect(url)
        try:
            event = await conn.fetchval(
                "INSERT INTO outbox_event (event_type, object_type, object_id)"
                " VALUES ('test.after_outage', 'test', $1) RETURNING id",
                uuid.uuid4(),
            )

            async def published() -> bool:
                return bool(
                    await conn.fetchval(
                        "SELECT published_seq IS NOT NULL FROM outbox_event WHERE id = $1", event
                    )
                )

            await _eventually(published, 30, "the dispatcher publishing an event after it")
        finally:
            await conn.close()
