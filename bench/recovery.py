"""How long ``csomatch serve`` takes to serve again after ``kill -9`` of its embedded PostgreSQL.

Not a test: it prints figures and asserts nothing about time. Run from the repository root:

    .venv/bin/python bench/recovery.py                  # 10 kills, 1 worker
    .venv/bin/python bench/recovery.py --kills 20 --workers 2

It starts ``csomatch serve`` with a fresh embedded PostgreSQL in a temporary CSOMATCH_HOME
(under /tmp), waits for ``/readyz``, then ``--kills`` times: kills the postmaster with SIGKILL,
and asks ``/readyz`` every 50 ms until it answers 200 again, counting the seconds from the
kill and the ``/healthz`` answers that were not 200 meanwhile (there should be none). It
prints min, median and max, stops the server with SIGTERM and removes the directory.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _status(base: str, path: str) -> int | None:
    try:
        return httpx.get(base + path, timeout=2).status_code
    except httpx.TransportError:
        return None


def _postmaster(home: Path) -> int:
    return int((home / "pgdata" / "postmaster.pid").read_text().splitlines()[0])


def main() -> None:
    """Run the benchmark and print its figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--workers", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="csomatch-recovery-", dir="/tmp") as tmp:
        os.chmod(tmp, 0o755)  # noqa: S103 -- as root the embedded server runs as its own user
        home = Path(tmp) / "home"
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CSOMATCH_")}
        env |= {"CSOMATCH_HOME": str(home), "CSOMATCH_PORT": str(port)}
        env |= {"CSOMATCH_LOG_LEVEL": "warning"}
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "csomatch", "serve", "--workers", str(args.workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 180
            while _status(base, "/readyz") != 200:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("csomatch serve did not become ready")
                time.sleep(0.2)
            seconds, unhealthy = [], 0
            for _ in range(args.kills):
                killed = _postmaster(home)
                os.kill(killed, signal.SIGKILL)
                started = time.monotonic()
                while _status(base, "/readyz") == 200:  # until the server noticed
                    time.sleep(0.01)
                while _status(base, "/readyz") != 200:
                    unhealthy += _status(base, "/healthz") != 200
                    time.sleep(0.05)
                seconds.append(time.monotonic() - started)
                time.sleep(1)
            print(
                f"{args.kills} kills of the embedded postmaster, {args.workers} worker(s), "
                f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}: seconds until /readyz "
                f"answered 200 again: min {min(seconds):.2f}, median "
                f"{statistics.median(seconds):.2f}, max {max(seconds):.2f}; /healthz answers "
                f"other than 200 meanwhile: {unhealthy}"
            )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=90)


if __name__ == "__main__":
    main()
