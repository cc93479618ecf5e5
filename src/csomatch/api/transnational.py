"""HTTP routes of a transnational referral's TRM record: read, set, record a step.

Both sides' coordinators (and admins), the referring officers and the officers of the two
focal agencies read it; the referring side sets focal points, consents and the return area
(PUT, replacing them); either side's coordinators and the focal agencies' officers record a
step (POST, with an Idempotency-Key). Every read and write is audited.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from litestar import Request, Response, get, post, put
from litestar.params import FromPath, JSONBody

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Conn
from csomatch.api.idempotency import AuditAs, idempotent
from csomatch.api.schemas.transnational import TransnationalOut, transnational_out
from csomatch.errors import CsomatchError
from csomatch.referrals import transnational
from csomatch.referrals.access import audit_refusal
from csomatch.referrals.transnational import StepIn, TransnationalIn

PATH = "/api/v1/referrals/{referral_id:uuid}/transnational"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@get(PATH, opt=roles("officer", "coordinator", "admin"))
async def read_record(
    conn: Conn, principal: Caller, referral_id: FromPath[uuid.UUID]
) -> TransnationalOut:
    """The TRM record: focal points, consents per item, return area, the timeline."""
    return transnational_out(await transnational.read(conn, principal, referral_id))


@put(PATH, opt=roles("officer", "coordinator", "admin"))
async def set_record(
    conn: Conn, principal: Caller, referral_id: FromPath[uuid.UUID], data: JSONBody[TransnationalIn]
) -> TransnationalOut:
    """The referring side sets focal points, consents per item and the return area (replaced).

    A focal point is an agency record of its side; the return area a municipality of the
    receiving participant (422 otherwise). The first PUT creates the timeline, every step
    planned.
    """
    try:
        async with conn.transaction():
            found = await transnational.update(conn, principal, referral_id, data, now=_now())
    except CsomatchError as exc:
        await audit_refusal(
            conn, principal, "referral.transnational.update", "referral", referral_id, exc
        )
        raise
    return transnational_out(found)


@post(f"{PATH}/steps", opt=roles("officer", "coordinator", "admin"), status_code=200)
async def record_step(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
    data: JSONBody[StepIn],
) -> Response[TransnationalOut]:
    """Record one step of the timeline: planned, done (with its date) or cancelled.

    A follow-up dated before the arrival, a step done in the future or without a date: 422.
    """

    async def run() -> TransnationalOut:
        found = await transnational.record_step(conn, principal, referral_id, data, now=_now())
        return transnational_out(found)

    return await idempotent(
        request, conn, principal, run, status_code=200,
        audit_as=AuditAs(action="referral.transnational.step", object_type="referral",
                         object_id=referral_id),
    )  # fmt: skip


TRANSNATIONAL_ROUTES = [read_record, set_record, record_step]
