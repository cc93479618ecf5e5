"""HTTP routes of licences: an organisation's licences, their changes, and those ending soon.

Coordinators and admins add, renew, suspend, revoke and reinstate the licences of their
jurisdiction's organisations; providers read their own organisation's. Every change takes
``If-Match`` (the licence's version, 412 when stale; adding one does not), honours an
``Idempotency-Key`` and is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Conn
from csomatch.api.idempotency import AuditAs, idempotent
from csomatch.api.params import ETAG, IfMatch, ParticipantQ, etag, version_of
from csomatch.api.schemas.licences import (
    LicenceIn,
    LicenceList,
    LicenceOut,
    RenewalIn,
    StatusChangeIn,
    licence_out,
)
from csomatch.domain import COORDINATING, Principal
from csomatch.registry import licences
from csomatch.registry.licences import LicenceView, NewLicence, Renewal

#: Who reads an organisation's licences: its provider, and the coordinators and admins.
READERS = ("provider", *COORDINATING)
Within = Annotated[
    int | None,
    QueryParameter(
        ge=0, le=3650, description="only licences ending within this many days (or ended)"
    ),
]
_PATH = "/api/v1/organizations/{org_id:uuid}/licences"
_ONE = _PATH + "/{licence_id:uuid}"


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _answer(found: LicenceView, status_code: int = 200) -> Response[LicenceOut]:
    return Response(
        licence_out(found),
        status_code=status_code,
        headers={"ETag": etag(found.licence.version)},
    )


@get(_PATH, opt=roles(*READERS))
async def list_organization_licences(
    conn: Conn, principal: Caller, org_id: FromPath[uuid.UUID]
) -> LicenceList:
    """An organisation's licences with their state today, the soonest to end first."""
    found = await licences.organization_licences(conn, principal, org_id, today=_today())
    return LicenceList(licences=[licence_out(v) for v in found])


@get(_ONE, opt=roles(*READERS), response_headers=ETAG)
async def get_licence(
    conn: Conn,
    principal: Caller,
    org_id: FromPath[uuid.UUID],
    licence_id: FromPath[uuid.UUID],
) -> Response[LicenceOut]:
    """One licence; its ETag is the version a change names in If-Match."""
    return _answer(await licences.one_licence(conn, principal, org_id, licence_id, today=_today()))


@get("/api/v1/licences", opt=roles(*COORDINATING))
async def list_licences(
    conn: Conn,
    principal: Caller,
    expiring_within: Within = None,
    participant: ParticipantQ = None,
) -> LicenceList:
    """The licences of your jurisdiction, the soonest to end first.

    ``expiring_within=90``: those not revoked that end within 90 days or have ended.
    """
    found = await licences.jurisdiction_licences(
        conn, principal, participant=participant, expiring_within=expiring_within,
        today=_today(),
    )  # fmt: skip
    return LicenceList(licences=[licence_out(v) for v in found])


@post(_PATH, opt=roles(*COORDINATING), status_code=201, response_headers=ETAG)
async def add_licence(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    org_id: FromPath[uuid.UUID],
    data: JSONBody[LicenceIn],
) -> Response[LicenceOut]:
    """Add an active licence to an organisation of your jurisdiction."""
    new = NewLicence(
        id=uuid.uuid4(), organization_id=org_id, authority=data.authority, number=data.number,
        service_codes=list(data.service_codes), valid_from=data.valid_from,
        valid_to=data.valid_to, evidence_ref=data.evidence_ref, verified_by=data.verified_by,
        verified_at=data.verified_at,
    )  # fmt: skip

    async def run() -> Response[LicenceOut]:
        async with conn.transaction():
            found = await licences.add_licence(conn, principal, new, today=_today())
        return _answer(found, 201)

    return await idempotent(
        request, conn, principal, run, status_code=201, required=False,
        audit_as=AuditAs(action="licence.add", object_type="organization", object_id=org_id),
    )  # fmt: skip


