"""Schemathesis against a real ``csomatch serve --demo``: requests and failures per check.

Not a test: it prints figures. Run from the repository root:

    .venv/bin/python bench/schemathesis_run.py                    # at least 20,000 requests
    .venv/bin/python bench/schemathesis_run.py --requests 3000    # a short campaign
    .venv/bin/python bench/schemathesis_run.py --url http://127.0.0.1:8000 \\
        --token admin=cso_... --token officer=cso_... --token provider=cso_...

What it does:

1. starts ``csomatch serve --demo`` on a free port with ``CSOMATCH_HOME`` in a fresh
   temporary directory (its own embedded PostgreSQL, the demo registry) and reads the demo
   tokens it prints; or, with ``--url``, uses a server already running and the given tokens;
2. writes a ``schemathesis.toml`` whose dictionaries hold real ids and codes of the registry
   (services, organisations, areas, taxonomy codes), used for half of the generated values
   of those parameters, so that requests also get past "not found" to the logic behind it;
3. runs ``st run`` with the checks ``not_a_server_error``, ``status_code_conformance``,
   ``content_type_conformance``, ``response_schema_conformance`` and
   ``negative_data_rejection`` as admin, officer and provider in turn (phases coverage and
   fuzzing, positive and negative data, no shrinking; every POST gets a fresh
   Idempotency-Key from tests/api/schemathesis_hooks.py), seed after seed, until at least
   ``--requests`` test cases have been sent (each test case is one request);
4. prints per role and in total the requests, the failures per check and the time, and exits
   1 if anything failed. A failure is shown with the command that reproduces it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / "tests" / "api" / "schemathesis_hooks.py"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
ROLES = ("admin", "officer", "provider")
#: The check that reports each kind of failure (schemathesis' failure classes).
CHECK_OF = {
    "ServerError": "not_a_server_error",
    "ContentTypeServerError": "not_a_server_error",
    "UndefinedStatusCode": "status_code_conformance",
    "MissingContentType": "content_type_conformance",
    "UndefinedContentType": "content_type_conformance",
    "MalformedMediaType": "content_type_conformance",
    "JsonSchemaError": "response_schema_conformance",
    "MalformedJson": "response_schema_conformance",
    "ContentDeserializationError": "response_schema_conformance",
    "AcceptedNegativeData": "negative_data_rejection",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def demo_server(workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """``csomatch serve --demo`` in a subprocess; yields its URL and the demo tokens by role."""
    port = _free_port()
    env = {
        **os.environ,
        "CSOMATCH_HOME": str(workdir / "home"),
        "CSOMATCH_PORT": str(port),
        "CSOMATCH_LOG_LEVEL": "warning",
    }
    env.pop("CSOMATCH_DATABASE_URL", None)
    log = (workdir / "serve.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "csomatch", "serve", "--demo"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                log.seek(0)
                sys.exit(f"csomatch serve exited:\n{log.read()[-3000:]}")
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit("csomatch serve was not ready within 300 s")
            time.sleep(0.5)
        log.seek(0)
        tokens = dict(re.findall(r"^\s+(\w+)\s+(cso_\S+)$", log.read(), re.MULTILINE))
        yield base, tokens
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()


def dictionaries(base: str, tokens: dict[str, str]) -> dict[str, list[str]]:
    """Real ids and codes of the registry, for schemathesis to use beside random values."""

    def get(path: str, role: str = "admin") -> object:
        response = httpx.get(
            base + path, headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=30
        )
        response.raise_for_status()
        return response.json()

    services = get("/api/v1/services?limit=200")["services"]  # type: ignore[index]
    own = get("/api/v1/me", "provider")["organization_id"]  # type: ignore[index]
    mine = get(f"/api/v1/services?organization={own}&limit=50")["services"]  # type: ignore[index]
    areas = get("/api/v1/areas?limit=100")  # type: ignore[assignment]
    codes = get("/api/v1/taxonomy")  # type: ignore[assignment]
    return {
        "services": sorted({s["id"] for s in [*services, *mine]}),
        "organizations": sorted({s["organization_id"] for s in [*services, *mine]}),
        "areas": sorted({a["code"] for a in areas}),  # type: ignore[attr-defined]
        "codes": sorted({c["code"] for c in codes}),  # type: ignore[attr-defined]
    }


#: Which parameters take values from which dictionary (half the time).
BINDINGS = {
    "path.service_id": "services",
    "path.org_id": "organizations",
    "query.area": "areas",
    "query.organization": "organizations",
    "body.service_id": "services",
    "body.organization_id": "organizations",
    "body.area": "areas",
    "body.current_area": "areas",
    "body.code": "codes",
    "body.needs[*].code": "codes",
    "body.people[*].current_area": "areas",
    "body.people[*].needs[*].code": "codes",
}


def write_config(path: Path, values: dict[str, list[str]]) -> None:
    """A schemathesis.toml with the dictionaries and their bindings."""
    lines = []
    for name, entries in values.items():
        lines += [f"[dictionaries.{name}]", f"values = {json.dumps(entries)}", ""]
    lines.append("[parameters]")
    for key, name in BINDINGS.items():
        lines.append(f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}')
    path.write_text("\n".join(lines) + "\n")


class Run:
    """What one ``st run`` found."""

    def __init__(self, report: dict[str, object], seconds: float) -> None:
        cases = report.get("test_cases") or {}
        assert isinstance(cases, dict)
        self.requests = int(cases.get("generated", 0))
        self.seconds = seconds
        self.failures: Counter[str] = Counter()
        for failure in report.get("failures") or []:  # type: ignore[attr-defined]
            check = CHECK_OF.get(failure["type"], f"{failure['code']} {failure['title']}")
            self.failures[check] += int(failure.get("count", 1))
        self.errors = len(report.get("errors") or [])  # type: ignore[arg-type]


def run_st(
    schema_url: str,
    token: str,
    *,
    config: Path,
    workdir: Path,
    seed: int,
    max_examples: int,
    workers: int,
) -> tuple[Run, str]:
    """One ``st run`` as one token; returns its findings and its output."""
    report = workdir / f"report-{seed}-{token[-6:]}.json"
    command = [
        str(Path(sys.executable).parent / "st"),
        "--config-file",
        str(config),
        "run",
        schema_url,
        "--checks",
        ",".join(CHECKS),
        "--header",
        f"Authorization: Bearer {token}",
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--no-shrink",
        "--continue-on-failure",
        "--workers",
        str(workers),
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=workdir,
        env={**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS)},
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.monotonic() - started
    if not report.exists():
        sys.exit(f"st run wrote no report:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return Run(json.loads(report.read_text()), seconds), done.stdout


def campaign(
    base: str,
    tokens: dict[str, str],
    *,
    workdir: Path,
    requests: int,
    max_examples: int,
    workers: int,
    seed: int,
) -> int:
    """Run every role seed after seed until ``requests``; print the figures; 1 if any failed."""
    config = workdir / "schemathesis.toml"
    write_config(config, dictionaries(base, tokens))
    totals: dict[str, list[Run]] = {role: [] for role in ROLES}
    started = time.monotonic()
    sent = 0
    round_ = 0
    while sent < requests:
        for role in ROLES:
            found, output = run_st(
                base + "/schema/openapi.json",
                tokens[role],
                config=config,
                workdir=workdir,
                seed=seed + round_,
                max_examples=max_examples,
                workers=workers,
            )
            totals[role].append(found)
            sent += found.requests
            failed = sum(found.failures.values()) + found.errors
            print(
                f"  round {round_ + 1} {role:<9} {found.requests:>6} requests "
                f"{found.seconds:>6.0f} s  failures {failed}",
                flush=True,
            )
            if failed:
                print(output[-6000:])
        round_ += 1
    elapsed = time.monotonic() - started
    print(f"\nchecks: {', '.join(CHECKS)}")
    print(f"{'role':<10} {'requests':>9} {'failures':>9} {'errors':>7}")
    failures: Counter[str] = Counter()
    errors = 0
    for role, runs in totals.items():
        role_failures = sum((r.failures for r in runs), Counter[str]())
        role_errors = sum(r.errors for r in runs)
        failures += role_failures
        errors += role_errors
        count = sum(r.requests for r in runs)
        print(f"{role:<10} {count:>9,} {sum(role_failures.values()):>9} {role_errors:>7}")
    print(f"{'total':<10} {sent:>9,} {sum(failures.values()):>9} {errors:>7}")
    print("\nfailures per check:")
    for check in CHECKS:
        print(f"  {check:<30} {failures.get(check, 0)}")
    for other, count in failures.items():
        if other not in CHECKS:
            print(f"  {other:<30} {count}")
    print(f"\n{sent:,} requests in {elapsed:.0f} s ({sent / elapsed:.0f}/s)")
    return 1 if failures or errors else 0


def main() -> None:
    """Parse the arguments, start the server (unless --url) and run the campaign."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20_000, help="at least this many")
    parser.add_argument("--max-examples", type=int, default=25, help="per operation and run")
    # One worker: with more, hypothesis' lambda descriptions in the coverage phase hit a
    # CPython 3.11 error in ast.parse under threads ("AST constructor recursion depth
    # mismatch"), an error of the tool that ends the phase early.
    parser.add_argument("--workers", type=int, default=1, help="schemathesis workers")
    parser.add_argument("--seed", type=int, default=1, help="seed of the first round")
    parser.add_argument("--url", help="a server already running (else: serve --demo)")
    parser.add_argument(
        "--token", action="append", default=[], help="ROLE=TOKEN with --url, for each role"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="csomatch-schemathesis-") as tmp:
        workdir = Path(tmp)
        options = dict(
            workdir=workdir,
            requests=args.requests,
            max_examples=args.max_examples,
            workers=args.workers,
            seed=args.seed,
        )
        if args.url:
            tokens = dict(t.split("=", 1) for t in args.token)
            sys.exit(campaign(args.url.rstrip("/"), tokens, **options))  # type: ignore[arg-type]
        with demo_server(workdir) as (base, tokens):
            print(f"csomatch serve --demo at {base}; campaign of >= {args.requests:,} requests")
            code = campaign(base, tokens, **options)  # type: ignore[arg-type]
        sys.exit(code)


if __name__ == "__main__":
    main()
