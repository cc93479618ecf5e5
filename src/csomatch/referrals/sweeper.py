"""The sweeper: expires offers, escalates stuck referrals, purges old idempotency keys.

Offers past their time expire (freeing their places); a referral submitted or matched with no
offer past its time limit is escalated once (``referrals.coordination``).

Alongside it, ``run_licence_reminders`` sends the licence reminders due
(``registry.licences.send_reminders``, each once) every hour.

``sweep`` is the use case (tests call it); ``run_sweeper`` repeats it in the background of
the server (runtime.lifespan), surviving database outages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import asyncpg
import msgspec

from csomatch.db import holds as hold_db
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.idempotency import purge_answers
from csomatch.errors import CsomatchError
from csomatch.referrals.coordination import escalate_stuck
from csomatch.referrals.offers import expire_one
from csomatch.registry.licences import send_reminders
from csomatch.settings import Settings

log = logging.getLogger(__name__)


class SweepReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one sweep did."""

    expired_offers: int
    purged_keys: int
    #: Referrals submitted or matched with no offer, escalated past their time limit.
    stuck_referrals: int = 0


async def sweep(
    conn: asyncpg.Connection,
    settings: Settings,
    *,
    batch: int = 100,
    now: dt.datetime | None = None,
) -> SweepReport:
    """Expire every offer past its time (one transaction each), escalate stuck referrals.

    Also purges old idempotency keys. ``now`` (default: the clock) is the time the stuck
    referrals' limits are measured at.
    """
    expired = 0
    while True:
        due = await hold_db.due_holds(conn, batch)
        done = 0
        for hold_id, referral_id in due:
            async with conn.transaction():
                if await expire_one(conn, settings, hold_id, referral_id):
                    done += 1
        expired += done
        if len(due) < batch or done == 0:
            break
    stuck = await escalate_stuck(conn, now=now or dt.datetime.now(dt.UTC), batch=batch)
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(hours=settings.idempotency_hours)
    purged = await purge_answers(conn, older_than=cutoff)
    return SweepReport(expired_offers=expired, purged_keys=purged, stuck_referrals=stuck)


async def run_sweeper(pool: asyncpg.Pool, settings: Settings) -> None:
    """Sweep every ``settings.sweep_seconds`` until cancelled; log and go on after errors."""
    while True:
        try:
            async with pool.acquire(timeout=10) as conn:
                report = await sweep(conn, settings)  # type: ignore[arg-type]
            if report.expired_offers or report.purged_keys or report.stuck_referrals:
                log.info(
                    "sweep: %d offers expired, %d referrals escalated, %d idempotency keys purged",
                    report.expired_offers,
                    report.stuck_referrals,
                    report.purged_keys,
                )
        except (*CONNECTION_ERRORS, TimeoutError, CsomatchError, asyncpg.PostgresError) as exc:
            log.warning(
                "sweep failed (%s); retrying in %.0f s", type(exc).__name__, settings.sweep_seconds
            )
        await asyncio.sleep(settings.sweep_seconds)


#: How often the licence reminders are looked for: each is sent once, on the day it is due.
LICENCE_REMINDER_SECONDS = 3600.0
#: The first look waits this long after the start, so a process that starts and stops at
#: once (a command, a test) sends nothing on the side.
LICENCE_REMINDER_FIRST_S = 60.0


async def run_licence_reminders(
    pool: asyncpg.Pool,
    every_s: float = LICENCE_REMINDER_SECONDS,
    first_s: float = LICENCE_REMINDER_FIRST_S,
) -> None:
    """Send the licence reminders due, every ``every_s`` until cancelled; go on after errors."""
    await asyncio.sleep(first_s)
    while True:
        try:
            async with pool.acquire(timeout=10) as conn:
                report = await send_reminders(conn, now=dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
            if report.expiring or report.expired:
                log.info(
                    "licence reminders: %d expiring, %d expired", report.expiring, report.expired
                )
        except (*CONNECTION_ERRORS, TimeoutError, CsomatchError, asyncpg.PostgresError) as exc:
            log.warning(
                "licence reminders failed (%s); retrying in %.0f s", type(exc).__name__, every_s
            )
        await asyncio.sleep(every_s)
