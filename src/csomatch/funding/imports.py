"""Feed files uploaded through the API, and the stored report of every import."""

from __future__ import annotations

import functools
import uuid

import anyio.to_thread
import asyncpg

from csomatch.db import funding as funding_db
from csomatch.domain import Principal
from csomatch.errors import InvalidInput, NotFound
from csomatch.funding import parse
from csomatch.funding.ledger import ImportReport, import_scope, run_import
from csomatch.i18n import _


async def upload_feed(
    conn: asyncpg.Connection,
    principal: Principal,
    body: bytes,
    *,
    fmt: str,
    filename: str | None,
    dry_run: bool,
) -> ImportReport:
    """Read a feed file and import its lines within the caller's scope; the import's report.

    The file is IATI XML, CSV/HXL or 360Giving JSON, parsed in a worker thread. ``dry_run``:
    nothing is saved.
    """
    if not body.strip():
        raise InvalidInput(_("send the file as the request body"), field="body")
    parsed = await anyio.to_thread.run_sync(functools.partial(parse, body, fmt, filename))
    scope = await import_scope(conn, principal)
    return await run_import(
        conn, parsed, source=parsed.format, scope=scope, filename=filename, dry_run=dry_run
    )


async def import_report(
    conn: asyncpg.Connection, principal: Principal, import_id: uuid.UUID
) -> str:
    """The stored report of an import, as the JSON it was answered with.

    A funder token may read only its own imports; any other is NotFound.
    """
    record = await funding_db.get_import(conn, import_id)
    if record is None or (principal.role == "funder" and record.token_id != principal.id):
        raise NotFound(_("no import {import_id}", import_id=import_id))
    return record.report
