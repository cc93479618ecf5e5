"""Benchmark of the search endpoint against the constant /healthz endpoint, over HTTP.

Not a test: it prints figures and asserts nothing about time. Run from the repository root:

    .venv/bin/python bench/search.py                      # 1 and 4 in flight, 3 rounds of 5 s
    .venv/bin/python bench/search.py --concurrency 1 --rounds 5 --seconds 10
    .venv/bin/python bench/search.py --scale 100          # about 59,700 services

What it does:

1. builds the demo registry at 10x size (``seed_data/generate.py --scale 10``, about 5,700
   services; ``--scale N`` for N times) plus ``taxonomy.json`` in a fresh temporary
   directory under /tmp;
2. starts ``csomatch serve --demo`` as a subprocess with its own embedded PostgreSQL in a
   fresh ``CSOMATCH_HOME`` (also under /tmp), echoing the server's start-up lines as
   progress, waits for ``/readyz`` and reads the officer token the server prints;
3. from this process (a separate one from the server), with ``httpx.AsyncClient``, only to
   127.0.0.1, for each ``--concurrency`` level (requests in flight at most): warms up both
   endpoints, then ``--rounds`` times measures ``GET /healthz`` (a constant answer: the
   ceiling of the HTTP stack) for ``--seconds`` and right after it
   ``GET /api/v1/services/search`` for ``--seconds`` with a seeded random mix of realistic
   queries (taxonomy codes, area or point, radius, language, gender, age band, child,
   availability, limit);
4. prints the resident memory of each server process (each holds its own search index)
   when ready and after the rounds, then serves the same database again without the
   search index (``CSOMATCH_SEARCH_INDEX=false``) and prints its memory when ready: the
   difference is about what the index costs each process;
5. stops the server with SIGTERM (always, also on errors or Ctrl-C) and waits for it, so
   the embedded PostgreSQL stops, then removes the temporary directory.

It prints one line per round (healthz and search req/s, their ratio, search p50 and p99,
errors) and, per level, the medians over the rounds next to the targets (search p99 <=
20 ms, search throughput >= 50 % of the healthz ceiling), with the machine's load average:
on a shared machine, compare runs only at similar load. Every response must be 200;
anything else (or a transport error) is counted as an error and the first few are shown.

The load generator is a single Python process on the same machine, so the /healthz figure
may be limited by the client rather than by the server (the ratio is then an upper bound),
and the client's own time per request is part of every latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SEED_SCRIPT = ROOT / "seed_data" / "generate.py"
TAXONOMY = ROOT / "seed_data" / "taxonomy.json"
HOST = "127.0.0.1"
SEARCH = "/api/v1/services/search"
TOKEN_RE = re.compile(r"^\s+officer\s+(cso_\S+)\s*$")
START_TIMEOUT_S = 900.0
REQUEST_TIMEOUT_S = 30.0
MAX_REQUESTS = 2_000_000  # per phase; a bound on count next to the bound on time
TARGET_P99_MS = 20.0
TARGET_RATIO = 0.5

CODES = [
    "ACC.EMERG",
    "PSY.COUNSEL",
    "LEGAL.AID",
    "LANG.INTERP",
    "MED.GENERAL",
    "INFO.RIGHTS",
    "PSY.CRISIS",
    "MAT.BASIC",
    "ACC.CHILD",
    "SAFE.PLAN",
]
# area code -> (participant, lat, lon) of the town
AREAS = {
    "RS-792680": ("RS", 44.8040, 20.4651),  # Belgrade
    "RS-787657": ("RS", 43.3247, 21.9033),  # Niš
    "AL-3183875": ("AL", 41.3275, 19.8189),  # Tirana
    "BA-3191281": ("BA", 43.8486, 18.3564),  # Sarajevo
    "MK-785842": ("MK", 41.9965, 21.4314),  # Skopje
    "XK-786714": ("XK", 42.6727, 21.1669),  # Pristina
    "ME-3193044": ("ME", 42.4411, 19.2636),  # Podgorica
}
LANGUAGES = ["sr", "sq", "en", "ar", "fa"]
GENDERS = ["female", "male", "other"]
AGE_BANDS = ["18-24", "25-59", "14-17"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=5.0, help="measured seconds per endpoint")
    p.add_argument(
        "--concurrency",
        type=_concurrencies,
        default=[1, 4],
        help="requests in flight at most; a comma-separated list runs each (default 1,4)",
    )
    p.add_argument("--rounds", type=int, default=3, help="healthz-then-search rounds per level")
    p.add_argument(
        "--warmup", type=float, default=5.0, help="warm-up seconds per endpoint and level"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the query mix")
    p.add_argument("--queries", type=int, default=2000, help="distinct search queries")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--scale", type=int, default=10, help="registry size multiple of the demo (10)")
    args = p.parse_args()
    if args.seconds <= 0 or args.warmup < 0 or not 1 <= args.rounds <= 100 or args.scale < 1:
        p.error("need --seconds > 0, --warmup >= 0, 1 <= --rounds <= 100, --scale >= 1")
    return args


def _concurrencies(text: str) -> list[int]:
    levels = [int(part) for part in text.split(",") if part.strip()]
    if not levels or not all(1 <= c <= 1024 for c in levels):
        raise argparse.ArgumentTypeError("give levels from 1 to 1024, e.g. 1,4")
    return levels


# --- query mix ---------------------------------------------------------------------------


def make_queries(n: int, seed: int) -> list[list[tuple[str, str]]]:
    """A seeded list of search query strings (as lists of pairs: ``code`` repeats)."""
    rng = random.Random(seed)
    queries = []
    for _ in range(n):
        q: list[tuple[str, str]] = []
        for c in rng.sample(CODES, rng.choice([1, 1, 1, 2, 2, 3])):
            q.append(("code", c))
        area = rng.choice(list(AREAS))
        participant, lat, lon = AREAS[area]
        where = rng.random()
        if where < 0.5:
            q.append(("area", area))
        else:  # a point a few km around the town, as a case officer's location would be
            q.append(("lat", f"{lat + rng.uniform(-0.1, 0.1):.5f}"))
            q.append(("lon", f"{lon + rng.uniform(-0.1, 0.1):.5f}"))
        if rng.random() < 0.3:
            q.append(("participant", participant))
        if rng.random() < 0.6:
            q.append(("radius_km", str(rng.choice([10, 25, 50, 100, 250]))))
        if rng.random() < 0.3:
            q.append(("language", rng.choice(LANGUAGES)))
        if rng.random() < 0.5:
            q.append(("gender", rng.choice(GENDERS)))
        if rng.random() < 0.4:
            q.append(("age_band", rng.choice(AGE_BANDS)))
        if rng.random() < 0.2:
            # The filter once named ``child`` (gone since the one name per filter).
            q.append(("unaccompanied_minor", rng.choice(["true", "false"])))
        if rng.random() < 0.5:
            q.append(("available", rng.choice(["true", "false"])))
        q.append(("limit", str(rng.choice([10, 20, 20, 50]))))
        queries.append(q)
    return queries


# --- server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def build_seed(out: Path, scale: int) -> None:
    print(f"building the {scale}x seed in {out} ...", flush=True)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, str(SEED_SCRIPT), "--scale", str(scale), "--out", str(out)],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    shutil.copy(TAXONOMY, out / "taxonomy.json")
    print(f"  seed built in {time.perf_counter() - t0:.1f} s", flush=True)


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int
    token: str | None = None
    echo: bool = True
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    token_seen: threading.Event = field(default_factory=threading.Event)

    def drain(self) -> None:
        """Read the server's stderr to the end: echo start-up lines, catch the token."""
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            self.tail.append(line)
            m = TOKEN_RE.match(line)
            if m:
                self.token = m.group(1)
                self.token_seen.set()
                line = "  officer      cso_…"  # do not echo secrets
            elif re.match(r"^\s+\w+\s+cso_\S+\s*$", line):
                continue
            if self.echo:
                print(f"  server | {line}", flush=True)


