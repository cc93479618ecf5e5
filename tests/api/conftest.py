"""API fixtures: the app on a fresh database holding the demo registry, and one token per role."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.db.embedded import database_url
from csomatch.db.tokens import create_token
from csomatch.registry import seeding
from csomatch.settings import Settings
from tests.conftest import WORKER, fresh_database

DEMO_TEMPLATE = f"csomatch_test_demo{'_' + WORKER if WORKER else ''}"


async def _create_demo_template(server_url: str, template: str) -> None:
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DEMO_TEMPLATE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DEMO_TEMPLATE}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(database_url(server_url, DEMO_TEMPLATE))
    try:
        await seeding.load_demo(conn, seeding.default_seed_dir(), now=dt.datetime.now(dt.UTC))
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def demo_template(pg_server_url: str, pg_template: str) -> str:
    """A migrated database holding the demo registry, copied for each API test."""
    asyncio.run(_create_demo_template(pg_server_url, pg_template))
    return DEMO_TEMPLATE


@pytest.fixture
async def demo_db(pg_server_url: str, demo_template: str) -> AsyncIterator[str]:
    """A fresh database of this test's own with the demo registry loaded."""
    async with fresh_database(pg_server_url, demo_template) as url:
        yield url


@pytest.fixture
async def client(demo_db: str) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """An HTTP client of the app on the demo database."""
    app = create_app(Settings(database_url=demo_db, pool_min_size=1, pool_max_size=4), demo_db)
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def make_token(
    db_url: str, role: str, jurisdiction: str = "RS", org: uuid.UUID | None = None
) -> dict[str, str]:
    """Authorization headers of a new token."""
    conn = await asyncpg.connect(db_url)
    try:
        secret, _ = await create_token(
            conn, role=role, jurisdiction=jurisdiction, organization_id=org, label="test"
        )
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {secret}"}
