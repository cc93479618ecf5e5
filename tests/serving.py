"""``csomatch serve`` (and other commands) in subprocesses, for tests over real HTTP."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(home: Path, **variables: str) -> dict[str, str]:
    """The environment of a command on ``home``: no CSOMATCH_* variable of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSOMATCH_")}
    env.update({"CSOMATCH_HOME": str(home), "CSOMATCH_LOG_LEVEL": "warning", **variables})
    return env


class Served:
    """A running ``csomatch serve``: its process, base URL and log file."""

    def __init__(self, proc: subprocess.Popen[bytes], base: str, log: Path) -> None:
        self.proc = proc
        self.base = base
        self.log = log

    def log_text(self) -> str:
        """What the server wrote to stderr so far."""
        return self.log.read_text(errors="replace")

    def status(self, path: str, timeout: float = 3) -> int | None:
        """The status of ``GET path``, or None when the server did not answer."""
        try:
            return httpx.get(self.base + path, timeout=timeout).status_code
        except httpx.TransportError:
            return None

    def wait_for(self, path: str, status: int, within_s: float) -> None:
        """Wait until ``GET path`` answers ``status``; fail after ``within_s`` seconds."""
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, f"serve exited:\n{self.log_text()[-3000:]}"
            if self.status(path) == status:
                return
            time.sleep(0.2)
        pytest.fail(
            f"{path} did not answer {status} within {within_s} s:\n{self.log_text()[-3000:]}"
        )

    def stop(self) -> int:
        """SIGTERM, and the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=90)


@contextmanager
def serving(
    env: dict[str, str], log: Path, *args: str, ready_within_s: float = 180
) -> Iterator[Served]:
    """Run ``csomatch serve ARGS`` on a free port until the block ends (then SIGTERM)."""
    port = free_port()
    env = {**env, "CSOMATCH_PORT": str(port)}
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "csomatch", "serve", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    served = Served(proc, f"http://127.0.0.1:{port}", log)
    try:
        served.wait_for("/readyz", 200, ready_within_s)
        yield served
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def csomatch(*args: str, env: dict[str, str], timeout: float = 180) -> str:
    """Run a ``csomatch`` command; its stdout (it must succeed)."""
    done = subprocess.run(
        [sys.executable, "-m", "csomatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
