"""``csomatch purge``: reduce closed referrals past the retention period to their facts."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt

from csomatch.audit.key import load_key
from csomatch.cli.arguments import positive_int
from csomatch.cli.db import connected, database, prepare
from csomatch.db.audit import AuditKey, signing_connection
from csomatch.i18n import _
from csomatch.referrals.retention import PurgeReport, purge
from csomatch.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``purge`` to the ``csomatch`` parser."""
    purge_cmd = sub.add_parser(
        "purge",
        help="reduce referrals closed longer ago than the retention period to their aggregate "
        "facts (service, area, dates, outcome, decline reasons); the server also does it daily",
    )
    purge_cmd.add_argument(
        "--days",
        type=positive_int,
        help="retention period in days (default: CSOMATCH_RETENTION_DAYS, 90)",
    )
    purge_cmd.add_argument(
        "--dry-run", action="store_true", help="count what would be purged; change nothing"
    )
    purge_cmd.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Reduce closed referrals past the retention period to their aggregate facts."""
    days = args.days or settings.retention_days
    # Each reduced referral leaves an audit event, signed like the server's.
    key = load_key(settings, create=True)
    with database(settings) as url:
        report = asyncio.run(_purge(url, settings, key, days=days, dry_run=args.dry_run))
    verb = "would be reduced" if report.dry_run else "reduced"
    print(
        _(
            "retention {retention_days} days (closed before {value}): {purged} "
            "referrals {verb} to their aggregate facts\n{waiting} closed referrals "
            "are still within the period; {reduced} hold only aggregate facts",
            retention_days=report.retention_days,
            value=report.closed_before.isoformat(timespec="seconds"),
            purged=report.purged,
            verb=verb,
            waiting=report.waiting,
            reduced=report.reduced,
        )
    )
    if not report.dry_run:
        print(
            _(
                "notification log: {events_deleted} events and {deliveries_deleted} "
                "webhook deliveries older than the period deleted",
                events_deleted=report.events_deleted,
                deliveries_deleted=report.deliveries_deleted,
            )
        )
    return 0


async def _purge(
    url: str, settings: Settings, key: AuditKey, *, days: int, dry_run: bool
) -> PurgeReport:
    await prepare(url, settings)
    async with connected(url, signing_connection(key)) as conn:
        return await purge(conn, now=dt.datetime.now(dt.UTC), retention_days=days, dry_run=dry_run)
