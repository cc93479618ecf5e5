"""The audit chain on a real PostgreSQL: appends link up and are signed, writers serialise,
and tampering is found, by someone holding the key, even after the hashes were recomputed."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from tests.integration.audit_attacks import delete_newest, edit_and_rechain, switch_triggers_off

from csomatch.audit import checkpoints
from csomatch.db import audit

KEY = audit.AuditKey(bytes(range(32)))
OTHER_KEY = audit.AuditKey(bytes(range(1, 33)))
ACTOR = audit.AuditActor(
    token_id=uuid.uuid4(), role="officer", jurisdiction="RS", agency="Fictional Police Unit"
)


async def _signed(db_url: str) -> asyncpg.Connection:
    """A connection that signs, like the app's pool."""
    conn: asyncpg.Connection = await asyncpg.connect(
        db_url, connection_class=audit.signing_connection(KEY)
    )
    return conn


@pytest.fixture
async def signed(db_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await _signed(db_url)
    try:
        yield conn
    finally:
        await conn.close()


async def _append(conn: asyncpg.Connection, n: int) -> None:
    for i in range(n):
        await audit.record_event(
            conn, actor=ACTOR, action="referral.read", object_type="referral",
            object_id=f"r{i}", outcome="ok",
        )  # fmt: skip


async def test_an_untouched_chain_verifies_every_signature(signed: asyncpg.Connection) -> None:
    await _append(signed, 5)
    report = await audit.verify_chain(signed, KEY, batch=2)
    assert (report.events, report.first_break, report.unsigned) == (5, None, 0)
    macs = await signed.fetch("SELECT hash, mac FROM audit_event ORDER BY seq")
    assert all(KEY.signs(audit.EVENT_PURPOSE, r["hash"], r["mac"]) for r in macs)


async def test_concurrent_writers_keep_one_chain(db_url: str) -> None:
    async def writer() -> None:
        c = await _signed(db_url)
        try:
            await _append(c, 10)
        finally:
            await c.close()

    await asyncio.gather(*(writer() for _ in range(5)))
    c = await _signed(db_url)
    try:
        report = await audit.verify_chain(c, KEY)
    finally:
        await c.close()
    assert report.events == 50
    assert report.first_break is None


async def test_an_edited_event_is_reported(signed: asyncpg.Connection) -> None:
    await _append(signed, 4)
    await switch_triggers_off(signed)
    await signed.execute("UPDATE audit_event SET outcome = 'denied' WHERE seq = 3")
    report = await audit.verify_chain(signed, KEY)
    assert report.first_break == audit.ChainBreak(seq=3, problem="this event was altered")
    assert report.events == 2


async def test_a_deleted_event_is_reported(signed: asyncpg.Connection) -> None:
    await _append(signed, 4)
    await switch_triggers_off(signed)
    await signed.execute("DELETE FROM audit_event WHERE seq = 2")
    report = await audit.verify_chain(signed, KEY)
    assert report.first_break is not None
    assert report.first_break.seq == 3
    assert "missing" in report.first_break.problem


async def test_an_edit_with_every_later_hash_recomputed_is_reported(
    signed: asyncpg.Connection,
) -> None:
    await _append(signed, 6)
    await edit_and_rechain(signed, 3, outcome="denied")
    assert await signed.fetchval("SELECT outcome FROM audit_event WHERE seq = 3") == "denied"
    report = await audit.verify_chain(signed, KEY)
    # Links and hashes hold again (the SQL formula is the chain's): only the key tells.
    assert report.first_break is not None
    assert report.first_break.seq == 3
    assert report.first_break.problem.startswith("this event's signature does not match")
    assert report.events == 2


async def test_an_unsigned_event_after_signing_began_is_reported(
    signed: asyncpg.Connection, conn: asyncpg.Connection
) -> None:
    await _append(signed, 2)
    await _append(conn, 1)  # a connection without the key
    await _append(signed, 1)
    report = await audit.verify_chain(signed, KEY)
    assert report.first_break is not None
    assert report.first_break.seq == 3
    assert report.first_break.problem.startswith("this event is not signed")


async def test_stripped_signatures_are_reported(signed: asyncpg.Connection) -> None:
    await _append(signed, 3)
    await switch_triggers_off(signed)
    await signed.execute("UPDATE audit_event SET mac = NULL WHERE seq >= 2")
    report = await audit.verify_chain(signed, KEY)
    assert report.first_break is not None
    assert (report.first_break.seq, report.events) == (2, 1)


async def test_a_wrong_key_fails_at_the_first_signed_event(signed: asyncpg.Connection) -> None:
    await _append(signed, 3)
    report = await audit.verify_chain(signed, OTHER_KEY)
    assert report.first_break is not None
    assert report.first_break.seq == 1
    assert "CSOMATCH_AUDIT_KEY_FILE is not the key that signed it" in report.first_break.problem


async def test_events_from_before_signing_began_verify_unsigned(
    signed: asyncpg.Connection, conn: asyncpg.Connection
) -> None:
    # An upgraded database: migration 0063 found two events and recorded that signing
    # begins after them (replayed here by hand, as the template is already migrated).
    await _append(conn, 2)
    await switch_triggers_off(conn)
    await conn.execute("UPDATE audit_signing SET unsigned_until = 2")
    await conn.execute("ALTER TABLE audit_signing ENABLE TRIGGER USER")
    await _append(signed, 3)
    report = await audit.verify_chain(signed, KEY)
    assert (report.events, report.first_break, report.unsigned) == (5, None, 2)
    assert report.unsigned_until == 2


async def test_deleting_the_newest_events_breaks_the_checkpoint(
    signed: asyncpg.Connection, tmp_path: Path
) -> None:
    log = tmp_path / "audit-checkpoints.log"
    await _append(signed, 5)
    written = await checkpoints.checkpoint_once(signed, KEY, log)
    assert (written.outcome, written.seq) == ("written", 5)
    await delete_newest(signed, 2)
    # The chain that is left is valid on its own: only the checkpoint shows the cut.
    assert (await audit.verify_chain(signed, KEY)).first_break is None
    anchor = checkpoints.newest(log, KEY)
    assert anchor is not None
    report = await audit.verify_chain(signed, KEY, anchor=anchor.anchor())
    assert report.first_break is not None
    assert report.first_break.seq == 5
    assert report.first_break.problem.endswith("ends at seq 3: the newest events were deleted")
    # and the checkpoint writer will not vouch for the shorter chain
    again = await checkpoints.checkpoint_once(signed, KEY, log)
    assert again.outcome == "broken"
    assert log.read_text().count("\n") == 1


async def test_events_after_the_checkpoint_chain_from_it(
    signed: asyncpg.Connection, tmp_path: Path
) -> None:
    log = tmp_path / "audit-checkpoints.log"
    first = await checkpoints.checkpoint_once(signed, KEY, log)  # the empty chain
    assert (first.outcome, first.seq) == ("written", 0)
    await _append(signed, 3)
    assert (await checkpoints.checkpoint_once(signed, KEY, log)).seq == 3
    assert (await checkpoints.checkpoint_once(signed, KEY, log)).outcome == "unchanged"
    await _append(signed, 2)
    cp = checkpoints.newest(log, KEY)
    assert cp is not None
    report = await audit.verify_chain(signed, KEY, anchor=cp.anchor())
    assert (report.first_break, report.events, report.after_anchor) == (None, 5, 2)


async def test_a_rewritten_checkpointed_event_is_reported_even_unsigned(
    signed: asyncpg.Connection, tmp_path: Path
) -> None:
    # Signing bypassed altogether: signatures stripped, where signing began moved past
    # the end, the chain recomputed. The checkpoint still tells.
    log = tmp_path / "audit-checkpoints.log"
    await _append(signed, 4)
    await checkpoints.checkpoint_once(signed, KEY, log)
    await edit_and_rechain(signed, 2, outcome="denied")
    await signed.execute("UPDATE audit_event SET mac = NULL")
    await signed.execute("UPDATE audit_signing SET unsigned_until = 4")
    cp = checkpoints.newest(log, KEY)
    assert cp is not None
    report = await audit.verify_chain(signed, KEY, anchor=cp.anchor())
    assert report.first_break is not None
    assert "where signing began was changed" in report.first_break.problem
    # Without the checkpoint, the rewritten chain would pass as one from before signing.
    assert (await audit.verify_chain(signed, KEY)).first_break is None


async def test_a_forged_checkpoint_is_refused(signed: asyncpg.Connection, tmp_path: Path) -> None:
    log = tmp_path / "audit-checkpoints.log"
    await _append(signed, 2)
    forged = checkpoints.signed(
        OTHER_KEY,
        anchor=audit.Anchor(seq=1, head=b"\x01" * 32, unsigned_until=0),
        at=dt.datetime.now(dt.UTC),
    )
    checkpoints.append(log, forged)
    with pytest.raises(checkpoints.CheckpointInvalid, match="not signed with this key"):
        checkpoints.newest(log, KEY)


async def test_a_rolled_back_write_leaves_no_break(signed: asyncpg.Connection) -> None:
    await _append(signed, 1)
    tx = signed.transaction()
    await tx.start()
    await _append(signed, 1)
    await tx.rollback()
    await _append(signed, 1)
    assert (await audit.verify_chain(signed, KEY)).first_break is None


async def test_events_of_one_object_in_order(signed: asyncpg.Connection) -> None:
    await _append(signed, 3)
    await _append(signed, 2)
    events = await audit.list_events_for(signed, object_type="referral", object_id="r1")
    assert [e.agency for e in events] == ["Fictional Police Unit"] * 2
    assert events[0].seq < events[1].seq