def start_server(home: Path, seed_dir: Path, *, index: bool = True) -> Server:
    """``csomatch serve --demo``; without ``index``, ``serve`` without its search index."""
    port = free_port()
    env = dict(os.environ)
    env.pop("CSOMATCH_DATABASE_URL", None)
    env.update(
        CSOMATCH_HOME=str(home),
        CSOMATCH_SEED_DIR=str(seed_dir),
        CSOMATCH_HOST=HOST,
        CSOMATCH_PORT=str(port),
        CSOMATCH_LOG_LEVEL="warning",
        CSOMATCH_SEARCH_INDEX="true" if index else "false",
    )
    demo = ["--demo"] if index else []
    print(f"starting csomatch {' '.join(['serve', *demo])} on {HOST}:{port} ...", flush=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "csomatch", "serve", *demo],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    server = Server(proc, port)
    threading.Thread(target=server.drain, daemon=True).start()
    return server


def wait_ready(server: Server, *, token: bool = True) -> None:
    t0 = time.perf_counter()
    deadline = t0 + START_TIMEOUT_S
    with httpx.Client(base_url=f"http://{HOST}:{server.port}", timeout=5.0) as client:
        while True:
            if server.proc.poll() is not None:
                tail = "\n".join(server.tail)
                raise RuntimeError(f"server exited with {server.proc.returncode}:\n{tail}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"server not ready after {START_TIMEOUT_S:.0f} s")
            try:
                if client.get("/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
    if token and not server.token_seen.wait(timeout=10):
        raise RuntimeError("server is ready but printed no officer token")
    server.echo = False
    print(f"server ready after {time.perf_counter() - t0:.1f} s", flush=True)


def rss_mb(server_pid: int, home: Path) -> list[tuple[int, float]]:
    """Resident memory (MB) of the server process and of each worker it forked.

    Each worker holds its own search index (docs/scaling.md), so a worker's memory is the
    index's plus the interpreter, Litestar and the rest of the app. The embedded PostgreSQL
    (also started by the server) is left out.
    """
    out = []
    pg = postmaster(home)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        if pid == pg or (pid != server_pid and _proc_cpu(pid)[1] != server_pid):
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                out.append((pid, int(line.split()[1]) / 1024))
    return sorted(out)


def print_rss(server_pid: int, home: Path, when: str) -> float:
    """Print each process's resident memory; return the largest worker's (or the server's)."""
    found = rss_mb(server_pid, home)
    for pid, mb in found:
        role = "server" if pid == server_pid else "worker"
        print(f"  resident memory {when}: {role} {pid} {mb:.0f} MB", flush=True)
    workers = [mb for pid, mb in found if pid != server_pid]
    return max(workers or [mb for _, mb in found] or [0.0])


def postmaster(home: Path) -> int | None:
    """The pid of the embedded PostgreSQL's postmaster, from its pid file."""
    try:
        return int((home / "pgdata" / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        print("stopping the server (SIGTERM) ...", flush=True)
        server.echo = True
        server.proc.send_signal(signal.SIGTERM)
        try:
            server.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            print("  server did not stop in 60 s; killing it", flush=True)
            server.proc.kill()
            server.proc.wait()
    print(f"server exited with {server.proc.returncode}", flush=True)


# --- load --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    # CPU seconds used during the phase by the server process, its PostgreSQL and this client
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def cpu_ms_per_request(self) -> tuple[float, float, float]:
        n = max(1, len(self.latencies_ms))
        server, pg, client = self.cpu
        return 1000 * server / n, 1000 * pg / n, 1000 * client / n

    @property
    def rps(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies_ms)
        if not xs:
            return float("nan")
        return xs[min(len(xs) - 1, max(0, round(q * len(xs)) - 1))]


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) of a process, and its parent's pid; (0, 0) if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[1])


def cpu_seconds(server_pids: tuple[int, int | None]) -> tuple[float, float, float]:
    """CPU seconds used so far by the server (its supervisor and the workers it forked), by
    PostgreSQL (the postmaster and every process it started) and by this process (the
    client)."""
    server, postmaster = server_pids
    srv = pg = 0.0
    if server or postmaster:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                cpu, parent = _proc_cpu(int(entry.name))
                if postmaster and (int(entry.name) == postmaster or parent == postmaster):
                    pg += cpu
                if server and (int(entry.name) == server or parent == server):
                    srv += cpu
    own = os.times()
    return srv, pg, own.user + own.system


async def run_phase(
    client: httpx.AsyncClient,
    name: str,
    path: str,
    params: list[list[tuple[str, str]]] | None,
    seconds: float,
    concurrency: int,
    server_pids: tuple[int, int | None] = (0, None),
) -> Phase:
    """``concurrency`` workers send requests back to back until the deadline."""
    phase = Phase(name)
    counter = iter(range(MAX_REQUESTS))
    # The query strings are encoded once, before the clock starts: the client's own work
    # per request is part of every latency, and should be no more than a real client's.
    urls = [f"{path}?{urllib.parse.urlencode(q)}" for q in params] if params else [path]

    async def worker() -> None:
        while time.perf_counter() < deadline:
            i = next(counter, None)
            if i is None:
                return
            url = urls[i % len(urls)]
            t = time.perf_counter()
            try:
                r = await client.get(url)
                ok = r.status_code == 200
            except httpx.HTTPError as e:
                r, ok, detail = None, False, f"{type(e).__name__}: {e}"
            dt_ms = (time.perf_counter() - t) * 1000.0
            if ok:
                phase.latencies_ms.append(dt_ms)
            else:
                phase.errors += 1
                if len(phase.samples) < 5:
                    # The body is decoded only for an error, never on the clock of a success.
                    if r is not None:
                        detail = f"{r.status_code} {r.text[:200]}"
                    phase.samples.append(f"{url}: {detail}")

    cpu0 = cpu_seconds(server_pids)
    t0 = time.perf_counter()
    deadline = t0 + seconds
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - t0
    cpu1 = cpu_seconds(server_pids)
    phase.cpu = (cpu1[0] - cpu0[0], cpu1[1] - cpu0[1], cpu1[2] - cpu0[2])
    return phase


@dataclass
class Round:
    concurrency: int
    health: Phase
    search: Phase

    @property
    def ratio(self) -> float:
        return self.search.rps / self.health.rps if self.health.rps else float("nan")


async def drive(
    port: int, token: str, args: argparse.Namespace, pids: tuple[int, int | None] = (0, None)
) -> list[Round]:
    """For each concurrency, ``--rounds`` times: /healthz then search, back to back.

    Alternating the two within a round keeps both under the same load from whatever else
    the machine is doing; the medians over rounds damp what changes between rounds.
    """
    queries = make_queries(args.queries, args.seed)
    rounds: list[Round] = []
    for c in args.concurrency:
        limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
        async with httpx.AsyncClient(
            base_url=f"http://{HOST}:{port}",
            headers={"Authorization": f"Bearer {token}"},
            limits=limits,
            timeout=REQUEST_TIMEOUT_S,
        ) as client:
            if args.warmup > 0:
                print(f"warming up ({args.warmup:g} s per endpoint, {c} in flight) ...", flush=True)
                await run_phase(client, "warmup", "/healthz", None, args.warmup, c)
                warm = await run_phase(client, "warmup", SEARCH, queries, args.warmup, c)
                if warm.errors:
                    print(f"  {warm.errors} search errors during warm-up", flush=True)
            for r in range(args.rounds):
                print(
                    f"round {r + 1}/{args.rounds}, {c} in flight: /healthz then search, "
                    f"{args.seconds:g} s each (load average {os.getloadavg()[0]:.2f}) ...",
                    flush=True,
                )
                health = await run_phase(
                    client, "GET /healthz", "/healthz", None, args.seconds, c, pids
                )
                search = await run_phase(
                    client, f"GET {SEARCH}", SEARCH, queries, args.seconds, c, pids
                )
                rounds.append(Round(c, health, search))
    return rounds


def report(rounds: list[Round], args: argparse.Namespace, load_before: float) -> None:
    print()
    print(
        f"{args.rounds} round(s) of {args.seconds:g} s per endpoint, {args.queries} distinct "
        f"search queries (seed {args.seed}), {args.scale}x demo registry; {os.cpu_count()} CPUs, "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    head = (
        f"{'in flight':>9} {'round':>5} {'healthz/s':>10} {'search/s':>9} {'ratio':>7} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'healthz p99':>11} {'errors':>7}"
    )
    print(head)
    print("-" * len(head))
    for i, r in enumerate(rounds):
        print(
            f"{r.concurrency:>9} {i % args.rounds + 1:>5} {r.health.rps:>10.1f} "
            f"{r.search.rps:>9.1f} {r.ratio:>7.1%} {r.search.pct(0.50):>7.2f} "
            f"{r.search.pct(0.99):>7.2f} {r.health.pct(0.99):>11.2f} {r.search.errors:>7}"
        )
    print()

    def verdict(ok: bool) -> str:
        return "meets" if ok else "MISSES"

    for c in args.concurrency:
        mine = [r for r in rounds if r.concurrency == c]
        ratio = statistics.median(r.ratio for r in mine)
        p50 = statistics.median(r.search.pct(0.50) for r in mine)
        p99 = statistics.median(r.search.pct(0.99) for r in mine)
        health = statistics.median(r.health.rps for r in mine)
        search = statistics.median(r.search.rps for r in mine)
        errors = sum(r.search.errors + r.health.errors for r in mine)
        h_cpu = [
            statistics.median(r.health.cpu_ms_per_request()[i] for r in mine) for i in range(3)
        ]
        s_cpu = [
            statistics.median(r.search.cpu_ms_per_request()[i] for r in mine) for i in range(3)
        ]
        print(
            f"{c} in flight, median of {len(mine)}: healthz {health:.1f}/s, search {search:.1f}/s,"
            f" search p50 {p50:.2f} ms"
        )
        print(
            "  CPU ms per request (server / PostgreSQL / client): healthz "
            + " / ".join(f"{x:.2f}" for x in h_cpu)
            + ", search "
            + " / ".join(f"{x:.2f}" for x in s_cpu)
        )
        print(
            f"  search p99                  {p99:8.2f} ms   target <= {TARGET_P99_MS:g} ms"
            f"   {verdict(p99 <= TARGET_P99_MS)}"
        )
        print(
            f"  search req/s / healthz req/s {ratio:7.1%}      target >= {TARGET_RATIO:.0%}"
            f"       {verdict(ratio >= TARGET_RATIO)}"
        )
        print(
            f"  responses not 200           {errors:8d}      target 0"
            f"            {verdict(errors == 0)}"
        )
    for r in rounds:
        for ph in (r.health, r.search):
            for sample in ph.samples:
                print(f"  {ph.name} error: {sample}")


def main() -> int:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="csomatch-bench-", dir="/tmp"))
    tmp.chmod(0o755)
    home, seed_dir = tmp / "home", tmp / "seed"
    home.mkdir(mode=0o755)
    seed_dir.mkdir(mode=0o755)
    server: Server | None = None
    try:
        build_seed(seed_dir, args.scale)
        server = start_server(home, seed_dir)
        wait_ready(server)
        assert server.token is not None
        with_index = print_rss(server.proc.pid, home, "when ready")
        load_before = os.getloadavg()[0]
        rounds = asyncio.run(
            drive(server.port, server.token, args, (server.proc.pid, postmaster(home)))
        )
        report(rounds, args, load_before)
        print_rss(server.proc.pid, home, "after the rounds")
        stop_server(server)
        # The same database served without the search index: the difference is the index.
        server = start_server(home, seed_dir, index=False)
        wait_ready(server, token=False)
        without = print_rss(server.proc.pid, home, "when ready, no search index")
        print(
            f"a worker's resident memory when ready: {with_index:.0f} MB with the search index,"
            f" {without:.0f} MB without: the index costs about {with_index - without:.0f} MB"
            " per worker process",
            flush=True,
        )
    finally:
        if server is not None:
            stop_server(server)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
