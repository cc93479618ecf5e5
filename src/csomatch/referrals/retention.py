"""Retention: a closed referral keeps only its aggregate facts once its period has passed.

``purge`` is the use case behind ``csomatch purge`` and the server's daily run: it reduces,
in batches of its own transactions, every referral closed (or cancelled) more than
``retention_days`` ago to its aggregate facts (service, area, dates, outcome, decline reasons)
and writes one audit event per referral (action ``referral.purge``, role ``system``). The
notification log ages out with the same period: published outbox events and finished webhook
deliveries (ids and states only) older than it are deleted. ``run_retention`` repeats it in
the background of the server (runtime.lifespan), surviving database outages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import asyncpg
import msgspec

from csomatch.db import retention as ret_db
from csomatch.db.audit import AuditActor, record_event
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.pool import Pool
from csomatch.errors import CsomatchError

log = logging.getLogger(__name__)

SYSTEM = AuditActor(token_id=None, role="system", jurisdiction=None)


class PurgeReport(msgspec.Struct, frozen=True, kw_only=True):
    """What a purge did, and what is left for later runs."""

    retention_days: int
    closed_before: dt.datetime
    purged: int
    #: closed referrals still within the period (their details stay for now)
    waiting: int
    #: closed referrals reduced to their aggregate facts, by this run or earlier ones
    reduced: int
    #: outbox events and finished webhook deliveries older than the period, deleted
    events_deleted: int = 0
    deliveries_deleted: int = 0
    dry_run: bool = False


def cutoff(now: dt.datetime, retention_days: int) -> dt.datetime:
    """Referrals closed before this instant are due."""
    return now - dt.timedelta(days=retention_days)


async def purge(
    conn: asyncpg.Connection,
    *,
    now: dt.datetime,
    retention_days: int,
    batch: int = 500,
    dry_run: bool = False,
) -> PurgeReport:
    """Reduce every due referral to its aggregate facts, a batch per transaction.

    Not inside a caller's transaction: each batch commits on its own, so a long purge holds
    no lock for long and an interrupted one keeps what it finished.
    """
    before = cutoff(now, retention_days)
    purged = 0
    while not dry_run:
        async with conn.transaction():
            ids = await ret_db.lock_due(conn, closed_before=before, limit=batch)
            if not ids:
                break
            purged += await ret_db.delete_profiles(conn, ids)
            for referral_id in ids:
                await record_event(
                    conn,
                    actor=SYSTEM,
                    action="referral.purge",
                    object_type="referral",
                    object_id=str(referral_id),
                    outcome="ok",
                )
    deliveries = events = 0
    if not dry_run:
        async with conn.transaction():
            deliveries = await ret_db.delete_old_deliveries(conn, before=before)
            events = await ret_db.delete_old_events(conn, before=before)
    counts = await ret_db.retention_counts(conn, closed_before=before)
    return PurgeReport(
        retention_days=retention_days,
        closed_before=before,
        purged=counts.due if dry_run else purged,
        waiting=counts.waiting,
        reduced=counts.reduced,
        events_deleted=events,
        deliveries_deleted=deliveries,
        dry_run=dry_run,
    )


async def run_retention(pool: Pool, retention_days: int, interval_s: float) -> None:
    """Purge closed referrals past the retention period now, then every ``interval_s``."""
    while True:
        try:
            async with pool.acquire() as conn:
                report = await purge(
                    conn,  # type: ignore[arg-type]
                    now=dt.datetime.now(dt.UTC),
                    retention_days=retention_days,
                )
            log.info(
                "retention: %d referrals reduced to aggregate facts, %d within the period",
                report.purged,
                report.waiting,
            )
        except (*CONNECTION_ERRORS, CsomatchError, TimeoutError, asyncpg.PostgresError) as exc:
            log.warning("retention run failed (%s); next run as scheduled", type(exc).__name__)
        await asyncio.sleep(interval_s)
