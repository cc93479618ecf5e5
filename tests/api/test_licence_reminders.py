"""Licence reminders: 90, 30 and 7 days before the end and the day after, once each per end;
delivered as webhooks to the provider and the coordinators, and in the event feed."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from csomatch.db.pool import Pool, create_pool
from csomatch.notifications.dispatch import dispatch_once
from csomatch.registry.licences import ReminderReport, send_reminders
from tests.api.conftest import make_token
from tests.api.referral_factories import idem
from tests.api.test_licences import add, path
from tests.api.test_registry_api import SHELTER_ORG, Client
from tests.api.test_webhooks import POLICY, _subscribe, api  # noqa: F401 -- a fixture
from tests.api.webhook_receiver import receiver


@pytest.fixture
async def pool(demo_db: str) -> AsyncIterator[Pool]:
    p = await create_pool(demo_db, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


def at(day: dt.date) -> dt.datetime:
    """Noon UTC of ``day``: the sweep's injected clock."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


async def _sweep(db: str, day: dt.date) -> ReminderReport:
    conn = await asyncpg.connect(db)
    try:
        return await send_reminders(conn, now=at(day))
    finally:
        await conn.close()


async def _reminders(db: str, licence_id: str) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(db)
    try:
        rows = await conn.fetch(
            "SELECT event_type, state FROM outbox_event WHERE object_id = $1"
            " AND event_type IN ('licence.expiring', 'licence.expired') ORDER BY id",
            uuid.UUID(licence_id),
        )
    finally:
        await conn.close()
    return [(r["event_type"], r["state"]) for r in rows]


async def test_each_reminder_once_then_again_after_a_renewal(
    api: Client,  # noqa: F811 -- the fixture
    demo_db: str,
    pool: Pool,
) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    end = dt.date.today() + dt.timedelta(days=120)
    lic = await add(api, coord, SHELTER_ORG, valid_to=end.isoformat())
    lid = lic["id"]
    with receiver() as recv:
        provider = await make_token(demo_db, "provider", "RS", org=SHELTER_ORG)
        await _subscribe(api, provider, recv, "/provider", ["licence.*"])
        await _subscribe(api, coord, recv, "/rs", ["licence.expiring", "licence.expired"])
        other = await make_token(demo_db, "coordinator", "AL")
        await _subscribe(api, other, recv, "/al", ["*"])

        # Day by day from 100 days before the end to 3 days after it, sweeping twice a day.
        for before in range(100, -4, -1):
            day = end - dt.timedelta(days=before)
            await _sweep(demo_db, day)
            await _sweep(demo_db, day)
        assert await _reminders(demo_db, lid) == [
            ("licence.expiring", "ninety_days"),
            ("licence.expiring", "thirty_days"),
            ("licence.expiring", "seven_days"),
            ("licence.expired", "expired"),
        ]
        # A few rounds, a retry's backoff apart: the little receiver may refuse a connection
        # when many arrive at once, and the dispatcher then tries again.
        async with httpx.AsyncClient() as http:
            start = dt.datetime.now(dt.UTC)
            for round_ in range(6):
                now = start + dt.timedelta(seconds=20 * round_)
                await dispatch_once(pool, http, POLICY, now=now)
        mine = [
            (r.payload["event"]["type"], r.payload["event"]["state"])
            for path_ in ("/provider", "/rs")
            for r in recv.at(path_)
            if r.payload["event"]["object_id"] == lid
        ]
        assert mine.count(("licence.expiring", "ninety_days")) == 2
        assert mine.count(("licence.expired", "expired")) == 2
        assert all(r.signature_ok for r in recv.received)
        # another jurisdiction hears nothing of it
        assert [r for r in recv.at("/al") if r.payload["event"]["object_id"] == lid] == []

    # A renewal gives a new end: its reminders go out again, once.
    renewed = await api.post(
        path(SHELTER_ORG, lid, "renew"),
        json={"valid_to": (end + dt.timedelta(days=365)).isoformat()},
        headers=coord | idem() | {"If-Match": f'"{lic["version"]}"'},
    )
    assert renewed.status_code == 200, renewed.text
    new_end = end + dt.timedelta(days=365)
    report = await _sweep(demo_db, new_end - dt.timedelta(days=90))
    assert report.expiring >= 1
    assert (await _reminders(demo_db, lid))[-1] == ("licence.expiring", "ninety_days")
    assert len(await _reminders(demo_db, lid)) == 5


async def test_a_licence_added_late_hears_only_the_reminder_now_due(
    client: Client, demo_db: str
) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    today = dt.datetime.now(dt.UTC).date()
    lic = await add(
        client, coord, SHELTER_ORG, valid_to=(today + dt.timedelta(days=20)).isoformat()
    )
    await _sweep(demo_db, today)
    assert await _reminders(demo_db, lic["id"]) == [("licence.expiring", "thirty_days")]
    # A suspended licence is not reminded of its end (the matcher does not count it anyway).
    suspended = await client.post(
        path(SHELTER_ORG, lic["id"], "suspend"), json={"reason": "other"},
        headers=coord | idem() | {"If-Match": '"1"'},
    )  # fmt: skip
    assert suspended.status_code == 200
    await _sweep(demo_db, today + dt.timedelta(days=15))
    assert len(await _reminders(demo_db, lic["id"])) == 1


async def test_the_feed_carries_reminders_to_provider_and_coordinator(
    client: Client, demo_db: str
) -> None:
    coord = await make_token(demo_db, "coordinator", "RS")
    provider = await make_token(demo_db, "provider", "RS", org=SHELTER_ORG)
    officer = await make_token(demo_db, "officer", "RS")
    positions: dict[str, int] = {}
    for name, headers in (("coord", coord), ("provider", provider), ("officer", officer)):
        start = await client.get("/api/v1/events", headers=headers)
        positions[name] = start.json()["next_after"]
    today = dt.datetime.now(dt.UTC).date()
    lic = await add(client, coord, SHELTER_ORG, valid_to=(today + dt.timedelta(days=6)).isoformat())
    await _sweep(demo_db, today)

    def reminders(body: dict[str, Any]) -> list[str]:
        return [
            e["state"]
            for e in body["events"]
            if e["object_id"] == lic["id"] and e["type"] == "licence.expiring"
        ]

    for name, headers in (("coord", coord), ("provider", provider)):
        feed = await client.get(
            "/api/v1/events", params={"after": positions[name]}, headers=headers
        )
        assert reminders(feed.json()) == ["seven_days"], name
    theirs = await client.get("/api/v1/events", params={"after": positions["officer"]},
                              headers=officer)  # fmt: skip
    assert reminders(theirs.json()) == []
