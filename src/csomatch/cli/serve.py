"""``csomatch serve``: the HTTP API and the web pages (processes: runtime.workers)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import signal
import sys
import uuid
from types import FrameType
from typing import Final

import asyncpg
import msgspec

from csomatch.cli.arguments import positive_int
from csomatch.cli.db import connected, database_and_server, prepare, progress
from csomatch.db.agencies import NewAgency, ensure_agency
from csomatch.db.funding import get_funder_by_ref, link_token_funder
from csomatch.db.organizations import count_organizations, first_offering
from csomatch.db.tokens import create_token
from csomatch.domain import ROLES, ParticipantCode
from csomatch.i18n import _
from csomatch.registry import seeding
from csomatch.settings import Settings, SettingsError

DESCRIPTION = """\
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

#: The demo tokens speak for this participant; the provider's is one of its shelters.
DEMO_JURISDICTION: Final[ParticipantCode] = "RS"
#: The demo agency's duty phone: fictional (seed_data/README.md).
DEMO_AGENCY_PHONE: Final = "+381115550100"
DEMO_PROVIDER_SERVICE = "ACC.EMERG"
#: The funder the demo funder token speaks for (Serbia's ministry).
DEMO_FUNDER = "FUND-RS-MSOC"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the ``csomatch`` parser."""
    serve = sub.add_parser(
        "serve",
        help="serve the HTTP API (and start the embedded database)",
        description=DESCRIPTION,
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
        type=positive_int,
        metavar="N",
        help="server processes sharing the port, each with its own database pools and search "
        "index (default: CSOMATCH_WORKERS, else 1)",
    )
    serve.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the API until Ctrl-C or SIGTERM."""
    from csomatch.app import create_app
    from csomatch.runtime.health import Health
    from csomatch.runtime.workers import serve

    # Flags win over the variables.
    flags = {k: v for k in ("host", "port", "workers") if (v := getattr(args, k)) is not None}
    settings = msgspec.structs.replace(settings, **flags)
    try:
        settings.validate()
    except SettingsError as error:
        print(_("csomatch serve: {error}", error=error), file=sys.stderr)
        return 2
    # A SIGTERM while starting becomes SystemExit, so that ``database_and_server`` stops the
    # embedded PostgreSQL cleanly (signals skip atexit); once serving, the supervisor handles
    # SIGTERM and SIGINT itself (runtime.workers).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with database_and_server(settings) as (url, embedded):
        asyncio.run(_start(url, settings, demo=args.demo))
        workers = "1 worker" if settings.workers == 1 else f"{settings.workers} workers"
        print(
            _(
                "serving on http://{host}:{port} ({workers})",
                host=settings.host,
                port=settings.port,
                workers=workers,
            ),
            file=sys.stderr,
        )
        health = Health()
        app = create_app(settings, url, freeze_heap=True, health=health)
        return serve(settings, app, health, embedded)


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


async def _start(url: str, settings: Settings, *, demo: bool) -> None:
    """Migrate and load the reference data; with ``demo``, also the demo registry and tokens.

    The demo registry is loaded only if the database holds no organisation; the demo tokens
    are made anew each time.
    """
    await prepare(url, settings)
    if not demo:
        return
    async with connected(url) as conn:
        if await count_organizations(conn) == 0:
            print(_("loading the demo registry (fictional data) ..."), file=sys.stderr)
            await seeding.load_demo(
                conn,
                settings.seed_dir or seeding.default_seed_dir(),
                now=dt.datetime.now(dt.UTC),
                progress=progress,
            )
        await _print_demo_tokens(conn)


async def _print_demo_tokens(conn: asyncpg.Connection) -> None:
    """Create one token per role and print them on stderr."""
    org_id = await first_offering(
        conn, participant=DEMO_JURISDICTION, taxonomy_code=DEMO_PROVIDER_SERVICE
    )
    # The demo officer refers for a fictional agency whose duty phone providers see.
    agency = await ensure_agency(
        conn,
        NewAgency(
            id=uuid.uuid4(), jurisdiction=DEMO_JURISDICTION, name="demo agency RS",
            duty_phone=DEMO_AGENCY_PHONE,
        ),
    )  # fmt: skip
    print(_("\ndemo tokens (new ones each start; jurisdiction RS):"), file=sys.stderr)
    for role in ROLES:
        secret, record = await create_token(
            conn,
            role=role,
            jurisdiction=DEMO_JURISDICTION,
            organization_id=org_id if role == "provider" else None,
            label=f"demo {role}",
            agency=agency.name if role == "officer" else None,
            agency_id=agency.id if role == "officer" else None,
        )
        if role == "funder":
            await _link_demo_funder(conn, record.id)
        print(f"  {role:<12} {secret}", file=sys.stderr)
    print("", file=sys.stderr)


async def _link_demo_funder(conn: asyncpg.Connection, token_id: uuid.UUID) -> None:
    """The demo funder token speaks for Serbia's ministry, so it may add its funding."""
    funder = await get_funder_by_ref(conn, DEMO_FUNDER)
    if funder is not None:
        await link_token_funder(conn, token_id, funder.id)
