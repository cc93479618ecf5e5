"""``csomatch gaps``: the gap cells as a readable table (or CSV) in the terminal."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys

from csomatch.cli.db import connected, database, prepare
from csomatch.domain import PARTICIPANTS
from csomatch.errors import InvalidInput
from csomatch.gaps.analysis import GapQuery, list_cells
from csomatch.gaps.catchments import load_catchments
from csomatch.gaps.cells import FLAG_CODES
from csomatch.gaps.groups import GROUPS
from csomatch.gaps.table import to_csv, to_text
from csomatch.i18n import _
from csomatch.settings import Settings

EPILOG = """examples:
  csomatch gaps                                 every cell of the last 12 months
  csomatch gaps --participant RS --area ALL --min-severity 4 --why
  csomatch gaps --flag funding_cliff --granularity quarter --periods 4
  csomatch gaps --period 2026-11 --csv > gaps.csv
  csomatch gaps --participant RS --group unaccompanied_children --area ALL

Counts from 1 to 4, and counts that would reveal them, show as <5* (docs/gaps.md)."""


class OldFlag(argparse.Action):
    """A flag's old name: stores into the new one's ``dest`` and says which name to use."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        """Store the value and warn on stderr."""
        new = "--" + self.dest.replace("_", "-")
        print(
            _(
                "csomatch gaps: {option_string} is deprecated; use {new}",
                option_string=option_string,
                new=new,
            ),
            file=sys.stderr,
        )
        setattr(namespace, self.dest, values)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gaps`` and its filters to the ``csomatch`` parser."""
    p = sub.add_parser(
        "gaps",
        help="coverage gaps per participant, area, service and period (aggregates only)",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--participant", choices=PARTICIPANTS)
    p.add_argument("--area", help="area code, ALL (participant-wide) or UNKNOWN")
    p.add_argument("--code", help="service taxonomy code, e.g. ACC.EMERG")
    # The old name of --code, for one release (hidden; it says so on stderr).
    p.add_argument("--service", dest="code", action=OldFlag, help=argparse.SUPPRESS)
    p.add_argument("--period", help="one period: 2026-11 or 2026-Q4")
    p.add_argument("--granularity", choices=("month", "quarter"), default="month")
    p.add_argument("--periods", type=int, default=12, help="how many recent periods (default 12)")
    p.add_argument("--flag", choices=FLAG_CODES)
    p.add_argument(
        "--group", choices=GROUPS, help="only this population group's demand and eligible places"
    )
    p.add_argument("--min-severity", type=int, choices=range(1, 6), default=1)
    p.add_argument(
        "--why", action="store_true", help="print why (severity and flags) under each cell"
    )
    p.add_argument("--csv", action="store_true", help="CSV with HXL hashtags instead of a table")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Print the gap cells as a table (or CSV)."""

    async def table(url: str) -> str:
        await prepare(url, settings)
        return await render(url, args, settings)

    with database(settings) as url:
        try:
            print(asyncio.run(table(url)), end="")
        except InvalidInput as error:
            print(_("csomatch gaps: {detail}", detail=error.detail), file=sys.stderr)
            return 2
    return 0


async def render(url: str, args: argparse.Namespace, settings: Settings) -> str:
    """The table (or CSV) of the cells ``args`` select, over every participant."""
    query = GapQuery(
        participants=[args.participant] if args.participant else None,
        area=args.area,
        code=args.code,
        period=args.period,
        granularity=args.granularity,
        count=max(1, min(args.periods, 24)),
        flag=args.flag,
        min_severity=args.min_severity,
        group=args.group,
    )
    async with connected(url) as conn:
        cells = await list_cells(
            conn,
            query,
            now=dt.datetime.now(dt.UTC),
            stale_hours=settings.stale_hours,
            catchments=load_catchments(settings.catchments_file),
        )
    return to_csv(cells) if args.csv else to_text(cells, reasons=args.why)
