"""Outbox events and service track records on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from csomatch.db import outbox, track_records
from csomatch.errors import InvalidInput
from csomatch.registry import seeding

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


async def test_outbox_events_come_back_in_order(conn: asyncpg.Connection) -> None:
    oid = uuid.uuid4()
    first = await outbox.emit(
        conn,
        outbox.NewEvent(
            event_type="referral.offered", object_type="referral", object_id=oid,
            state="offered", organization_ids=[oid], jurisdictions=["RS", "AL"],
        ),
    )  # fmt: skip
    await outbox.emit(
        conn, outbox.NewEvent(event_type="hold.expired", object_type="hold", object_id=oid)
    )
    events = await outbox.events_after(conn, first - 1)
    assert [e.event_type for e in events] == ["referral.offered", "hold.expired"]
    assert events[0].jurisdictions == ["RS", "AL"]
    assert await outbox.events_after(conn, events[-1].id) == []


async def test_an_event_type_is_a_code(conn: asyncpg.Connection) -> None:
    with pytest.raises(InvalidInput):
        await outbox.emit(
            conn,
            outbox.NewEvent(event_type="Referral for Ana", object_type="referral",
                            object_id=uuid.uuid4()),
        )  # fmt: skip


async def test_track_records_count_offers_and_feedback(conn: asyncpg.Connection) -> None:
    await seeding.load_demo(conn, seeding.default_seed_dir(), now=NOW)
    service_id = await conn.fetchval("SELECT id FROM service ORDER BY id LIMIT 1")
    await track_records.record_offer_answer(conn, service_id, accepted=True)
    await track_records.record_offer_answer(conn, service_id, accepted=False)
    await track_records.record_feedback(conn, service_id, 4)
    [record] = await track_records.track_records(conn, [service_id, uuid.uuid4()])
    assert (record.offers, record.accepted, record.feedback_n, record.feedback_sum) == (2, 1, 1, 4)
    with pytest.raises(InvalidInput):
        await track_records.record_feedback(conn, service_id, 9)
