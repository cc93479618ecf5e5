"""Issuing a feedback code at the end of a placement (the referrer, or a coordinator).

A code is issued for one need of a referral whose placement is in service or closed as
placed; it names that need's service, never the referral. The answer carries the code once
(as text, a link to the public page and a QR code of the link); the database keeps only its
hash. A token issues at most ``per_day`` codes a day (UTC).
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from typing import Final

import asyncpg
import msgspec
import segno

from csomatch.db import feedback as feedback_db
from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.domain import Principal
from csomatch.errors import Conflict, InvalidInput, NotFound, RateLimited
from csomatch.feedback.codes import code_hash, grouped, new_code
from csomatch.gaps.periods import period_of
from csomatch.i18n import _
from csomatch.referrals.access import audit, visible_head

#: Days a code can be used, from the day it is issued.
VALID_DAYS: Final = 60
#: Where the public page answers a code (after the public address).
PAGE_PATH: Final = "/feedback"


class IssuedCode(msgspec.Struct, frozen=True, kw_only=True):
    """A new code, shown once: as text, as the link to the public page, as a QR code."""

    referral_id: uuid.UUID
    need: int
    service_id: uuid.UUID
    #: The code in four groups (``XXXX-XXXX-XXXX-XXXX``).
    code: str
    link: str
    #: The link as a QR code, an SVG document.
    qr_svg: str
    #: The last day (UTC) the code can be used.
    valid_until: dt.date


def qr_svg(link: str) -> str:
    """A QR code of ``link`` as a small SVG document (no XML declaration, no styles)."""
    out = io.BytesIO()
    segno.make(link, error="m").save(
        out, kind="svg", xmldecl=False, svgns=True, scale=4, border=2, title="QR code"
    )
    return out.getvalue().decode("utf-8")


def _placed_service(
    stored: ref_db.StoredReferral, holds: list[hold_db.Hold], need: int
) -> uuid.UUID:
    """The service placed for a need that is in service or closed as placed, else Conflict."""
    found = [n for n in stored.needs if n.idx == need]
    if not found:
        raise InvalidInput(
            _("referral {head_id} has no need {need}", head_id=stored.head.id, need=need),
            field="$.need",
        )
    state = found[0]
    if not (state.state == "in_service" or (state.state == "closed" and state.outcome == "placed")):
        raise Conflict(
            _(
                "need {need} is {state}: a feedback code is issued once its service is "
                "in service, or closed as placed",
                need=need,
                state=state.state,
            ),
            field="$.need",
        )
    placed = [h.service_id for h in holds if h.need_idx == need and h.status == "confirmed"]
    if not placed:
        raise Conflict(_("need {need} has no placed service", need=need), field="$.need")
    return placed[-1]


async def _referral_of(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> ref_db.StoredReferral:
    """The referral if the caller referred it or coordinates it, else NotFound."""
    stored = await ref_db.get_referral(conn, referral_id)
    if stored is None:
        raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
    if stored.head.created_by != principal.id:
        if not principal.is_coordinating():
            raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
        await visible_head(conn, principal, referral_id)
    return stored


def _tomorrow(now: dt.datetime) -> dt.datetime:
    day = now.date() + dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


async def issue_code(
    conn: asyncpg.Connection,
    principal: Principal,
    referral_id: uuid.UUID,
    *,
    need: int,
    service_id: uuid.UUID | None,
    public_base: str,
    per_day: int,
    now: dt.datetime,
) -> IssuedCode:
    """Issue a code for a need's placed service (audited, without the code).

    NotFound: not the caller's referral. Conflict: the need's service is not (yet) in service
    or closed as placed. InvalidInput: no such need, or ``service_id`` is not its service.
    RateLimited: the caller issued ``per_day`` codes today already.
    """
    stored = await _referral_of(conn, principal, referral_id)
    placed = _placed_service(stored, await hold_db.holds_of(conn, referral_id), need)
    if service_id is not None and service_id != placed:
        raise InvalidInput(
            _(
                "need {need} was placed with service {placed}, not {service_id}",
                need=need,
                placed=placed,
                service_id=service_id,
            ),
            field="$.service_id",
        )
    today = now.date()
    if await feedback_db.issued_today(conn, principal.id, today) > per_day:
        wait = int((_tomorrow(now) - now).total_seconds()) + 1
        raise RateLimited(
            _(
                "this token issued {per_day} feedback codes today, the most a day "
                "allows; issue more tomorrow (UTC)",
                per_day=per_day,
            ),
            retry_after_s=wait,
        )
    code = new_code()
    last_day = today + dt.timedelta(days=VALID_DAYS)
    ends = dt.datetime(last_day.year, last_day.month, last_day.day, tzinfo=dt.UTC)
    await feedback_db.insert_code(
        conn, code_hash(code), placed, quarter=period_of(today, "quarter").start,
        issued_on=today, expires_at=_tomorrow(ends),
    )  # fmt: skip
    await audit(conn, principal, "feedback_code.issue", "referral", referral_id)
    link = f"{public_base}{PAGE_PATH}/{grouped(code)}"
    return IssuedCode(
        referral_id=referral_id, need=need, service_id=placed, code=grouped(code), link=link,
        qr_svg=qr_svg(link), valid_until=last_day,
    )  # fmt: skip
