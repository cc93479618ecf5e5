"""``csomatch funding``: import feeds, review recipient matches, keep exchange rates."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from pathlib import Path

import asyncpg
import msgspec

from csomatch.cli import financing as financing_cli
from csomatch.cli.db import connected, database, prepare
from csomatch.db import funding as funding_db
from csomatch.db.organizations import get_organization
from csomatch.errors import CsomatchError
from csomatch.funding import FORMATS, detect_format, parse
from csomatch.funding.ledger import OPERATOR, ImportReport, run_import
from csomatch.funding.rates import import_rates, parse_rates
from csomatch.i18n import _
from csomatch.settings import Settings

EPILOG = """examples:
  csomatch funding import grants.csv                 import (format from name and content)
  csomatch funding import activities.xml --dry-run   report what an import would do
  csomatch funding import grants.json --json         the report as JSON
  csomatch funding matches                           recipients waiting for review
  csomatch funding matches --confirm REVIEW_ID       accept the proposed organisation
  csomatch funding matches --confirm REVIEW_ID --org ORGANISATION_ID
  csomatch funding matches --reject REVIEW_ID
  csomatch funding rates                             the EUR rates in use
  csomatch funding rates import rates.csv            add or replace rates (docs/funding.md)
  csomatch funding equity --participant RS --period 2026-Q3   who pays for the cases taken
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``funding`` and its actions to the ``csomatch`` parser."""
    funding = sub.add_parser(
        "funding",
        help="import funding feeds (IATI, CSV/HXL, 360Giving), review matches, EUR rates",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    funding.set_defaults(handler=run)
    actions = funding.add_subparsers(dest="funding_command", metavar="ACTION", required=True)
    imp = actions.add_parser(
        "import",
        help="import a funding file into the ledger (idempotent) and print its report",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    imp.add_argument("file", type=Path, help="an IATI 2.03 XML, CSV or 360Giving JSON file")
    imp.add_argument("--format", choices=FORMATS, default="auto")
    imp.add_argument("--dry-run", action="store_true", help="report, but save nothing")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    matches = actions.add_parser(
        "matches", help="recipients not matched with confidence: list, confirm, reject"
    )
    matches.add_argument("--all", action="store_true", help="decided ones too")
    matches.add_argument("--confirm", type=uuid.UUID, metavar="REVIEW_ID")
    matches.add_argument(
        "--org", type=uuid.UUID, metavar="ORGANISATION_ID", help="instead of the candidate"
    )
    matches.add_argument("--reject", type=uuid.UUID, metavar="REVIEW_ID")
    rates = actions.add_parser("rates", help="list the EUR rates, or import a rates CSV")
    rates.add_argument("rates_action", nargs="?", choices=["import"])
    rates.add_argument("rates_file", nargs="?", type=Path)
    financing_cli.add_equity_parser(actions)


def _progress(stage: str, done: int, total: int) -> None:
    print(f"  {stage} {done:,}/{total:,}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Import funding feeds, review recipient matches, keep EUR rates."""
    with database(settings) as url:
        asyncio.run(prepare(url, settings))
        return _act(args, url)


def _act(args: argparse.Namespace, url: str) -> int:
    """Run one ``funding`` action against the database at ``url``."""
    path: Path | None = args.file if args.funding_command == "import" else None
    if args.funding_command == "rates" and args.rates_action == "import":
        if args.rates_file is None:
            print(_("usage: csomatch funding rates import FILE.csv"), file=sys.stderr)
            return 2
        path = args.rates_file
    data = b""
    if path is not None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            print(
                _(
                    "csomatch funding: cannot read {path}: {strerror}",
                    path=path,
                    strerror=exc.strerror,
                ),
                file=sys.stderr,
            )
            return 2
    try:
        return asyncio.run(_run(args, url, data))
    except CsomatchError as error:
        where = f" ({error.field})" if error.field else ""
        print(
            _("csomatch funding: {detail}{where}", detail=error.detail, where=where),
            file=sys.stderr,
        )
        return 1


async def _run(args: argparse.Namespace, url: str, data: bytes) -> int:
    async with connected(url) as conn:
        if args.funding_command == "import":
            return await _import(conn, args, data)
        if args.funding_command == "matches":
            return await _matches(conn, args)
        if args.funding_command == "equity":
            sys.stdout.write(await financing_cli.equity(conn, args))
            return 0
        return await _rates(conn, args, data)


async def _import(conn: asyncpg.Connection, args: argparse.Namespace, data: bytes) -> int:
    path: Path = args.file
    fmt = detect_format(data, path.name) if args.format == "auto" else args.format
    print(_("reading {path_name} as {fmt} ...", path_name=path.name, fmt=fmt), file=sys.stderr)
    parsed = await asyncio.to_thread(parse, data, fmt, path.name)
    report = await run_import(
        conn,
        parsed,
        source=fmt,
        scope=OPERATOR,
        filename=path.name,
        dry_run=args.dry_run,
        progress=_progress if len(parsed.lines) >= 10_000 else None,
    )
    if args.json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(report)).decode() + "\n")
    else:
        sys.stdout.write(format_report(report))
    return 0


