"""``csomatch audit verify``: check the audit log of referral data (docs/audit-and-retention.md)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from csomatch.audit.checkpoints import Checkpoint, CheckpointInvalid, log_path, newest
from csomatch.audit.key import load_key
from csomatch.cli.arguments import positive_int
from csomatch.cli.db import connected, database
from csomatch.db.audit import AuditKey, ChainReport, signing_installed, verify_chain
from csomatch.db.migrate import applied_versions
from csomatch.i18n import _
from csomatch.settings import Settings

VERIFY_DESCRIPTION = """\
Check the audit log of referral data, from its first event:

  - each event's hash (SHA-256 over the previous hash and the event) and link;
  - each event's signature (HMAC-SHA-256 with the audit key, CSOMATCH_AUDIT_KEY_FILE,
    default $CSOMATCH_HOME/audit.key): without the key no one can edit an event and
    recompute the chain;
  - the newest signed checkpoint in $CSOMATCH_HOME/audit-checkpoints.log, which the server
    writes every CSOMATCH_AUDIT_CHECKPOINT_INTERVAL_S (60 s): the event it saw as the head
    must still be there, unchanged, and the newer ones must chain from it, so deleting the
    newest events shows too.

Events newer than the newest checkpoint (at most one interval old) can still be deleted
unseen; see docs/audit-and-retention.md for what is and is not detected.

stdout: the verdict (the first bad event's seq and the problem); stderr: progress.
exit status: 0 intact, 1 broken, 2 no key, an unusable key file or bad arguments.
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit`` and its actions to the ``csomatch`` parser."""
    audit = sub.add_parser("audit", help="the audit log of referral data")
    actions = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify",
        help="check the audit log's hash chain, every event's signature and the newest "
        "checkpoint (exit 0 intact, 1 broken, 2 no key or bad arguments)",
        description=VERIFY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument(
        "--batch",
        type=positive_int,
        default=5000,
        help="events read per query (progress after each)",
    )
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Verify the audit chain (hashes, signatures, newest checkpoint); exit 1 when broken."""
    key = load_key(settings)
    checkpoints = log_path(settings)
    try:
        last = newest(checkpoints, key)
    except CheckpointInvalid as error:
        print(_("audit checkpoints BROKEN: {error}", error=error))
        return 1
    with database(settings) as url:
        report = asyncio.run(_verify(url, key, last, args.batch))
    if report is None:
        print(_("no signed audit log: the database is not migrated (csomatch db migrate)"))
        return 0
    if report.first_break is not None:
        print(
            _(
                "audit chain BROKEN at event seq {seq}: {problem}\n{events} events "
                "before it verified",
                seq=report.first_break.seq,
                problem=report.first_break.problem,
                events=report.events,
            )
        )
        return 1
    print(_("audit chain intact: {events} events checked", events=report.events))
    if report.unsigned:
        print(
            _(
                "{unsigned} events from before signing began (seq <= {unsigned_until}) "
                "rest on the hash chain and the checkpoints only",
                unsigned=report.unsigned,
                unsigned_until=report.unsigned_until,
            )
        )
    if last is None:
        print(
            _(
                "no checkpoint yet in {checkpoints}: deleting the newest events would "
                "not show (the server writes one at start and then every "
                "{audit_checkpoint_interval_s} s)",
                checkpoints=checkpoints,
                audit_checkpoint_interval_s=format(settings.audit_checkpoint_interval_s, "g"),
            )
        )
    else:
        print(
            _(
                "newest checkpoint ({value}) holds: event seq {seq} unchanged, "
                "{after_anchor} newer events chain from it",
                value=last.at.isoformat(timespec="seconds"),
                seq=last.seq,
                after_anchor=report.after_anchor,
            )
        )
    return 0


async def _verify(
    url: str, key: AuditKey, last: Checkpoint | None, batch: int
) -> ChainReport | None:
    """The chain's report (None: the database holds no signed audit log yet)."""
    async with connected(url) as conn:
        if not await applied_versions(conn) or not await signing_installed(conn):
            return None
        return await verify_chain(
            conn,
            key,
            anchor=None if last is None else last.anchor(),
            batch=batch,
            progress=_progress,
        )


def _progress(count: int) -> None:
    print(_("  {count} events verified ...", count=count), file=sys.stderr)
