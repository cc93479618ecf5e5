"""``csomatch licence list|add|renew|suspend|revoke|reinstate``: organisations' licences.

The command acts as the operator (region-wide) and leaves the same audit events and
``licence.*`` notifications as the API, its actor named ``cli`` in the audit log.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import uuid
from collections.abc import Callable
from typing import Final

import asyncpg

from csomatch.audit.key import load_key
from csomatch.cli.arguments import positive_int
from csomatch.cli.db import connected, database, prepare
from csomatch.db.audit import AuditKey, signing_connection
from csomatch.domain import PARTICIPANTS
from csomatch.domain.vocabulary import LICENCE_REASONS
from csomatch.errors import CsomatchError
from csomatch.i18n import _
from csomatch.registry import licences
from csomatch.registry.licences import OPERATOR, OPERATOR_ACTOR, LicenceView, NewLicence, Renewal
from csomatch.settings import Settings

EPILOG = (
    """examples:
  csomatch licence list --expiring-within 90          ending within 90 days (or ended)
  csomatch licence list --org ORGANISATION_ID         one organisation's licences
  csomatch licence add --org ORGANISATION_ID --authority "Ministry of social protection" \\
      --number RS-SOC-2026-0001 --code ACC.EMERG --code PSY.CRISIS \\
      --from 2026-01-01 --to 2030-12-31 --evidence "Decision 551-02-12/2026"
  csomatch licence renew LICENCE_ID --to 2031-12-31 --evidence "Decision 551-02-40/2030"
  csomatch licence suspend LICENCE_ID --reason inspection_failed
  csomatch licence reinstate LICENCE_ID
  csomatch licence revoke LICENCE_ID --reason closed

reason codes: """
    + ", ".join(LICENCE_REASONS)
    + """
states: valid, expiring (ends within 90 days), expired, suspended, revoked, not_yet_valid.
Reminders (licence.expiring, licence.expired events) go out 90, 30 and 7 days before the
end and the day after it, through webhooks and the event feed (docs/licences.md).
"""
)

#: Where a refusal points (a JSON path of the API) -> the flag that sets it here.
_FLAGS: Final = {
    "$.service_codes": "--code",
    "$.valid_to": "--to",
    "$.valid_from": "--from",
    "$.number": "--number",
    "$.authority": "--authority",
    "$.evidence_ref": "--evidence",
    "$.verified_by": "--verified-by",
    "$.reason": "--reason",
    "header.If-Match": "--version",
}


def _date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give a date as YYYY-MM-DD, not {raw!r}") from None


def _text(low: int, high: int) -> Callable[[str], str]:
    def check(raw: str) -> str:
        value = raw.strip()
        if not low <= len(value) <= high or any(ord(c) < 32 for c in value):
            raise argparse.ArgumentTypeError(f"give {low} to {high} characters on one line")
        return value

    return check


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``licence`` and its actions to the ``csomatch`` parser."""
    fmt = argparse.RawDescriptionHelpFormatter
    cmd = sub.add_parser(
        "licence",
        help="organisations' licences: list, add, renew, suspend, revoke, reinstate",
        description="Licences of the registry's organisations. The matcher counts a licence "
        "only while it is active and within its dates.",
        epilog=EPILOG,
        formatter_class=fmt,
    )
    actions = cmd.add_subparsers(dest="licence_command", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list", help="licences, the soonest to end first", epilog=EPILOG, formatter_class=fmt
    )
    listing.add_argument("--org", type=uuid.UUID, metavar="ORGANISATION_ID")
    listing.add_argument("--participant", choices=PARTICIPANTS)
    listing.add_argument(
        "--expiring-within",
        type=positive_int,
        metavar="DAYS",
        help="only those not revoked ending within DAYS (or already ended)",
    )
    listing.set_defaults(handler=run)
    add = actions.add_parser(
        "add", help="add an active licence", epilog=EPILOG, formatter_class=fmt
    )
    add.add_argument("--org", type=uuid.UUID, required=True, metavar="ORGANISATION_ID")
    add.add_argument("--authority", type=_text(2, 200), required=True, help="who issued it")
    add.add_argument("--number", type=_text(1, 64), required=True, help="its number")
    add.add_argument(
        "--code",
        action="append",
        required=True,
        metavar="SERVICE_CODE",
        help="a service code it covers (ACC.EMERG); repeat for each",
    )
    add.add_argument("--from", dest="valid_from", type=_date, required=True, metavar="YYYY-MM-DD")
    add.add_argument("--to", dest="valid_to", type=_date, metavar="YYYY-MM-DD", help="last day")
    _evidence_flags(add)
    add.set_defaults(handler=run)
    renew = actions.add_parser(
        "renew", help="a new last valid day (reminders start again)", formatter_class=fmt
    )
    renew.add_argument("licence", type=uuid.UUID, metavar="LICENCE_ID")
    renew.add_argument("--to", dest="valid_to", type=_date, required=True, metavar="YYYY-MM-DD")
    _evidence_flags(renew)
    _version_flag(renew)
    renew.set_defaults(handler=run)
    for name, text in (
        ("suspend", "suspend an active licence (the matcher stops counting it at once)"),
        ("revoke", "revoke a licence for good (add a new one to license again)"),
    ):
        move = actions.add_parser(name, help=text, epilog=EPILOG, formatter_class=fmt)
        move.add_argument("licence", type=uuid.UUID, metavar="LICENCE_ID")
        move.add_argument("--reason", choices=LICENCE_REASONS, required=True)
        _version_flag(move)
        move.set_defaults(handler=run)
    back = actions.add_parser("reinstate", help="reinstate a suspended licence")
    back.add_argument("licence", type=uuid.UUID, metavar="LICENCE_ID")
    _version_flag(back)
    back.set_defaults(handler=run)


