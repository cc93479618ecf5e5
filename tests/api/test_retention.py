"""Retention: closed referrals past the period keep only their aggregate facts."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.audit.key import load_key
from csomatch.db import audit, outbox
from csomatch.db import webhooks as wh_db
from csomatch.db.tokens import find_token
from csomatch.referrals.outcomes import outcome_figures
from csomatch.referrals.retention import purge
from csomatch.registry.tokens import principal_from as principal_of
from csomatch.settings import Settings, SettingsError
from tests.api.conftest import make_token
from tests.api.outcome_factories import Offer, make_referral, service_of
from tests.api.test_registry_api import Client

NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
async def conn(demo_db: str) -> AsyncIterator[asyncpg.Connection]:
    # Signs its audit events like the app of the ``client`` fixture (the default home's key).
    key = load_key(Settings(), create=True)
    c = await asyncpg.connect(demo_db, connection_class=audit.signing_connection(key))
    try:
        yield c
    finally:
        await c.close()


async def _referrals(conn: asyncpg.Connection) -> dict[str, object]:
    svc = await service_of(conn, "ACC.EMERG")
    declined = Offer(service_id=svc, after=HOUR, status="declined", answered_after=2 * HOUR,
                     reason="no_capacity")  # fmt: skip
    old = await make_referral(
        conn, submitted_at=NOW - 120 * DAY, offers=(declined,),
        closed=("no_capacity", NOW - 100 * DAY),
    )  # fmt: skip
    recent = await make_referral(
        conn, submitted_at=NOW - 20 * DAY, closed=("withdrawn", NOW - 10 * DAY)
    )
    still_open = await make_referral(conn, submitted_at=NOW - 200 * DAY)
    cancelled = await make_referral(conn, submitted_at=NOW - 300 * DAY)
    await conn.execute("UPDATE referral SET state = 'cancelled' WHERE id = $1", cancelled)
    await conn.execute(
        "UPDATE referral SET closed_at = $2 WHERE id = $1", cancelled, NOW - 95 * DAY
    )
    return {"old": old, "recent": recent, "open": still_open, "cancelled": cancelled}


async def _has_profile(conn: asyncpg.Connection, rid: object) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM referral_profile WHERE referral_id = $1)", rid
        )
    )


async def test_a_purge_keeps_only_the_aggregate_facts(
    conn: asyncpg.Connection, client: Client, demo_db: str
) -> None:
    refs = await _referrals(conn)
    coord = await make_token(demo_db, "coordinator")
    record = await find_token(conn, coord["Authorization"].split()[1])
    assert record is not None
    principal = principal_of(record)
    window = {"since": NOW - 400 * DAY, "until": NOW + DAY}
    figures_before = await outcome_figures(conn, principal, **window)
    before = await conn.fetchrow(
        "SELECT state, outcome, current_area, submitted_at, closed_at FROM referral WHERE id = $1",
        refs["old"],
    )

    report = await purge(conn, now=NOW, retention_days=90)
    assert (report.purged, report.waiting, report.reduced) == (2, 1, 2)
    assert not await _has_profile(conn, refs["old"])
    assert not await _has_profile(conn, refs["cancelled"])
    assert await _has_profile(conn, refs["recent"])
    assert await _has_profile(conn, refs["open"])

    # what is left: service, area, dates, outcome, decline reasons, needs
    after = await conn.fetchrow(
        "SELECT state, outcome, current_area, submitted_at, closed_at FROM referral WHERE id = $1",
        refs["old"],
    )
    assert after == before
    hold = await conn.fetchrow(
        "SELECT service_id, decline_reason, created_at FROM referral_hold WHERE referral_id = $1",
        refs["old"],
    )
    assert hold["decline_reason"] == "no_capacity"
    assert (
        await conn.fetchval(
            "SELECT taxonomy_code FROM referral_need WHERE referral_id = $1", refs["old"]
        )
        == "ACC.EMERG"
    )
    assert await outcome_figures(conn, principal, **window) == figures_before

    # the referral still reads, without its details
    got = await client.get(f"/api/v1/referrals/{refs['old']}", headers=coord)
    assert got.status_code == 200, got.text
    assert got.json()["profile"] is None
    assert got.json()["outcome"] == "no_capacity"

    # each purge is in the audit trail, and the chain holds
    purged = await audit.list_events_for(conn, object_type="referral", object_id=str(refs["old"]))
    assert [(e.action, e.role) for e in purged if e.action == "referral.purge"] == [
        ("referral.purge", "system")
    ]
    assert (await audit.verify_chain(conn, load_key(Settings()))).first_break is None

    again = await purge(conn, now=NOW, retention_days=90)
    assert (again.purged, again.reduced) == (0, 2)


async def test_the_period_is_configurable_and_a_dry_run_changes_nothing(
    conn: asyncpg.Connection,
) -> None:
    refs = await _referrals(conn)
    dry = await purge(conn, now=NOW, retention_days=5, dry_run=True)
    assert (dry.purged, dry.dry_run) == (3, True)
    assert await _has_profile(conn, refs["recent"])
    assert (await purge(conn, now=NOW, retention_days=5)).purged == 3
    assert not await _has_profile(conn, refs["recent"])
    assert Settings.from_env({"CSOMATCH_RETENTION_DAYS": "30"}).retention_days == 30
    with pytest.raises(SettingsError, match="CSOMATCH_RETENTION_DAYS"):
        Settings.from_env({"CSOMATCH_RETENTION_DAYS": "0"})


async def test_csomatch_purge_reports_what_it_did(
    conn: asyncpg.Connection, demo_db: str, tmp_path: Path
) -> None:
    await _referrals(conn)
    env = {**os.environ, "CSOMATCH_DATABASE_URL": demo_db, "CSOMATCH_HOME": str(tmp_path)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "csomatch", "purge", *args], env=env,
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    dry = run("--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "2 referrals would be reduced to their aggregate facts" in dry.stdout
    done = run()
    assert done.returncode == 0, done.stderr
    assert "retention 90 days" in done.stdout
    assert "2 referrals reduced" in done.stdout
    assert "1 closed referrals are still within the period; 2 hold only aggregate facts" in (
        done.stdout
    )
    shorter = run("--days", "5")
    assert "1 referrals reduced" in shorter.stdout


async def test_the_server_purges_by_itself(conn: asyncpg.Connection, demo_db: str) -> None:
    refs = await _referrals(conn)
    settings = Settings(
        database_url=demo_db, pool_min_size=1, pool_max_size=4, dispatch_interval_s=0,
        purge_interval_hours=24,
    )  # fmt: skip
    async with AsyncTestClient(app=create_app(settings, demo_db)):
        for _ in range(600):  # the first run starts with the server; up to 30 s
            if not await _has_profile(conn, refs["old"]):
                break
            await asyncio.sleep(0.05)
    assert not await _has_profile(conn, refs["old"])
    assert await _has_profile(conn, refs["recent"])


async def test_the_notification_log_ages_out_with_the_same_period(
    conn: asyncpg.Connection,
) -> None:
    sub = await wh_db.create_subscription(
        conn,
        wh_db.NewSubscription(
            id=uuid.uuid4(), organization_id=None, jurisdiction="RS",
            url="https://hooks.example.org/x", event_types=["*"], secret="s" * 40,
            created_by=None,
        ),
    )  # fmt: skip
    await conn.execute(
        "UPDATE webhook_subscription SET created_at = $2 WHERE id = $1", sub.id, NOW - 400 * DAY
    )
    ids = []
    for _ in range(3):
        ids.append(
            await outbox.emit(
                conn,
                outbox.NewEvent(
                    event_type="referral.closed",
                    object_type="referral",
                    object_id=uuid.uuid4(),
                    jurisdictions=["RS"],
                ),
            )
        )
    old_delivered, old_pending, recent = ids
    await conn.execute(
        "UPDATE outbox_event SET created_at = $2 WHERE id = ANY($1::bigint[])",
        [old_delivered, old_pending],
        NOW - 200 * DAY,
    )
    async with conn.transaction():
        published = await wh_db.publish_pending(conn, now=NOW - 200 * DAY, limit=10)
    assert published.deliveries == 3
    await conn.execute(
        "UPDATE webhook_delivery SET status = 'delivered', delivered_at = $2, created_at = $2"
        " WHERE event_id <> $1",
        old_pending,
        NOW - 200 * DAY,
    )
    await conn.execute("UPDATE webhook_delivery SET created_at = now() WHERE event_id = $1", recent)

    report = await purge(conn, now=NOW, retention_days=90)
    assert (report.deliveries_deleted, report.events_deleted) == (1, 1)
    left = await conn.fetch("SELECT id FROM outbox_event ORDER BY id")
    assert [r["id"] for r in left] == [old_pending, recent]  # a pending delivery keeps its event
