"""The embedded PostgreSQL: started by `serve`, data kept, stopped on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from csomatch.db.embedded import _forget_dead_users


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_dead_server_users_are_forgotten(tmp_path: Path) -> None:
    pid_file = tmp_path / ".handle_pids.json"
    dead = _dead_pid()
    pid_file.write_text(json.dumps([dead, os.getpid()]))
    _forget_dead_users(pid_file)
    assert json.loads(pid_file.read_text()) == [os.getpid()]


def _postmaster_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _serve(home: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSOMATCH_")}
    env.update({"CSOMATCH_HOME": str(home), "CSOMATCH_PORT": str(port)})
    return subprocess.Popen(
        [sys.executable, "-m", "csomatch", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited early"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail("serve did not become ready")


@pytest.mark.slow
def test_serve_keeps_data_and_stops_the_database_on_sigterm(embedded_home: Path) -> None:
    home = embedded_home / "home"
    home.mkdir()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for _ in range(2):  # the second start reuses the data directory
        proc = _serve(home, port)
        try:
            _wait_ready(port, proc)
            assert _postmaster_running(home / "pgdata")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        assert not _postmaster_running(home / "pgdata")
    assert (home / "pgdata" / "PG_VERSION").exists()
