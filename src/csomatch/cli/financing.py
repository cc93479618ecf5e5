"""``csomatch funding equity``: the equitable-financing view of one period, as a table or CSV."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
from collections.abc import Callable

import asyncpg

from csomatch.domain import PARTICIPANTS
from csomatch.gaps.financing import EquityRow, equity_view
from csomatch.gaps.periods import last_closed, parse_period

#: Columns of the table and of the CSV, with the HXL hashtag of each.
COLUMNS: tuple[tuple[str, str, Callable[[EquityRow], object]], ...] = (
    ("participant", "#country+code", lambda r: r.participant_code),
    ("code", "#sector+code", lambda r: r.taxonomy_code),
    ("cases_cso", "#affected+cso", lambda r: r.cases_cso),
    ("cases_state", "#affected+state", lambda r: r.cases_state),
    ("cso_case_share", "#indicator+cso+cases+pct", lambda r: r.cso_case_share),
    ("public_eur_cso", "#value+public+cso", lambda r: r.public_eur_cso),
    ("public_eur_state", "#value+public+state", lambda r: r.public_eur_state),
    ("cso_public_share", "#indicator+cso+public+pct", lambda r: r.cso_public_share),
    ("eur_per_case_cso", "#value+case+cso", lambda r: r.unit_cost_cso),
    ("eur_per_case_state", "#value+case+state", lambda r: r.unit_cost_state),
)


def add_equity_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``funding equity`` (the equitable-financing view) to the ``funding`` actions."""
    p = actions.add_parser(
        "equity",
        help="CSOs' share of cases against their share of public money, per participant and code",
    )
    p.add_argument("--participant", choices=PARTICIPANTS)
    p.add_argument("--code", help="service taxonomy code, e.g. ACC.EMERG")
    p.add_argument("--period", help="2026-11 or 2026-Q4 (default: the last closed month)")
    p.add_argument("--csv", action="store_true", help="CSV with HXL hashtags instead of a table")


def _cell(value: object) -> str:
    if value is None:
        return "<5*"
    if isinstance(value, float):
        return f"{value:,.4g}" if value < 1 else f"{value:,.0f}"
    return str(value)


def to_table(period: str, rows: list[EquityRow]) -> str:
    """The view as an aligned text table; hidden counts (and what they would reveal) as <5*."""
    if not rows:
        return f"period {period}: no placement or public grant\n"
    lines = [[name for name, _, _ in COLUMNS]]
    lines += [[_cell(get(r)) for _, _, get in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(COLUMNS))]
    out = [f"period {period}"]
    out += ["  ".join(v.rjust(w) for v, w in zip(line, widths, strict=True)) for line in lines]
    out.append("<5*: 1 to 4 cases, or a figure that would reveal them (docs/funding.md)")
    return "\n".join(out) + "\n"


def to_csv(rows: list[EquityRow]) -> str:
    """The view as CSV whose second row holds HXL hashtags; hidden figures are empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _, _ in COLUMNS])
    writer.writerow([tag for _, tag, _ in COLUMNS])
    for r in rows:
        writer.writerow(["" if (v := get(r)) is None else v for _, _, get in COLUMNS])
    return buffer.getvalue()


async def equity(conn: asyncpg.Connection, args: argparse.Namespace) -> str:
    """The view ``args`` select, rendered (InvalidInput: a period that is not one)."""
    label = args.period or last_closed(dt.datetime.now(dt.UTC).date(), "month").label
    period = parse_period(label, field="--period")
    view = await equity_view(
        conn,
        participants=[args.participant] if args.participant else None,
        period=period,
        code=args.code,
    )
    return to_csv(view.rows) if args.csv else to_table(view.period, view.rows)
