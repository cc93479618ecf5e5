"""What both sides of a transnational referral see of its TRM record."""

from __future__ import annotations

import datetime as dt
import uuid

from csomatch.api.schemas.registry import Out
from csomatch.referrals.transnational import TransnationalRecord


class FocalPointOut(Out, frozen=True):
    """One side's focal point: an agency record and its duty phone (the duty contact)."""

    agency_id: uuid.UUID
    jurisdiction: str
    name: str
    duty_phone: str


class ConsentOut(Out, frozen=True):
    """Consent to one item: given or refused, how, and when."""

    item: str
    given: bool
    method: str
    at: dt.datetime


class StepOut(Out, frozen=True):
    """One step of the timeline: its status, date and who recorded it (token, agency)."""

    code: str
    status: str
    date: dt.date | None
    recorded_by: uuid.UUID | None
    recorded_by_agency_id: uuid.UUID | None
    recorded_at: dt.datetime | None


class TransnationalOut(Out, frozen=True):
    """The TRM record of a transnational referral, the same for both sides."""

    referral_id: uuid.UUID
    state: str
    sending_participant: str
    receiving_participant: str
    #: False until the referring side first sets the record (PUT); then the timeline exists.
    recorded: bool
    sending_focal_point: FocalPointOut | None
    receiving_focal_point: FocalPointOut | None
    return_area: str | None
    consents: list[ConsentOut]
    steps: list[StepOut]
    version: int | None


def transnational_out(found: TransnationalRecord) -> TransnationalOut:
    """The record as both sides see it."""
    h, r = found.head, found.record
    focal = [
        None if a is None else FocalPointOut(
            agency_id=a.id, jurisdiction=a.jurisdiction, name=a.name, duty_phone=a.duty_phone
        )
        for a in (found.sending_agency, found.receiving_agency)
    ]  # fmt: skip
    return TransnationalOut(
        referral_id=h.id, state=h.state, sending_participant=h.jurisdiction,
        receiving_participant=h.receiving_participant, recorded=r is not None,
        sending_focal_point=focal[0], receiving_focal_point=focal[1],
        return_area=r.return_area if r else None,
        consents=[ConsentOut(item=c.item, given=c.given, method=c.method, at=c.at)
                  for c in (r.consents if r else [])],
        steps=[StepOut(code=s.code, status=s.status, date=s.on_date, recorded_by=s.recorded_by,
                       recorded_by_agency_id=s.recorded_by_agency_id, recorded_at=s.recorded_at)
               for s in (r.steps if r else [])],
        version=r.version if r else None,
    )  # fmt: skip
