"""Recovery without a restart: ``csomatch serve`` starts its embedded PostgreSQL again after a
``kill -9`` (one process of several, under the lock file), keeps every acknowledged write,
answers ``/healthz`` 200 while it can recover and 503 when it cannot."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
from tests.serving import Served, csomatch, server_env, serving

pytestmark = pytest.mark.slow

RESTARTED = "restarted the embedded PostgreSQL"


@pytest.fixture
def home(embedded_home: Path) -> Path:
    """A fresh CSOMATCH_HOME (the embedded server's user must be able to enter it)."""
    path = embedded_home / "home"
    path.mkdir()
    return path


def _postmaster(home: Path) -> int | None:
    """The pid of the live postmaster of ``home``, or None."""
    try:
        pid = int((home / "pgdata" / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError, IndexError):
        return None
    return None if stat.rsplit(")", 1)[1].split()[0] == "Z" else pid


def _kill_postmaster(home: Path) -> int:
    pid = _postmaster(home)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    return pid


def _restarts(*servers: Served, within_s: float) -> int:
    """How many of ``servers`` logged a restart, once one has (or ``within_s`` has passed)."""
    deadline = time.monotonic() + within_s
    while True:
        count = sum(s.log_text().count(RESTARTED) for s in servers)
        if count or time.monotonic() > deadline:
            time.sleep(1)  # a second restart, were there one, would be logged by now
            return sum(s.log_text().count(RESTARTED) for s in servers)
        time.sleep(0.2)


class Sampler(threading.Thread):
    """GETs ``path`` every 0.2 s until stopped and keeps the statuses."""

    def __init__(self, served: Served, path: str) -> None:
        super().__init__(daemon=True)
        self.served, self.path = served, path
        self.statuses: list[int | None] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.statuses.append(self.served.status(self.path))
            time.sleep(0.2)


class Writer(threading.Thread):
    """Registers organisations one after another until stopped; keeps the acknowledged."""

    def __init__(self, served: Served, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.served, self.headers = served, headers
        self.acknowledged: list[str] = []
        self.refused = 0
        self.done = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.served.base, timeout=15) as http:
            n = 0
            while not self.done.is_set():
                n += 1
                body = {"participant": "RS", "name": f"Fictional Centre {n}", "kind": "cso"}
                key = {"Idempotency-Key": str(uuid.uuid4())}
                try:
                    answer = http.post(
                        "/api/v1/organizations", json=body, headers=self.headers | key
                    )
                except httpx.TransportError:
                    self.refused += 1
                    continue
                if answer.status_code == 201:
                    self.acknowledged.append(answer.json()["id"])
                else:
                    assert answer.status_code == 503, answer.text
                    self.refused += 1
                    time.sleep(0.05)

    def wait_for(self, count: int, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.acknowledged) >= count, (len(self.acknowledged), self.refused)


def _admin(home: Path) -> dict[str, str]:
    token = csomatch(
        "token", "create", "--role", "admin", "--jurisdiction", "RS", env=server_env(home)
    )
    return {"Authorization": f"Bearer {token.strip()}"}


def test_serve_restarts_its_embedded_postgres_after_kill_9_and_keeps_every_write(
    home: Path, tmp_path: Path
) -> None:
    with serving(server_env(home), tmp_path / "serve.log") as served:
        admin = _admin(home)
        health = Sampler(served, "/healthz")
        writer = Writer(served, admin)
        health.start()
        writer.start()
        try:
            writer.wait_for(10, within_s=60)
            killed = _kill_postmaster(home)
            before = len(writer.acknowledged)
            # Recovery by itself, and writes acknowledged again afterwards.
            served.wait_for("/readyz", 200, within_s=60)
            writer.wait_for(before + 10, within_s=60)
        finally:
            writer.done.set()
            health.done.set()
            writer.join(timeout=30)
            health.join(timeout=30)
        restarted = _postmaster(home)
        assert restarted is not None
        assert restarted != killed
        assert writer.refused > 0, "the kill was not noticed by any write"
        assert set(health.statuses) == {200}, health.statuses
        with httpx.Client(base_url=served.base, headers=admin, timeout=15) as http:
            for org_id in writer.acknowledged:
                assert http.get(f"/api/v1/organizations/{org_id}").status_code == 200, org_id
        assert _restarts(served, within_s=60) == 1
        assert served.stop() == 0
    # The postmaster started by the watchdog is stopped with the server.
    assert _postmaster(home) is None


def test_of_two_servers_on_one_home_one_restarts_postgres_under_the_lock(
    home: Path, tmp_path: Path
) -> None:
    env = server_env(home)
    with serving(env, tmp_path / "a.log") as a, serving(env, tmp_path / "b.log") as b:
        killed = _kill_postmaster(home)
        a.wait_for("/readyz", 200, within_s=60)
        b.wait_for("/readyz", 200, within_s=60)
        assert _postmaster(home) not in (None, killed)
        # Both watchdogs saw the server down; one restarted it, the other found it running.
        # A worker can answer /readyz before the supervisor's ``pg_ctl -w`` returns and the
        # watchdog logs the restart, so wait for the line rather than read the log at once.
        assert _restarts(a, b, within_s=60) == 1
        assert (home / "embedded-postgres.lock").exists()
        assert a.stop() == 0
        # The other server still uses the embedded PostgreSQL, which keeps running.
        assert _postmaster(home) is not None
        assert b.status("/readyz") == 200
        assert b.stop() == 0
    assert _postmaster(home) is None


def test_healthz_answers_503_only_while_the_embedded_postgres_cannot_be_restarted(
    home: Path, tmp_path: Path
) -> None:
    env = server_env(home, CSOMATCH_EMBEDDED_RESTART_ATTEMPTS="2")
    with serving(env, tmp_path / "serve.log") as served:
        # A data directory gone (a disk unmounted, say): no restart can work.
        shutil.move(home / "pgdata", home / "pgdata.away")
        pid = int((home / "pgdata.away" / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
        served.wait_for("/healthz", 503, within_s=60)
        answer = httpx.get(served.base + "/healthz", timeout=3).json()
        assert answer["status"] == "failing"
        assert "could not be restarted" in answer["problems"][0]
        assert served.status("/readyz") == 503
        # The data is back: the watchdog, still trying, restarts the server; all is well.
        shutil.move(home / "pgdata.away", home / "pgdata")
        # Generous: a restart waits for the machine-wide lock embedded-postgres takes to
        # start any server (another test session's initdb holds it for a while).
        served.wait_for("/healthz", 200, within_s=180)
        served.wait_for("/readyz", 200, within_s=30)
        assert served.stop() == 0
