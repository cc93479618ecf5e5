"""The one lifespan of a server process (runtime/lifespan.py): every background loop starts
there, once, and stops with the application; a switched-off loop does not start."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.settings import Settings

LOOPS = [
    "audit-checkpoints", "early-warnings", "licence-reminders", "retention", "sweeper",
    "webhook-dispatcher",
]  # fmt: skip


def _running_loops(client: AsyncTestClient[Litestar]) -> list[asyncio.Task[Any]]:
    """The background loops of the app (they run in the test client's own event loop)."""
    tasks = client.blocking_portal.call(asyncio.all_tasks)
    return sorted((t for t in tasks if t.get_name() in LOOPS), key=lambda t: t.get_name())


async def test_every_loop_starts_once_and_stops_with_the_app(demo_db: str, tmp_path: Path) -> None:
    settings = Settings(database_url=demo_db, home=tmp_path, pool_min_size=1, pool_max_size=2)
    app = create_app(settings, demo_db)
    async with AsyncTestClient(app=app) as client:
        loops = _running_loops(client)
        assert [t.get_name() for t in loops] == LOOPS
        assert not any(t.done() for t in loops)
        assert (await client.get("/healthz")).status_code == 200
    assert all(t.cancelled() for t in loops)


async def test_switched_off_loops_do_not_start(demo_db: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=demo_db, home=tmp_path, pool_min_size=1, pool_max_size=2,
        dispatch_interval_s=0, purge_interval_hours=0,
    )  # fmt: skip
    async with AsyncTestClient(app=create_app(settings, demo_db)) as client:
        assert [t.get_name() for t in _running_loops(client)] == [
            "audit-checkpoints", "early-warnings", "licence-reminders", "sweeper"
        ]  # fmt: skip
