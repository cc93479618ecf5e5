"""``csomatch licence`` in a subprocess on a test database: add, list, renew, suspend, revoke."""

from __future__ import annotations

import re

import asyncpg
import pytest

from tests.api.test_funding_cli import cli_env, csomatch  # noqa: F401 -- a fixture
from tests.api.test_registry_api import SHELTER_ORG

pytestmark = pytest.mark.slow


def _id(out: str) -> str:
    found = re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", out)
    assert found, out
    return found.group(0)


async def test_the_operator_manages_a_licence(
    cli_env: dict[str, str],  # noqa: F811 -- the fixture
    demo_db: str,
) -> None:
    added = csomatch(
        "licence", "add", "--org", str(SHELTER_ORG), "--authority", "Ministry of social protection",
        "--number", "RS-SOC-CLI-1", "--code", "ACC.EMERG", "--code", "PSY.CRISIS",
        "--from", "2025-01-01", "--to", "2099-12-31", "--evidence", "Decision 1/2025",
        env=cli_env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "RS-SOC-CLI-1" in added.stdout
    assert "valid" in added.stdout
    lid = _id(added.stdout.splitlines()[1])
    listed = csomatch("licence", "list", "--org", str(SHELTER_ORG), env=cli_env)
    assert lid in listed.stdout

    suspended = csomatch("licence", "suspend", lid, "--reason", "inspection_failed", env=cli_env)
    assert suspended.returncode == 0, suspended.stderr
    assert "suspended (inspection_failed)" in suspended.stdout
    stale = csomatch("licence", "reinstate", lid, "--version", "1", env=cli_env)
    assert stale.returncode == 1
    assert "(--version)" in stale.stderr
    back = csomatch("licence", "reinstate", lid, "--version", "2", env=cli_env)
    assert back.returncode == 0, back.stderr
    renewed = csomatch("licence", "renew", lid, "--to", "2100-06-30", env=cli_env)
    assert "2100-06-30" in renewed.stdout
    revoked = csomatch("licence", "revoke", lid, "--reason", "closed", env=cli_env)
    assert "revoked (closed)" in revoked.stdout
    again = csomatch("licence", "reinstate", lid, env=cli_env)
    assert again.returncode == 1
    assert "only a licence that is suspended" in again.stderr

    conn = await asyncpg.connect(demo_db)
    try:
        audited = await conn.fetch(
            "SELECT role, action FROM audit_event WHERE object_id = $1 ORDER BY seq", lid
        )
    finally:
        await conn.close()
    assert [(r["role"], r["action"]) for r in audited] == [
        ("cli", "licence.add"), ("cli", "licence.suspend"), ("cli", "licence.reinstate"),
        ("cli", "licence.renew"), ("cli", "licence.revoke"),
    ]  # fmt: skip


def test_refusals_say_how_to_fix(cli_env: dict[str, str]) -> None:  # noqa: F811
    unknown = csomatch(
        "licence", "add", "--org", str(SHELTER_ORG), "--authority", "Ministry",
        "--number", "X-1", "--code", "ACC.NOPE", "--from", "2025-01-01", env=cli_env,
    )  # fmt: skip
    assert unknown.returncode == 1
    assert "no service code of the taxonomy" in unknown.stderr
    assert "(--code)" in unknown.stderr
    backwards = csomatch(
        "licence", "add", "--org", str(SHELTER_ORG), "--authority", "Ministry",
        "--number", "X-2", "--code", "ACC.EMERG", "--from", "2025-01-01", "--to", "2024-01-01",
        env=cli_env,
    )  # fmt: skip
    assert "(--to)" in backwards.stderr
    bad_date = csomatch("licence", "renew", str(SHELTER_ORG), "--to", "31.12.2030", env=cli_env)
    assert bad_date.returncode == 2
    assert "YYYY-MM-DD" in bad_date.stderr
    missing = csomatch("licence", "suspend", str(SHELTER_ORG), "--reason", "other", env=cli_env)
    assert missing.returncode == 1
    assert "no licence" in missing.stderr
    soon = csomatch(
        "licence", "list", "--expiring-within", "90", "--participant", "RS", env=cli_env
    )
    assert soon.returncode == 0, soon.stderr
    assert "expired" in soon.stdout  # the Novi Sad shelter's licence, ended in 2025
