"""Outbox events and service track records on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from csomatch.db import outbox, track_records
from csomatch.domain.acceptance import counted
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
    org_id = await conn.fetchval("SELECT organization_id FROM service WHERE id = $1", service_id)
    for outcome in ("accepted", "expired_unanswered", "safety"):
        await track_records.record_offer_outcome(
            conn, service_id, org_id, outcome,
            counts=counted(outcome), quarter=dt.date(2026, 10, 1),
        )  # fmt: skip
    await track_records.record_feedback(conn, service_id, 4)
    [record] = await track_records.track_records(conn, [service_id, uuid.uuid4()])
    assert (record.offers, record.accepted, record.feedback_n, record.feedback_sum) == (2, 1, 1, 4)
    with pytest.raises(InvalidInput):
        await track_records.record_feedback(conn, service_id, 9)


async def test_offer_outcomes_count_per_quarter(conn: asyncpg.Connection) -> None:
    await seeding.load_demo(conn, seeding.default_seed_dir(), now=NOW)
    service_id, org_id = await conn.fetchrow(
        "SELECT id, organization_id FROM service ORDER BY id LIMIT 1"
    )
    q3, q4 = dt.date(2026, 7, 1), dt.date(2026, 10, 1)
    for quarter, outcome in [(q3, "accepted"), (q3, "accepted"), (q4, "other")]:
        await track_records.record_offer_outcome(
            conn, service_id, org_id, outcome, counts=counted(outcome), quarter=quarter
        )
    found = await track_records.outcome_counts(conn, org_id, since=q3, before=q4)
    assert [(c.quarter, c.outcome, c.n) for c in found] == [(q3, "accepted", 2)]
    with pytest.raises(InvalidInput):  # a quarter starts on its first day
        await track_records.record_offer_outcome(
            conn, service_id, org_id, "other", counts=counted("other"),
            quarter=dt.date(2026, 8, 1),
        )  # fmt: skip
