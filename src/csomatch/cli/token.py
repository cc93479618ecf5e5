"""``csomatch token create|revoke``: the bearer tokens of people and integrations."""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid

from csomatch.cli.db import connected, database, prepare
from csomatch.db.agencies import get_agency
from csomatch.db.funding import get_funder_by_ref, link_token_funder
from csomatch.db.organizations import get_organization
from csomatch.db.tokens import create_token, revoke_token
from csomatch.domain import JURISDICTIONS, REFERRING, ROLES
from csomatch.i18n import _
from csomatch.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``token`` and its actions to the ``csomatch`` parser."""
    token = sub.add_parser("token", help="API tokens")
    actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    create = actions.add_parser(
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
        "--guardianship-authority",
        action="store_true",
        help="role officer: the agency is the guardianship authority (usually the centre for "
        "social work), whose officers may sign off a child's placement",
    )
    create.add_argument(
        "--agency-id",
        type=uuid.UUID,
        help="the agency record the token speaks for (roles officer, coordinator, admin; "
        "see /api/v1/agencies); --agency defaults to its name",
    )
    create.add_argument(
        "--funder",
        metavar="FUNDER_REF",
        help="role funder: the funder the token speaks for (it may add only its own funding)",
    )
    create.set_defaults(handler=run_create)
    revoke = actions.add_parser(
        "revoke",
        help="revoke a token; a running server accepts it for at most "
        "CSOMATCH_TOKEN_CACHE_SECONDS more",
    )
    revoke.add_argument(
        "token",
        metavar="TOKEN",
        help="the token id (printed by create) or the token; - reads stdin",
    )
    revoke.set_defaults(handler=run_revoke)


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    """Create a token and print only the token on stdout."""
    if args.funder is not None and args.role != "funder":
        print(_("csomatch token create: --funder is for --role funder only"), file=sys.stderr)
        return 2
    if args.agency_id is not None and args.role not in REFERRING:
        print(
            _("csomatch token create: --agency-id is for officers, coordinators and admins"),
            file=sys.stderr,
        )
        return 2
    if (args.role == "provider") != (args.org is not None):
        print(
            _("csomatch token create: --org ID is required for, and only for, --role provider"),
            file=sys.stderr,
        )
        return 2
    if args.guardianship_authority and args.role != "officer":
        print(
            _("csomatch token create: --guardianship-authority is for --role officer only"),
            file=sys.stderr,
        )
        return 2
    with database(settings) as url:
        secret = asyncio.run(_create(url, settings, args))
    if secret is None:
        return 1
    print(secret)
    return 0


async def _create(url: str, settings: Settings, args: argparse.Namespace) -> str | None:
    """The new token (None: its organisation or funder does not exist, said on stderr)."""
    await prepare(url, settings)
    async with connected(url) as conn:
        if args.org is not None and await get_organization(conn, args.org) is None:
            print(_("csomatch token create: no organisation {org}", org=args.org), file=sys.stderr)
            return None
        funder = None
        if args.funder is not None:
            funder = await get_funder_by_ref(conn, args.funder)
            if funder is None:
                print(
                    _("csomatch token create: no funder {funder}", funder=repr(args.funder)),
                    file=sys.stderr,
                )
                return None
        agency_name = args.agency
        if args.agency_id is not None:
            agency = await get_agency(conn, args.agency_id)
            if agency is None or args.jurisdiction not in (agency.jurisdiction, "MARRI"):
                print(
                    _(
                        "csomatch token create: no agency {agency_id} in {jurisdiction}",
                        agency_id=args.agency_id,
                        jurisdiction=args.jurisdiction,
                    ),
                    file=sys.stderr,
                )
                return None
            agency_name = agency_name or agency.name
        secret, record = await create_token(
            conn,
            role=args.role,
            jurisdiction=args.jurisdiction,
            organization_id=args.org,
            label=args.name or "",
            agency=agency_name,
            agency_id=args.agency_id,
            guardianship_authority=args.guardianship_authority,
        )
        if funder is not None:
            await link_token_funder(conn, record.id, funder.id)
    # The id names the token later (csomatch token revoke ID); stdout stays the token.
    print(_("token id {record_id}", record_id=record.id), file=sys.stderr)
    return secret


def run_revoke(args: argparse.Namespace, settings: Settings) -> int:
    """Revoke a token named by its id or by the token itself (``-``: read from stdin)."""
    from_stdin = args.token == "-"  # noqa: S105 -- "-" is the stdin marker, not a secret
    given = sys.stdin.readline().strip() if from_stdin else args.token.strip()
    try:
        token_id, secret = uuid.UUID(given), None
    except ValueError:
        token_id, secret = None, given
    with database(settings) as url:
        revoked = asyncio.run(_revoke(url, settings, token_id, secret))
    if not revoked:
        print(_("csomatch token revoke: no valid token matches"), file=sys.stderr)
        return 1
    print(
        _(
            "token revoked; a running server accepts it for at most "
            "{token_cache_seconds} s more (CSOMATCH_TOKEN_CACHE_SECONDS)",
            token_cache_seconds=format(settings.token_cache_seconds, "g"),
        ),
        file=sys.stderr,
    )
    return 0


async def _revoke(
    url: str, settings: Settings, token_id: uuid.UUID | None, secret: str | None
) -> bool:
    """Whether a valid token matched (and is now revoked)."""
    await prepare(url, settings)
    async with connected(url) as conn:
        return await revoke_token(conn, token_id=token_id, secret=secret) is not None
