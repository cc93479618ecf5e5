"""The real server over real HTTP: the CLI starts it, schemathesis finds no 5xx, tokens work."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import make_token

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _csomatch(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "csomatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def server_env(demo_db: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "CSOMATCH_DATABASE_URL": demo_db,
        "CSOMATCH_HOME": str(tmp_path),
        "CSOMATCH_PORT": str(_free_port()),
        "CSOMATCH_LOG_LEVEL": "warning",
    }


@pytest.fixture
def live_server(server_env: dict[str, str]) -> Iterator[str]:
    """``csomatch serve`` in a subprocess on the test database; yields its base URL."""
    base = f"http://127.0.0.1:{server_env['CSOMATCH_PORT']}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "csomatch", "serve"],
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.2)
        else:
            pytest.fail("server did not become ready within 60 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()


# Every operation of the API (it grows with each feature) gets 15 examples: allow the time.
@pytest.mark.timeout(900)
async def test_schemathesis_finds_no_server_errors(live_server: str, demo_db: str) -> None:
    headers = await make_token(demo_db, "coordinator")
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            live_server + "/schema/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "15",
            "--seed",
            "1",
            "--generation-deterministic",
            "--header",
            f"Authorization:{headers['Authorization']}",
            "--request-timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


async def test_token_created_by_the_cli_opens_the_api(
    live_server: str, server_env: dict[str, str]
) -> None:
    created = _csomatch(
        "token", "create", "--role", "officer", "--jurisdiction", "RS", env=server_env
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert len(created.stdout.splitlines()) == 1  # only the token on stdout
    ok = httpx.get(
        live_server + "/api/v1/services/search",
        params={"area": "RS-787657", "code": "LEGAL.AID"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert ok.status_code == 200
    assert ok.json()["hits"]


def test_provider_token_needs_an_organisation(server_env: dict[str, str]) -> None:
    result = _csomatch(
        "token", "create", "--role", "provider", "--jurisdiction", "RS", env=server_env
    )
    assert result.returncode == 2
    assert "--org" in result.stderr
    assert result.stdout == ""


def test_seed_twice_adds_nothing(server_env: dict[str, str]) -> None:
    result = _csomatch("seed", env=server_env)
    assert result.returncode == 0, result.stderr
    assert "seed loaded: 0 rows added" in result.stderr


def test_help_explains_the_commands() -> None:
    result = _csomatch("--help", env=dict(os.environ))
    for word in ("serve", "migrate", "seed", "token", "solve", "CSOMATCH_HOME"):
        assert word in result.stdout
