"""The real server over real HTTP: the CLI starts it, schemathesis finds nothing the OpenAPI
document does not describe, tokens work."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import make_token

SHELTER_ORG = uuid.UUID("eb87e9ee-4bf0-598f-ab6d-f11b452b2005")

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


CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
HOOKS = Path(__file__).parent / "schemathesis_hooks.py"


def _schemathesis(
    base: str, authorization: str, workdir: Path, *, phases: str, seed: int
) -> dict[str, Any]:
    """One ``st run`` with the five checks (5 examples per operation); its JSON report."""
    report = workdir / f"report-{seed}.json"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            base + "/schema/openapi.json",
            "--checks",
            ",".join(CHECKS),
            "--phases",
            phases,
            "--max-examples",
            "5",
            "--seed",
            str(seed),
            "--generation-deterministic",
            "--no-shrink",
            "--workers",
            "1",
            "--header",
            f"Authorization:{authorization}",
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--report",
            "json",
            "--report-json-path",
            str(report),
        ],
        cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert report.exists(), done.stdout[-4000:] + done.stderr[-2000:]
    found: dict[str, Any] = json.loads(report.read_text())
    assert (found["failures"], found["errors"]) == ([], []), done.stdout[-6000:]
    assert done.returncode == 0, done.stdout[-4000:]
    return found


# A moderate run (bench/schemathesis_run.py runs the full campaign of 20,000 requests): the
# admin reaches the most logic, with the coverage phase's boundary and negative cases and
# fuzzing; the officer and the provider, whom many routes refuse, with fuzzing.
@pytest.mark.timeout(900)
async def test_schemathesis_finds_no_failure_as_admin_officer_and_provider(
    live_server: str, demo_db: str, tmp_path: Path
) -> None:
    runs = [
        ("admin", await make_token(demo_db, "admin"), "coverage,fuzzing"),
        ("officer", await make_token(demo_db, "officer"), "fuzzing"),
        ("provider", await make_token(demo_db, "provider", org=SHELTER_ORG), "fuzzing"),
    ]
    requests = 0
    for seed, (role, headers, phases) in enumerate(runs, start=1):
        found = _schemathesis(
            live_server, headers["Authorization"], tmp_path, phases=phases, seed=seed
        )
        assert found["operations"]["tested"] >= 45, role
        requests += found["test_cases"]["generated"]
    assert requests >= 2000


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
