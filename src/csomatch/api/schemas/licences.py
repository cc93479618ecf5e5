"""What the licences API takes and answers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from msgspec import Meta

from csomatch.api.schemas.registry import In, Out
from csomatch.domain import TaxonomyCode
from csomatch.domain.vocabulary import LicenceReason, LicenceState, LicenceStatus
from csomatch.registry.licences import LicenceView

#: One line of text, no control characters (a reference, a name of a body, a number).
_LINE = r"^[^\x00-\x1f\x7f]*$"
Authority = Annotated[
    str,
    Meta(min_length=2, max_length=200, pattern=_LINE, description="the licensing authority"),
]
LicenceNumber = Annotated[str, Meta(min_length=1, max_length=64, pattern=_LINE)]
EvidenceRef = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=200,
        pattern=_LINE,
        description="a short reference to the evidence held elsewhere (a file number), "
        "never a copy of it and never about a person",
    ),
]
VerifiedBy = Annotated[
    str,
    Meta(
        min_length=2,
        max_length=200,
        pattern=_LINE,
        description="the body that verified the licence (an inspectorate), not a person",
    ),
]
ServiceCodes = Annotated[list[TaxonomyCode], Meta(min_length=1, max_length=30)]


class LicenceIn(In, frozen=True):
    """A licence to add: authority, number, services covered, validity, evidence."""

    authority: Authority
    number: LicenceNumber
    service_codes: ServiceCodes
    valid_from: dt.date
    valid_to: dt.date | None = None
    evidence_ref: EvidenceRef | None = None
    verified_by: VerifiedBy | None = None
    verified_at: dt.datetime | None = None


class RenewalIn(In, frozen=True):
    """A renewal: the new last valid day, and new evidence or verification if any."""

    valid_to: dt.date
    evidence_ref: EvidenceRef | None = None
    verified_by: VerifiedBy | None = None
    verified_at: dt.datetime | None = None


class StatusChangeIn(In, frozen=True):
    """Why a licence is suspended or revoked (a code, never free text)."""

    reason: LicenceReason


class LicenceOut(Out, frozen=True):
    """A licence with its state today and the days until it ends.

    ``state`` is ``valid``, ``expiring`` (ends within 90 days), ``expired``, ``suspended``,
    ``revoked`` or ``not_yet_valid``; ``days_until_expiry`` counts to the last valid day
    (negative once past, null without an end).
    """

    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    participant: str
    authority: str
    number: str
    service_codes: list[str]
    valid_from: dt.date
    valid_to: dt.date | None
    evidence_ref: str | None
    verified_by: str | None
    verified_at: dt.datetime | None
    status: LicenceStatus
    status_reason: LicenceReason | None
    suspended_at: dt.datetime | None
    revoked_at: dt.datetime | None
    updated_at: dt.datetime
    version: int
    state: LicenceState
    days_until_expiry: int | None


class LicenceList(Out, frozen=True):
    """Licences, the soonest to end first."""

    licences: list[LicenceOut]


def licence_out(found: LicenceView) -> LicenceOut:
    """The answer for one licence."""
    lic = found.licence
    return LicenceOut(
        id=lic.id, organization_id=lic.organization_id, organization_name=lic.organization_name,
        participant=lic.participant_code, authority=lic.authority, number=lic.number,
        service_codes=list(lic.service_codes), valid_from=lic.valid_from, valid_to=lic.valid_to,
        evidence_ref=lic.evidence_ref, verified_by=lic.verified_by, verified_at=lic.verified_at,
        status=lic.status, status_reason=lic.status_reason,
        suspended_at=lic.suspended_at, revoked_at=lic.revoked_at, updated_at=lic.updated_at,
        version=lic.version, state=found.state, days_until_expiry=found.days_until_expiry,
    )  # fmt: skip
