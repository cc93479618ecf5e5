"""The audit chain on a real PostgreSQL: appends link up, tampering is found, writers serialise."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from csomatch.db import audit

ACTOR = audit.AuditActor(
    token_id=uuid.uuid4(), role="officer", jurisdiction="RS", agency="Fictional Police Unit"
)


async def _append(conn: asyncpg.Connection, n: int) -> None:
    for i in range(n):
        await audit.record_event(
            conn, actor=ACTOR, action="referral.read", object_type="referral",
            object_id=f"r{i}", outcome="ok",
        )  # fmt: skip


async def test_an_untouched_chain_verifies(conn: asyncpg.Connection) -> None:
    await _append(conn, 5)
    report = await audit.verify_chain(conn, batch=2)
    assert report == audit.ChainReport(events=5, first_break=None)


async def test_concurrent_writers_keep_one_chain(db_url: str) -> None:
    async def writer() -> None:
        c = await asyncpg.connect(db_url)
        try:
            await _append(c, 10)
        finally:
            await c.close()

    await asyncio.gather(*(writer() for _ in range(5)))
    c = await asyncpg.connect(db_url)
    try:
        report = await audit.verify_chain(c)
    finally:
        await c.close()
    assert report.events == 50
    assert report.first_break is None


async def _disable_append_only(conn: asyncpg.Connection) -> None:
    # What an attacker with the database owner's rights could do.
    await conn.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update")


async def test_an_edited_event_is_reported(conn: asyncpg.Connection) -> None:
    await _append(conn, 4)
    await _disable_append_only(conn)
    await conn.execute("UPDATE audit_event SET outcome = 'denied' WHERE seq = 3")
    report = await audit.verify_chain(conn)
    assert report.first_break == audit.ChainBreak(seq=3, problem="this event was altered")
    assert report.events == 2


async def test_a_deleted_event_is_reported(conn: asyncpg.Connection) -> None:
    await _append(conn, 4)
    await _disable_append_only(conn)
    await conn.execute("DELETE FROM audit_event WHERE seq = 2")
    report = await audit.verify_chain(conn)
    assert report.first_break is not None
    assert report.first_break.seq == 3
    assert "missing" in report.first_break.problem


async def test_a_rolled_back_write_leaves_no_break(conn: asyncpg.Connection) -> None:
    await _append(conn, 1)
    tx = conn.transaction()
    await tx.start()
    await _append(conn, 1)
    await tx.rollback()
    await _append(conn, 1)
    assert (await audit.verify_chain(conn)).first_break is None


async def test_events_of_one_object_in_order(conn: asyncpg.Connection) -> None:
    await _append(conn, 3)
    await _append(conn, 2)
    events = await audit.list_events_for(conn, object_type="referral", object_id="r1")
    assert [e.agency for e in events] == ["Fictional Police Unit"] * 2
    assert events[0].seq < events[1].seq
