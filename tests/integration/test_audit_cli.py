"""``csomatch audit verify`` as a user runs it: a subprocess on a real database, with the key
file and the checkpoint log of a ``CSOMATCH_HOME``."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
from tests.integration.audit_attacks import delete_newest, edit_and_rechain, switch_triggers_off

from csomatch.audit import checkpoints
from csomatch.audit.key import load_key
from csomatch.db import audit
from csomatch.settings import Settings

ACTOR = audit.AuditActor(
    token_id=uuid.uuid4(), role="coordinator", jurisdiction="RS", agency="Fictional NRM Office"
)


async def _append(db_url: str, home: Path, n: int) -> asyncpg.Connection:
    """``n`` events signed with the key of ``home`` (made, as the server's first start
    would); returns the signing connection."""
    key = load_key(Settings(home=home), create=True)
    conn: asyncpg.Connection = await asyncpg.connect(
        db_url, connection_class=audit.signing_connection(key)
    )
    for i in range(n):
        await audit.record_event(
            conn, actor=ACTOR, action="referral.read", object_type="referral",
            object_id=f"r{i}", outcome="ok",
        )  # fmt: skip
    return conn


async def _checkpoint(conn: asyncpg.Connection, home: Path) -> None:
    key = load_key(Settings(home=home))
    done = await checkpoints.checkpoint_once(conn, key, home / "audit-checkpoints.log")
    assert done.outcome == "written"


def _verify(
    db_url: str, home: Path, *extra: str, **env_extra: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CSOMATCH_DATABASE_URL": db_url, "CSOMATCH_HOME": str(home), **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "csomatch", "audit", "verify", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_an_intact_chain_exits_0_with_the_count_the_checkpoint_and_progress(
    db_url: str, tmp_path: Path
) -> None:
    conn = await _append(db_url, tmp_path, 5)
    await _checkpoint(conn, tmp_path)
    await conn.close()
    conn = await _append(db_url, tmp_path, 2)
    await conn.close()
    result = _verify(db_url, tmp_path, "--batch", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "audit chain intact: 7 events checked"
    assert "event seq 5 unchanged, 2 newer events chain from it" in lines[1]
    # progress after each batch of three: 3, 6, 7
    assert [line.split()[0] for line in result.stderr.splitlines() if "verified" in line] == [
        "3",
        "6",
        "7",
    ]


async def test_an_empty_log_without_checkpoint_is_intact_and_says_so(
    db_url: str, tmp_path: Path
) -> None:
    load_key(Settings(home=tmp_path), create=True)
    result = _verify(db_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 events checked" in result.stdout
    assert "no checkpoint yet" in result.stdout


async def test_an_altered_event_exits_1_naming_it(db_url: str, tmp_path: Path) -> None:
    conn = await _append(db_url, tmp_path, 5)
    await switch_triggers_off(conn)
    await conn.execute("UPDATE audit_event SET role = 'admin' WHERE seq = 4")
    await conn.close()
    result = _verify(db_url, tmp_path)
    assert result.returncode == 1
    assert "BROKEN at event seq 4: this event was altered" in result.stdout
    assert "3 events before it verified" in result.stdout


async def test_a_removed_event_exits_1_naming_the_broken_link(db_url: str, tmp_path: Path) -> None:
    conn = await _append(db_url, tmp_path, 5)
    await switch_triggers_off(conn)
    await conn.execute("DELETE FROM audit_event WHERE seq = 2")
    await conn.close()
    result = _verify(db_url, tmp_path)
    assert result.returncode == 1
    assert "BROKEN at event seq 3" in result.stdout
    assert "missing" in result.stdout


async def test_an_edit_with_the_chain_recomputed_in_sql_exits_1(
    db_url: str, tmp_path: Path
) -> None:
    conn = await _append(db_url, tmp_path, 6)
    await edit_and_rechain(conn, 2, outcome="forbidden")
    await conn.close()
    result = _verify(db_url, tmp_path)
    assert result.returncode == 1
    assert "BROKEN at event seq 2: this event's signature does not match" in result.stdout


async def test_deleting_the_newest_checkpointed_events_exits_1(db_url: str, tmp_path: Path) -> None:
    conn = await _append(db_url, tmp_path, 6)
    await _checkpoint(conn, tmp_path)
    await delete_newest(conn, 3)
    await conn.close()
    result = _verify(db_url, tmp_path)
    assert result.returncode == 1
    assert "BROKEN at event seq 6" in result.stdout
    assert "ends at seq 3: the newest events were deleted" in result.stdout


async def test_a_wrong_key_exits_1(db_url: str, tmp_path: Path) -> None:
    conn = await _append(db_url, tmp_path, 3)
    await conn.close()
    other = tmp_path / "other.key"
    other.write_text("ab" * 32 + "\n")
    other.chmod(0o600)
    result = _verify(db_url, tmp_path, CSOMATCH_AUDIT_KEY_FILE=str(other))
    assert result.returncode == 1
    assert "BROKEN at event seq 1" in result.stdout
    assert "CSOMATCH_AUDIT_KEY_FILE is not the key that signed it" in result.stdout


async def test_a_forged_checkpoint_exits_1(db_url: str, tmp_path: Path) -> None:
    conn = await _append(db_url, tmp_path, 2)
    await _checkpoint(conn, tmp_path)
    await conn.close()
    log = tmp_path / "audit-checkpoints.log"
    line = log.read_text().splitlines()[-1].replace('"seq":2', '"seq":1')
    with log.open("a") as f:
        f.write(line + "\n")
    result = _verify(db_url, tmp_path)
    assert result.returncode == 1
    assert "audit checkpoints BROKEN" in result.stdout
    assert "not signed with this key" in result.stdout


def test_without_a_key_it_exits_2_saying_where_it_looked(tmp_path: Path) -> None:
    result = _verify("postgresql://unused", tmp_path)
    assert result.returncode == 2
    assert f"no audit key at {tmp_path / 'audit.key'}" in result.stderr
    assert "CSOMATCH_AUDIT_KEY_FILE" in result.stderr
    assert not (tmp_path / "audit.key").exists()  # verifying never makes a key


def test_a_key_others_may_read_is_refused(tmp_path: Path) -> None:
    load_key(Settings(home=tmp_path), create=True)
    (tmp_path / "audit.key").chmod(0o644)
    result = _verify("postgresql://unused", tmp_path)
    assert result.returncode == 2
    assert f"chmod 600 {tmp_path / 'audit.key'}" in result.stderr


def test_batch_must_be_positive(tmp_path: Path) -> None:
    result = _verify("postgresql://unused", tmp_path, "--batch", "0")
    assert result.returncode == 2
    assert "--batch" in result.stderr


def test_help_explains_the_checks_and_the_exit_codes(tmp_path: Path) -> None:
    result = _verify("postgresql://unused", tmp_path, "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for words in (
        "CSOMATCH_AUDIT_KEY_FILE",
        "audit-checkpoints.log",
        "newest checkpoint",
        "0 intact, 1 broken, 2 no key",
        "can still be deleted unseen",
    ):
        assert words in text, words


async def test_a_database_not_yet_migrated_to_signing_says_so(
    conn: asyncpg.Connection, db_url: str, tmp_path: Path
) -> None:
    load_key(Settings(home=tmp_path), create=True)
    await conn.execute("DROP TABLE audit_signing")  # as before that migration
    result = _verify(db_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "not migrated (csomatch db migrate)" in result.stdout
