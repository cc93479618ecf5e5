"""Funding records one at a time: added through the feed import, and read back page by page.

The record a funder (or a coordinator) sends is added to the ledger through the same import
as a feed's lines; the ledger is read back, page by page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from csomatch.db import funding as funding_db
from csomatch.db.funding import LedgerEntry
from csomatch.domain import CapacityUnit, FundingStatus, ParticipantPattern, Principal
from csomatch.errors import Forbidden, InvalidInput
from csomatch.funding.ledger import ImportReport, import_scope, run_import
from csomatch.funding.records import MAX_AMOUNT, FeedLine, Parsed
from csomatch.i18n import _

Text = Annotated[str, Meta(min_length=1, max_length=300, pattern=r"^[^\x00]*$")]
Code = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]


class FundingIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One funding record. A funder token may leave ``funder`` out: it is its own funder."""

    external_id: Annotated[str, Meta(min_length=1, max_length=150, pattern=r"^[^\x00]*$")]
    #: 0 to a trillion, as a JSON string ("1250.50") or number.
    amount: Annotated[Decimal, Meta(extra_json_schema={"extra": {"type": ["string", "number"]}})]
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
    period_start: dt.date
    period_end: dt.date
    funder: Code | None = None
    recipient_id: uuid.UUID | None = None
    recipient_ref: Code | None = None
    recipient_name: Text | None = None
    participant: ParticipantPattern | None = None
    value_date: dt.date | None = None
    status: FundingStatus = "committed"
    funded_units: Annotated[int, Meta(ge=0, le=1_000_000)] | None = None
    unit: CapacityUnit | None = None
    services: Annotated[list[Code], Meta(max_length=50)] = msgspec.field(default_factory=list)
    title: Annotated[str, Meta(max_length=500, pattern=r"^[^\x00]*$")] | None = None


def _line(data: FundingIn, funder_ref: str | None) -> FeedLine:
    return FeedLine(
        where="$",
        external_id=data.external_id,
        funder_ref=funder_ref,
        funder_name=None,
        recipient_id=data.recipient_id,
        recipient_ref=data.recipient_ref,
        recipient_name=data.recipient_name or "",
        participant=data.participant,
        amount=data.amount.quantize(Decimal("0.01")),
        currency=data.currency,
        value_date=data.value_date,
        period_start=data.period_start,
        period_end=data.period_end,
        status=data.status,
        funded_units=data.funded_units,
        unit=data.unit,
        service_refs=tuple(data.services),
        title=data.title,
    )


#: The field of the record a skipped line's field names.
_FIELDS = {"funder": "$.funder", "services": "$.services", "external_id": "$.external_id"}


async def add_entry(
    conn: asyncpg.Connection, principal: Principal, data: FundingIn
) -> ImportReport:
    """Add or update one funding record; its import report, or the refusal of its line.

    The refusal is Forbidden outside the caller's scope, else InvalidInput naming the field.
    """
    scope = await import_scope(conn, principal)
    funder_ref = data.funder
    if funder_ref is None and scope.funder_id is not None:
        funder_ref = await funding_db.funder_ref_of(conn, scope.funder_id)
    if funder_ref is None:
        raise InvalidInput(_("name the funder (its reference or name)"), field="$.funder")
    if data.recipient_id is None and data.recipient_ref is None and data.recipient_name is None:
        raise InvalidInput(_("name the recipient"), field="$.recipient_name")
    if not (data.amount.is_finite() and 0 <= data.amount <= MAX_AMOUNT):
        raise InvalidInput(
            _("amount must be 0 to {max_amount}", max_amount=MAX_AMOUNT), field="$.amount"
        )
    if data.period_end < data.period_start:
        raise InvalidInput(_("period_end must not be before period_start"), field="$.period_end")
    parsed = Parsed(format="api", rows_read=1, lines=[_line(data, funder_ref)], skips=[])
    report = await run_import(conn, parsed, source="api", scope=scope)
    if report.skips:
        skip = report.skips[0]
        if skip.field == "scope":
            raise Forbidden(skip.reason)
        raise InvalidInput(skip.reason, field=_FIELDS.get(skip.field or "", f"$.{skip.field}"))
    return report


async def list_entries(
    conn: asyncpg.Connection,
    *,
    funder_ref: str | None,
    recipient_id: uuid.UUID | None,
    participant: str | None,
    status: str | None,
    source: str | None,
    active_on: dt.date | None,
    unmatched: bool,
    limit: int,
    offset: int,
) -> tuple[list[LedgerEntry], int, Decimal]:
    """A page of ledger rows (newest period first), how many rows match, and their EUR total.

    Each row carries its EUR amount; the count and the total are of all the rows the filters
    select, not of the page alone.
    """
    flt = funding_db.LedgerFilter(
        funder_ref=funder_ref, recipient_id=recipient_id, participant=participant,
        status=status, source=source, active_on=active_on, unmatched=unmatched, limit=limit,
        offset=offset,
    )  # fmt: skip
    return await funding_db.list_ledger(conn, flt)
