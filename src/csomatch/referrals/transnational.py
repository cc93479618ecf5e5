"""The record both sides of a transnational referral follow (the TRM).

A transnational referral names a focal point on each side (an agency record of that side's
participant; its duty phone is the duty contact), records consent per item (referral, data
sharing, cross-border: given, method, time), a return area in the receiving participant
(from which its return and reintegration needs are matched) and keeps one timeline both
national coordinators see: seven fixed steps, each planned, done or cancelled, with its date
and who recorded it (a token and an agency). No names, no free text. See
docs/transnational.md.

Who may do what: both sides' coordinators and admins, the referring officers and the
officers of the two focal agencies read it; the referring side (``sides``) sets focal
points, consents and return area; either side's coordinators and the focal agencies'
officers record steps.
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db import agencies as agency_db
from csomatch.db import areas as area_db
from csomatch.db import referrals as ref_db
from csomatch.db import transnational as trm_db
from csomatch.db.agencies import Agency
from csomatch.domain import Principal
from csomatch.domain.vocabulary import (
    TRM_FOLLOW_UPS,
    ConsentItem,
    ConsentMethod,
    TrmStepCode,
    TrmStepStatus,
)
from csomatch.errors import Conflict, CsomatchError, Forbidden, InvalidInput, NotFound
from csomatch.i18n import _
from csomatch.referrals import lifecycle, sides
from csomatch.referrals.access import audit, audit_refusal, visible_head

#: States in which the record no longer changes.
FINISHED = ("closed", "cancelled")


class _In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of the inputs: unknown fields rejected."""


class ConsentIn(_In, frozen=True, kw_only=True):
    """Consent to one item: given or refused, how, and when (no names)."""

    item: ConsentItem
    given: bool
    method: ConsentMethod
    at: dt.datetime


class TransnationalIn(_In, frozen=True, kw_only=True):
    """The referring side's part: focal points, consents per item, return area (all replaced)."""

    sending_agency_id: uuid.UUID | None = None
    receiving_agency_id: uuid.UUID | None = None
    consents: list[ConsentIn] = []
    return_area: str | None = None


class StepIn(_In, frozen=True, kw_only=True):
    """One step of the timeline as recorded: its code, status and date."""

    code: TrmStepCode
    status: TrmStepStatus
    date: dt.date | None = None


class TransnationalRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A referral's record with its focal agencies and the referral's two sides."""

    head: ref_db.ReferralHead
    record: trm_db.TrmRecord | None
    sending_agency: Agency | None
    receiving_agency: Agency | None


async def _focal(conn: asyncpg.Connection, agency_id: uuid.UUID | None) -> Agency | None:
    return None if agency_id is None else await agency_db.get_agency(conn, agency_id)


async def _record_of(
    conn: asyncpg.Connection, head: ref_db.ReferralHead, *, for_update: bool = False
) -> TransnationalRecord:
    record = await trm_db.get_record(conn, head.id, for_update=for_update)
    return TransnationalRecord(
        head=head,
        record=record,
        sending_agency=await _focal(conn, record.sending_agency_id if record else None),
        receiving_agency=await _focal(conn, record.receiving_agency_id if record else None),
    )


def _focal_ids(record: trm_db.TrmRecord | None) -> set[uuid.UUID]:
    if record is None:
        return set()
    return {a for a in (record.sending_agency_id, record.receiving_agency_id) if a is not None}


async def _head(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> ref_db.ReferralHead:
    """The transnational referral locked, if the caller may see it (or NotFound).

    Besides those who see the referral, the officers of its two focal agencies.
    """
    try:
        head = await visible_head(conn, principal, referral_id, for_update=True)
    except NotFound:
        if principal.role != "officer" or principal.agency_id is None:
            raise
        record = await trm_db.get_record(conn, referral_id)
        if principal.agency_id not in _focal_ids(record):
            raise
        found = await ref_db.get_head(conn, referral_id, for_update=True)
        if found is None:
            raise
        head = found
    if not head.transnational:
        raise NotFound(
            _(
                "referral {referral_id} is not transnational: it has no TRM record",
                referral_id=referral_id,
            )
        )
    return head


async def read(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> TransnationalRecord:
    """The record as both sides see it, its reading audited (a refusal too)."""
    try:
        async with conn.transaction():
            head = await _head(conn, principal, referral_id)
            found = await _record_of(conn, head)
            await audit(conn, principal, "referral.transnational.read", "referral", referral_id)
    except CsomatchError as exc:
        await audit_refusal(
            conn, principal, "referral.transnational.read", "referral", referral_id, exc
        )
        raise
    return found


async def _check_agency(
    conn: asyncpg.Connection, agency_id: uuid.UUID | None, participant: str, field: str
) -> None:
    if agency_id is None:
        return
    agency = await agency_db.get_agency(conn, agency_id)
    if agency is None:
        raise InvalidInput(_("no agency {agency_id}", agency_id=agency_id), field=field)
    if agency.jurisdiction != participant:
        raise InvalidInput(
            _(
                "agency {agency_id} is in {jurisdiction}; this focal point is an "
                "agency record of {participant}",
                agency_id=agency_id,
                jurisdiction=agency.jurisdiction,
                participant=participant,
            ),
            field=field,
        )


async def _check_return_area(conn: asyncpg.Connection, code: str | None, receiving: str) -> None:
    if code is None:
        return
    area = await area_db.get_area(conn, code)
    if area is None:
        raise InvalidInput(
            _("unknown area code {code}; look it up at /api/v1/areas", code=repr(code)),
            field="$.return_area",
        )
    if area.participant_code != receiving:
        raise InvalidInput(
            _(
                "the return area {code} is in {participant_code}; it is a municipality "
                "of {receiving}, the receiving participant",
                code=code,
                participant_code=area.participant_code,
                receiving=receiving,
            ),
            field="$.return_area",
        )


async def start_with_return_area(
    conn: asyncpg.Connection, principal: Principal, head: ref_db.ReferralHead, code: str
) -> None:
    """A new referral names its return area: its TRM record starts with it (timeline planned).

    Only a transnational referral has one (422 at ``$.return_area`` otherwise).
    """
    if not head.transnational:
        raise InvalidInput(
            _("only a transnational referral has a return area (name receiving_participant)"),
            field="$.return_area",
        )
    await _check_return_area(conn, code, head.receiving_participant)
    values = trm_db.TrmValues(
        sending_agency_id=None, receiving_agency_id=None, return_area=code, consents=[]
    )
    await trm_db.put_record(conn, head.id, values, by=principal.id)


def _check_consents(consents: list[ConsentIn], now: dt.datetime) -> None:
    seen: set[str] = set()
    for i, c in enumerate(consents):
        if c.item in seen:
            raise InvalidInput(
                _("consent to {item} is given twice; one entry per item", item=c.item),
                field=f"$.consents[{i}].item",
            )
        seen.add(c.item)
        if c.at > now:
            raise InvalidInput(
                _("consent is recorded when it was given, not in the future"),
                field=f"$.consents[{i}].at",
            )


def _check_open(head: ref_db.ReferralHead) -> None:
    if head.state in FINISHED:
        raise Conflict(
            _(
                "referral {head_id} is {state}; its TRM record no longer changes",
                head_id=head.id,
                state=head.state,
            )
        )


async def update(
    conn: asyncpg.Connection,
    principal: Principal,
    referral_id: uuid.UUID,
    data: TransnationalIn,
    *,
    now: dt.datetime,
) -> TransnationalRecord:
    """The referring side sets focal points, consents per item and the return area (audited).

    The first time, the timeline's seven steps are created, planned.
    """
    head = await _head(conn, principal, referral_id)
    if not sides.is_referring_side(principal, head):
        raise Forbidden(
            _(
                "only the referring side sets the TRM record of referral {head_id}: "
                "the officer who made it, or a coordinator or admin of {jurisdiction}",
                head_id=head.id,
                jurisdiction=head.jurisdiction,
            )
        )
    _check_open(head)
    await _check_agency(conn, data.sending_agency_id, head.jurisdiction, "$.sending_agency_id")
    await _check_agency(
        conn, data.receiving_agency_id, head.receiving_participant, "$.receiving_agency_id"
    )
    await _check_return_area(conn, data.return_area, head.receiving_participant)
    _check_consents(data.consents, now)
    values = trm_db.TrmValues(
        sending_agency_id=data.sending_agency_id,
        receiving_agency_id=data.receiving_agency_id,
        return_area=data.return_area,
        consents=[
            trm_db.TrmConsent(item=c.item, given=c.given, method=c.method, at=c.at)
            for c in data.consents
        ],
    )
    await trm_db.put_record(conn, head.id, values, by=principal.id)
    await audit(conn, principal, "referral.transnational.update", "referral", head.id)
    return await _record_of(conn, head)


def _recording_agency(
    principal: Principal, head: ref_db.ReferralHead, record: trm_db.TrmRecord
) -> uuid.UUID | None:
    """The agency a step is recorded for; Forbidden unless the caller may record steps.

    An officer of a focal agency records for it; a coordinator or admin of either side for
    that side's focal point.
    """
    if principal.role == "officer" and principal.agency_id in _focal_ids(record):
        return principal.agency_id
    if principal.is_coordinating():
        if principal.covers(head.jurisdiction):
            return record.sending_agency_id
        if principal.covers(head.receiving_participant):
            return record.receiving_agency_id
    raise Forbidden(
        _(
            "steps of referral {head_id} are recorded by either side's "
            "coordinators or by officers of its two focal agencies",
            head_id=head.id,
        )
    )


def _check_step_dates(step: StepIn, steps: dict[str, trm_db.TrmStep], today: dt.date) -> None:
    """422 for a step dated wrongly: done without a date or in the future, or out of order."""
    if step.status == "done" and step.date is None:
        raise InvalidInput(_("a step done names the date it was done"), field="$.date")
    if step.status == "done" and step.date is not None and step.date > today:
        raise InvalidInput(
            _(
                "a step is done on a day that has come; {date} is in the future (plan it instead)",
                date=step.date,
            ),
            field="$.date",
        )
    arrival = steps["arrival"]
    if step.code in TRM_FOLLOW_UPS:
        if step.status == "done" and arrival.status != "done":
            raise InvalidInput(
                _("a follow-up is done after the arrival; record the arrival first"),
                field="$.code",
            )
        if step.date is not None and arrival.on_date is not None and step.date < arrival.on_date:
            raise InvalidInput(
                _(
                    "a follow-up comes after the arrival ({on_date}); {date} is before it",
                    on_date=arrival.on_date,
                    date=step.date,
                ),
                field="$.date",
            )
    if step.code == "arrival" and step.date is not None:
        for code in sorted(TRM_FOLLOW_UPS):
            later = steps[code].on_date
            if steps[code].status != "cancelled" and later is not None and later < step.date:
                raise InvalidInput(
                    _(
                        "the arrival comes before the follow-ups; {code} is dated {later}",
                        code=code,
                        later=later,
                    ),
                    field="$.date",
                )


async def record_step(
    conn: asyncpg.Connection,
    principal: Principal,
    referral_id: uuid.UUID,
    step: StepIn,
    *,
    now: dt.datetime,
) -> TransnationalRecord:
    """Record one step of the timeline (audited); the last follow-up may close the referral.

    A referral whose needs are all finished closes once its last follow-up is done or
    cancelled (``lifecycle.settle``).
    """
    head = await _head(conn, principal, referral_id)
    record = await trm_db.get_record(conn, head.id, for_update=True)
    if record is None:
        raise Conflict(
            _(
                "referral {head_id} has no TRM record yet; the referring side sets its "
                "focal points first (PUT .../transnational)",
                head_id=head.id,
            )
        )
    agency_id = _recording_agency(principal, head, record)
    _check_open(head)
    _check_step_dates(step, {s.code: s for s in record.steps}, now.date())
    await trm_db.set_step(
        conn,
        head.id,
        trm_db.StepValues(
            code=step.code, status=step.status, on_date=step.date, recorded_by=principal.id,
            recorded_by_agency_id=agency_id,
        ),
    )  # fmt: skip
    if head.state not in lifecycle.IN_PROGRESS:
        await audit(conn, principal, "referral.transnational.step", "referral", head.id)
        return await _record_of(conn, head)
    moved = await lifecycle.settle(conn, principal, head, action="referral.transnational.step")
    return await _record_of(conn, moved)