def _evidence_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--evidence",
        type=_text(1, 200),
        metavar="REF",
        help="a short reference to the evidence held elsewhere (a file number); no personal data",
    )
    p.add_argument(
        "--verified-by", type=_text(2, 200), metavar="BODY", help="the body that verified it"
    )


def _version_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--version",
        type=positive_int,
        help="refuse the change unless the licence is still at this version (as listed)",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one ``licence`` action; exit 1 with what to fix when it is refused."""
    key = load_key(settings, create=True)  # the audit events are signed like the server's
    with database(settings) as url:
        try:
            lines = asyncio.run(_run(url, settings, key, args))
        except CsomatchError as error:
            flag = _FLAGS.get((error.field or "").split("[")[0])
            where = f" ({flag})" if flag else ""
            print(
                _(
                    "csomatch licence {licence_command}: {detail}{where}",
                    licence_command=args.licence_command,
                    detail=error.detail,
                    where=where,
                ),
                file=sys.stderr,
            )
            return 1
    print("\n".join(lines))
    return 0


async def _run(url: str, settings: Settings, key: AuditKey, args: argparse.Namespace) -> list[str]:
    await prepare(url, settings)
    today = dt.datetime.now(dt.UTC).date()
    async with connected(url, signing_connection(key)) as conn:
        if args.licence_command == "list":
            return _table(await _list(conn, args, today))
        async with conn.transaction():
            changed = await _change(conn, args, today)
        return _table([changed])


async def _list(
    conn: asyncpg.Connection, args: argparse.Namespace, today: dt.date
) -> list[LicenceView]:
    if args.org is not None:
        found = await licences.organization_licences(conn, OPERATOR, args.org, today=today)
        if args.expiring_within is None:
            return found
        until = args.expiring_within
        return [
            v for v in found
            if v.licence.status != "revoked" and v.days_until_expiry is not None
            and v.days_until_expiry <= until
        ]  # fmt: skip
    return await licences.jurisdiction_licences(
        conn, OPERATOR, participant=args.participant, expiring_within=args.expiring_within,
        today=today,
    )  # fmt: skip


async def _change(
    conn: asyncpg.Connection, args: argparse.Namespace, today: dt.date
) -> LicenceView:
    command: str = args.licence_command
    if command == "add":
        new = NewLicence(
            id=uuid.uuid4(), organization_id=args.org, authority=args.authority,
            number=args.number, service_codes=list(args.code), valid_from=args.valid_from,
            valid_to=args.valid_to, evidence_ref=args.evidence, verified_by=args.verified_by,
            verified_at=dt.datetime.now(dt.UTC) if args.verified_by else None,
        )  # fmt: skip
        return await licences.add_licence(conn, OPERATOR, new, today=today, actor=OPERATOR_ACTOR)
    if command == "renew":
        renewal = Renewal(
            valid_to=args.valid_to, evidence_ref=args.evidence, verified_by=args.verified_by,
            verified_at=dt.datetime.now(dt.UTC) if args.verified_by else None,
        )  # fmt: skip
        return await licences.renew_licence(
            conn, OPERATOR, args.licence, renewal, org_id=None, if_match=args.version,
            today=today, actor=OPERATOR_ACTOR,
        )  # fmt: skip
    to = {"suspend": "suspended", "revoke": "revoked"}.get(command, "active")
    return await licences.change_status(
        conn, OPERATOR, args.licence, to=to, reason=getattr(args, "reason", None), org_id=None,
        if_match=args.version, today=today, actor=OPERATOR_ACTOR,
    )  # fmt: skip


def _table(found: list[LicenceView]) -> list[str]:
    """One line per licence: state, days left, end, organisation, authority, number, codes."""
    if not found:
        return ["no licences match"]
    lines = [f"{'STATE':<14}{'DAYS':>6}  {'VALID TO':<11}{'VER':>4}  LICENCE / ORGANISATION"]
    for v in found:
        lic = v.licence
        days = "" if v.days_until_expiry is None else str(v.days_until_expiry)
        reason = f" ({lic.status_reason})" if lic.status_reason else ""
        lines.append(
            f"{v.state + reason:<14}{days:>6}  {lic.valid_to or 'no end'!s:<11}{lic.version:>4}  "
            f"{lic.id}  {lic.organization_name} [{lic.participant_code}]: {lic.authority} "
            f"{lic.number} ({', '.join(lic.service_codes)})"
        )
    return lines
