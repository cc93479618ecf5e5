"""``csomatch audit verify`` as a user runs it: a subprocess on a real database."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg

from csomatch.db import audit

ACTOR = audit.AuditActor(
    token_id=uuid.uuid4(), role="coordinator", jurisdiction="RS", agency="Fictional NRM Office"
)


async def _append(conn: asyncpg.Connection, n: int) -> None:
    for i in range(n):
        await audit.record_event(
            conn, actor=ACTOR, action="referral.read", object_type="referral",
            object_id=f"r{i}", outcome="ok",
        )  # fmt: skip


def _verify(db_url: str, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CSOMATCH_DATABASE_URL": db_url, "CSOMATCH_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "csomatch", "audit", "verify", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_an_intact_chain_exits_0_with_the_count_and_progress(
    conn: asyncpg.Connection, db_url: str, tmp_path: Path
) -> None:
    await _append(conn, 7)
    result = _verify(db_url, tmp_path, "--batch", "3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "audit chain intact: 7 events checked"
    # progress after each batch of three: 3, 6, 7
    assert [line.split()[0] for line in result.stderr.splitlines() if "verified" in line] == [
        "3",
        "6",
        "7",
    ]


async def test_an_empty_log_is_intact(db_url: str, tmp_path: Path) -> None:
    result = _verify(db_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 events checked" in result.stdout


async def test_an_altered_event_exits_1_naming_it(
    conn: asyncpg.Connection, db_url: str, tmp_path: Path
) -> None:
    await _append(conn, 5)
    # What an attacker with the database owner's rights could do.
    await conn.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
    await conn.execute("UPDATE audit_event SET role = 'admin' WHERE seq = 4")
    result = _verify(db_url, tmp_path)
    assert result.returncode == 1
    assert "BROKEN at event seq 4: this event was altered" in result.stdout
    assert "3 events before it verified" in result.stdout


async def test_a_removed_event_exits_1_naming_the_broken_link(
    conn: asyncpg.Connection, db_url: str, tmp_path: Path
) -> None:
    await _append(conn, 5)
    await conn.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")
    await conn.execute("DELETE FROM audit_event WHERE seq = 2")
    result = _verify(db_url, tmp_path)
    assert result.returncode == 1
    assert "BROKEN at event seq 3" in result.stdout
    assert "missing" in result.stdout


def test_batch_must_be_positive(tmp_path: Path) -> None:
    result = _verify("postgresql://unused", tmp_path, "--batch", "0")
    assert result.returncode == 2
    assert "--batch" in result.stderr