def format_report(report: ImportReport) -> str:
    """The report as a readable text table."""
    out = [
        f"funding import of {report.filename or '-'} ({report.format})"
        + ("   DRY RUN: nothing was saved" if report.dry_run else ""),
    ]
    matched = ", ".join(f"{k} {v}" for k, v in sorted(report.matched_by.items())) or "-"
    for label, value in (
        ("records read", report.rows_read),
        ("ledger lines", report.lines),
        ("imported", report.imported),
        ("updated", report.updated),
        ("unchanged", report.unchanged),
        ("skipped", report.skipped),
        ("transactions", report.transactions),
        ("recipients by", matched),
        ("funders created", ", ".join(report.funders_created) or "-"),
        ("seconds", report.seconds),
    ):
        out.append(f"  {label:<16} {value}")
    for warning in report.warnings:
        out.append(f"  warning: {warning}")
    if report.skips:
        out.append(f"skipped ({report.skipped}):")
        for skip in report.skips:
            field = f" [{skip.field}]" if skip.field else ""
            out.append(f"  {skip.where}{field}: {skip.reason}")
        if report.skipped > len(report.skips):
            out.append(f"  ... and {report.skipped - len(report.skips)} more")
    if report.unmatched:
        out.append(f"organisations not matched to the registry ({len(report.unmatched)}):")
        out.append(
            f"  {'rows':>5}  {'name':<36} {'identifier':<20} {'candidate (score)':<40} review"
        )
        for u in report.unmatched:
            candidate = f"{u.candidate_name} ({u.score})" if u.candidate_name else "-"
            if u.rejected:
                candidate = "rejected earlier"
            out.append(
                f"  {u.rows:>5}  {u.name[:36]:<36} {(u.identifier or '-')[:20]:<20}"
                f" {candidate[:40]:<40} {u.review_id or '-'}"
            )
        out.append(
            "  confirm: csomatch funding matches --confirm REVIEW_ID [--org ORGANISATION_ID]"
        )
    return "\n".join(out) + "\n"


async def _matches(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    if args.confirm is not None or args.reject is not None:
        review_id = args.confirm or args.reject
        review = await funding_db.get_review(conn, review_id)
        if review is None:
            print(
                _("csomatch funding matches: no review {review_id}", review_id=review_id),
                file=sys.stderr,
            )
            return 1
        if args.reject is not None:
            async with conn.transaction():
                await funding_db.decide_review(
                    conn, review_id, status="rejected", organization_id=None
                )
            print(_("rejected: {review_name} stays unmatched", review_name=review.name))
            return 0
        org_id = args.org or review.candidate_organization_id
        if org_id is None:
            print(
                _("this review has no candidate: name one with --org ORGANISATION_ID"),
                file=sys.stderr,
            )
            return 2
        if await get_organization(conn, org_id) is None:
            print(
                _("csomatch funding matches: no organisation {org_id}", org_id=org_id),
                file=sys.stderr,
            )
            return 1
        async with conn.transaction():
            linked = await funding_db.decide_review(
                conn, review_id, status="confirmed", organization_id=org_id
            )
        print(
            _(
                "confirmed: {review_name} -> {org_id}; {linked} funding rows linked",
                review_name=review.name,
                org_id=org_id,
                linked=linked,
            )
        )
        return 0
    reviews = await funding_db.list_reviews(conn, status=None if args.all else "pending")
    if not reviews:
        print(_("no recipients waiting for review"))
        return 0
    print(f"{'review id':<36}  {'status':<9} {'rows':>5}  {'name':<34} candidate (score)")
    for r in reviews:
        candidate = f"{r.candidate_name} ({r.score})" if r.candidate_name else "-"
        print(f"{r.id}  {r.status:<9} {r.funding_rows:>5}  {r.name[:34]:<34} {candidate}")
    return 0


async def _rates(conn: asyncpg.Connection, args: argparse.Namespace, data: bytes) -> int:
    if args.rates_action == "import":
        rates = parse_rates(data, default_source=args.rates_file.name)
        async with conn.transaction():
            recomputed = await import_rates(conn, rates)
        print(
            _(
                "{rates} rates stored; {recomputed} ledger rows recomputed in EUR",
                rates=len(rates),
                recomputed=recomputed,
            )
        )
        return 0
    print(f"{'currency':<8} {'valid from':<10} {'EUR per unit':>16}  source")
    for rate in await funding_db.list_rates(conn):
        label = "ILLUSTRATIVE " if rate.illustrative else ""
        print(
            f"{rate.currency:<8} {rate.valid_from!s:<10} {rate.eur_per_unit:>16}"
            f"  {label}{rate.source}"
        )
    return 0
