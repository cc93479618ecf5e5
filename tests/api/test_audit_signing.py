"""The server signs the audit log and checkpoints it: the key made at its first start, the
events its requests write, the checkpoint log it keeps, and a key it must refuse."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.audit import checkpoints
from csomatch.audit.key import AuditKeyError, load_key
from csomatch.db import audit
from csomatch.settings import Settings
from tests.api.conftest import make_token


def _settings(db: str, home: Path, **overrides: float) -> Settings:
    return Settings(
        database_url=db, home=home, pool_min_size=1, pool_max_size=4, dispatch_interval_s=0,
        **overrides,  # type: ignore[arg-type]
    )  # fmt: skip


async def test_the_first_start_makes_a_private_key_and_requests_write_signed_events(
    demo_db: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    app = create_app(_settings(demo_db, home), demo_db)
    key_file = home / "audit.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert not key_file.is_relative_to(home / "pgdata")
    officer = await make_token(demo_db, "officer")
    async with AsyncTestClient(app=app) as client:
        # A refused read is audited too: two events, written through the app's pool.
        for _ in range(2):
            missing = await client.get(f"/api/v1/referrals/{uuid.uuid4()}", headers=officer)
            assert missing.status_code == 404
    key = load_key(Settings(home=home))
    conn = await asyncpg.connect(demo_db)
    try:
        report = await audit.verify_chain(conn, key)
    finally:
        await conn.close()
    assert (report.first_break, report.events, report.unsigned) == (None, 2, 0)
    # The same key at the next start: the file is read, not replaced.
    assert create_app(_settings(demo_db, home), demo_db) is not None
    assert load_key(Settings(home=home)).sign(b"t", b"m") == key.sign(b"t", b"m")


async def test_the_server_checkpoints_the_head_as_it_moves(demo_db: str, tmp_path: Path) -> None:
    app = create_app(_settings(demo_db, tmp_path, audit_checkpoint_interval_s=0.05), demo_db)
    log = tmp_path / "audit-checkpoints.log"
    officer = await make_token(demo_db, "officer")
    async with AsyncTestClient(app=app) as client:
        key = load_key(Settings(home=tmp_path))
        first = await _checkpoint_reaching(log, key, 0)  # written at start: the empty chain
        assert first.unsigned_until == 0
        for _ in range(3):
            await client.get(f"/api/v1/referrals/{uuid.uuid4()}", headers=officer)
        cp = await _checkpoint_reaching(log, key, 3)
    conn = await asyncpg.connect(demo_db)
    try:
        head = await audit.chain_head(conn)
        report = await audit.verify_chain(conn, key, anchor=cp.anchor())
    finally:
        await conn.close()
    assert (cp.seq, cp.head) == (head.seq, head.hash.hex())
    assert report.first_break is None
    assert log.stat().st_mode & 0o777 == 0o600


async def _checkpoint_reaching(log: Path, key: audit.AuditKey, seq: int) -> checkpoints.Checkpoint:
    for _ in range(600):  # up to 30 s on a slow machine
        cp = checkpoints.newest(log, key)
        if cp is not None and cp.seq >= seq:
            return cp
        await asyncio.sleep(0.05)
    raise AssertionError(f"no checkpoint reached seq {seq}")


def test_one_process_per_home_holds_the_writer_lock(tmp_path: Path) -> None:
    first = checkpoints.WriterLock(tmp_path / "audit-checkpoints.lock")
    second = checkpoints.WriterLock(tmp_path / "audit-checkpoints.lock")
    assert first.acquire()
    assert first.acquire()  # still ours
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


async def test_a_key_that_did_not_sign_the_log_stops_the_start(
    demo_db: str, tmp_path: Path
) -> None:
    officer = await make_token(demo_db, "officer")
    async with AsyncTestClient(app=create_app(_settings(demo_db, tmp_path / "a"), demo_db)) as c:
        await c.get(f"/api/v1/referrals/{uuid.uuid4()}", headers=officer)
    other = create_app(_settings(demo_db, tmp_path / "b"), demo_db)  # a new, different key
    refused = pytest.RaisesExc(AuditKeyError, match="give every server of one database the same")
    with pytest.RaisesGroup(refused, flatten_subgroups=True):
        async with AsyncTestClient(app=other):
            pass


def test_a_key_file_others_may_read_stops_the_start(demo_db: str, tmp_path: Path) -> None:
    load_key(Settings(home=tmp_path), create=True)
    (tmp_path / "audit.key").chmod(0o640)
    with pytest.raises(AuditKeyError, match="may be read by other users"):
        create_app(_settings(demo_db, tmp_path), demo_db)


def test_serve_refuses_a_key_file_others_may_read_with_a_clear_message(
    demo_db: str, tmp_path: Path
) -> None:
    load_key(Settings(home=tmp_path), create=True)
    (tmp_path / "audit.key").chmod(0o644)
    env = {**os.environ, "CSOMATCH_DATABASE_URL": demo_db, "CSOMATCH_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "csomatch", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert f"chmod 600 {tmp_path / 'audit.key'}" in result.stderr
    assert "Traceback" not in result.stderr
