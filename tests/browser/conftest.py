"""Browser fixtures: Debian's Chromium, driven by Playwright, on the real app served by uvicorn.

The browser suite shares one server on one fresh demo database; each test signs in with a
token of its own. Chromium must be at /usr/bin/chromium (``make browser`` installs it); when
it is not, every browser test fails with that message instead of being skipped.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import uvicorn
from playwright.async_api import BrowserContext, Page, expect

from csomatch.app import create_app
from csomatch.settings import Settings
from tests.api.conftest import DEMO_TEMPLATE, _create_demo_template, make_token
from tests.conftest import TEMPLATE, fresh_database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, object]:
    """Launch Debian's Chromium (never a browser downloaded by ``playwright install``)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}: run 'make browser' "
            "(or 'sudo apt-get install -y chromium')",
            pytrace=False,
        )
    return {"executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS}


async def _built_this_session(server_url: str) -> bool:
    """Whether the API tests' demo template was made after this session's migrated template.

    Database OIDs grow with each CREATE DATABASE, and the migrated template is made anew at
    the start of every session, so a younger demo template is this session's.
    """
    conn = await asyncpg.connect(server_url)
    try:
        oids = dict(
            await conn.fetch(
                "SELECT datname, oid::int8 FROM pg_database WHERE datname = ANY($1::text[])",
                [TEMPLATE, DEMO_TEMPLATE],
            )
        )
    finally:
        await conn.close()
    return DEMO_TEMPLATE in oids and oids[DEMO_TEMPLATE] > oids[TEMPLATE]


@pytest.fixture(scope="session")
async def web_db(pg_server_url: str, pg_template: str) -> AsyncIterator[str]:
    """One fresh demo database for the browser suite, copied from the API tests' demo
    template when they already built it in this session (loading the demo takes seconds)."""
    if not await _built_this_session(pg_server_url):
        await _create_demo_template(pg_server_url, pg_template)
    async with fresh_database(pg_server_url, DEMO_TEMPLATE) as url:
        yield url


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_app(web_db: str) -> Iterator[str]:
    """The app served by uvicorn in a thread of this process; yields its base URL."""
    port = _free_port()
    app = create_app(Settings(database_url=web_db, pool_min_size=1, pool_max_size=4), web_db)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, name="csomatch-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def base_url(live_app: str) -> str:
    """Playwright resolves ``page.goto("/find")`` against the live app."""
    return live_app


@pytest.fixture
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    """A page that fails its test on a script error or a Content-Security-Policy violation."""
    tab = await context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield tab
    assert problems == []


async def sign_in(page: Page, db_url: str, role: str, **token: object) -> None:
    """Open the sign-in page and sign in with a new token of ``role``."""
    headers = await make_token(db_url, role, **token)  # type: ignore[arg-type]
    await page.goto("/")
    await page.get_by_label("Access token").fill(headers["Authorization"].removeprefix("Bearer "))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