async def _change(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Principal,
    action: str,
    licence_id: uuid.UUID,
    act: Callable[[], Awaitable[LicenceView]],
) -> Response[Any]:
    """Run one change of a licence in a transaction, at most once per Idempotency-Key."""

    async def run() -> Response[LicenceOut]:
        async with conn.transaction():
            found = await act()
        return _answer(found)

    return await idempotent(
        request, conn, principal, run, status_code=200, required=False,
        audit_as=AuditAs(action=action, object_type="licence", object_id=licence_id),
    )  # fmt: skip


@post(_ONE + "/renew", opt=roles(*COORDINATING), status_code=200, response_headers=ETAG)
async def renew_licence(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    org_id: FromPath[uuid.UUID],
    licence_id: FromPath[uuid.UUID],
    data: JSONBody[RenewalIn],
    if_match: IfMatch = None,
) -> Response[LicenceOut]:
    """Renew a licence: a new last valid day, and new evidence or verification if given.

    Needs ``If-Match`` with the licence's ETag (412 when stale). Its reminders start again
    for the new end.
    """
    version = version_of(if_match, required=True)
    renewal = Renewal(
        valid_to=data.valid_to, evidence_ref=data.evidence_ref, verified_by=data.verified_by,
        verified_at=data.verified_at,
    )  # fmt: skip
    return await _change(
        request, conn, principal, "licence.renew", licence_id,
        lambda: licences.renew_licence(
            conn, principal, licence_id, renewal, org_id=org_id, if_match=version, today=_today()
        ),
    )  # fmt: skip


async def _move(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Principal,
    where: tuple[uuid.UUID, uuid.UUID],
    to: str,
    reason: str | None,
    if_match: str | None,
) -> Response[Any]:
    """Suspend, revoke or reinstate the licence ``where`` names (organisation, licence)."""
    org_id, licence_id = where
    version = version_of(if_match, required=True)
    action = {"suspended": "licence.suspend", "revoked": "licence.revoke"}.get(
        to, "licence.reinstate"
    )
    return await _change(
        request, conn, principal, action, licence_id,
        lambda: licences.change_status(
            conn, principal, licence_id, to=to, reason=reason, org_id=org_id,
            if_match=version, today=_today(),
        ),
    )  # fmt: skip


@post(_ONE + "/suspend", opt=roles(*COORDINATING), status_code=200, response_headers=ETAG)
async def suspend_licence(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    org_id: FromPath[uuid.UUID],
    licence_id: FromPath[uuid.UUID],
    data: JSONBody[StatusChangeIn],
    if_match: IfMatch = None,
) -> Response[LicenceOut]:
    """Suspend an active licence with a reason code; the matcher stops counting it at once.

    Needs If-Match with the licence's ETag (412 when stale). Reinstate lifts it.
    """
    where = (org_id, licence_id)
    return await _move(request, conn, principal, where, "suspended", data.reason, if_match)


@post(_ONE + "/revoke", opt=roles(*COORDINATING), status_code=200, response_headers=ETAG)
async def revoke_licence(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    org_id: FromPath[uuid.UUID],
    licence_id: FromPath[uuid.UUID],
    data: JSONBody[StatusChangeIn],
    if_match: IfMatch = None,
) -> Response[LicenceOut]:
    """Revoke a licence (final) with a reason code; the matcher stops counting it at once.

    Needs If-Match with the licence's ETag (412 when stale).
    """
    where = (org_id, licence_id)
    return await _move(request, conn, principal, where, "revoked", data.reason, if_match)


@post(_ONE + "/reinstate", opt=roles(*COORDINATING), status_code=200, response_headers=ETAG)
async def reinstate_licence(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    org_id: FromPath[uuid.UUID],
    licence_id: FromPath[uuid.UUID],
    if_match: IfMatch = None,
) -> Response[LicenceOut]:
    """Reinstate a suspended licence (a revoked one is final); needs If-Match (412 when stale)."""
    return await _move(request, conn, principal, (org_id, licence_id), "active", None, if_match)


LICENCE_ROUTES = [
    list_organization_licences, get_licence, list_licences, add_licence, renew_licence,
    suspend_licence, revoke_licence, reinstate_licence,
]  # fmt: skip
