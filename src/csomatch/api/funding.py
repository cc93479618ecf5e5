"""HTTP routes of the funding ledger: add a record, upload a feed, list, review matches.

Funding rows are money, not person data: funders, coordinators and admins may read the
ledger. Who may add what is ``csomatch.funding.ledger``'s rule (docs/funding.md).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from decimal import Decimal
from typing import Annotated, Any

import anyio.to_thread
import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from msgspec import Meta

from csomatch.api.auth import roles
from csomatch.api.idempotency import idempotent
from csomatch.api.schemas.registry import In, Out, Page
from csomatch.db import funding as funding_db
from csomatch.db.organizations import get_organization
from csomatch.domain import (
    COORDINATING,
    FUNDING_STATUSES,
    PARTICIPANT_PATTERN,
    CapacityUnit,
    FundingStatus,
    ParticipantPattern,
    Principal,
    Role,
    one_of_pattern,
)
from csomatch.errors import Forbidden, InvalidInput, NotFound
from csomatch.funding import parse
from csomatch.funding.ledger import ImportReport, import_scope, run_import
from csomatch.funding.records import MAX_AMOUNT, FeedLine, Parsed

Conn = NamedDependency[asyncpg.Connection]
Caller = NamedDependency[Principal]
LEDGER_ROLES: tuple[Role, ...] = ("funder", *COORDINATING)
REVIEWERS = COORDINATING

Text = Annotated[str, Meta(min_length=1, max_length=300, pattern=r"^[^\x00]*$")]
Code = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\x00]*$")]


class FundingIn(In, frozen=True):
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


class FundingOut(Out, frozen=True):
    """One ledger row: who funds whom, how much (and in EUR), when, for which services."""

    id: uuid.UUID
    funder_ref: str
    funder_name: str
    recipient_organization_id: uuid.UUID | None
    recipient_name: str
    recipient_participant: str | None
    amount: Decimal
    currency: str
    amount_eur: Decimal | None
    value_date: dt.date | None
    period_start: dt.date
    period_end: dt.date
    status: str
    source: str
    external_id: str
    activity_ref: str | None
    title: str | None
    funded_units: int | None
    unit: str | None
    match_method: str | None
    match_score: int | None
    service_ids: list[uuid.UUID]


class FundingList(Out, frozen=True):
    """A page of the ledger and the EUR total of every row the filters select."""

    items_page: Page
    total_eur: Decimal
    funding: list[FundingOut]


class ReviewOut(Out, frozen=True):
    """A recipient waiting for a person to confirm its organisation."""

    id: uuid.UUID
    name: str
    identifier: str | None
    candidate_organization_id: uuid.UUID | None
    candidate_name: str | None
    score: int | None
    status: str
    organization_id: uuid.UUID | None
    funding_rows: int


class ConfirmIn(In, frozen=True):
    """The organisation to confirm; none: the proposed candidate."""

    organization_id: uuid.UUID | None = None


class ConfirmOut(Out, frozen=True):
    """A decided review and how many funding rows it linked."""

    review: ReviewOut
    linked_rows: int


class RateOut(Out, frozen=True):
    """EUR per unit of a currency from a date on."""

    currency: str
    valid_from: dt.date
    eur_per_unit: Decimal
    source: str
    illustrative: bool


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


_FIELDS = {"funder": "$.funder", "services": "$.services", "external_id": "$.external_id"}


@post(
    "/api/v1/funding",
    opt=roles(*LEDGER_ROLES),
    status_code=200,
    responses={201: ResponseSpec(ImportReport, description="added", generate_examples=False)},
)
async def add_funding(
    request: Request[Any, Any, Any], conn: Conn, principal: Caller, data: JSONBody[FundingIn]
) -> Response[ImportReport]:
    """Add (201) or update (200) one funding record; the answer is the import report.
    Honours an Idempotency-Key."""
    return await idempotent(
        request, conn, principal, lambda: _add_funding(conn, principal, data), status_code=200,
        required=False,
    )  # fmt: skip


async def _add_funding(
    conn: asyncpg.Connection, principal: Principal, data: FundingIn
) -> Response[ImportReport]:
    scope = await import_scope(conn, principal)
    funder_ref = data.funder
    if funder_ref is None and scope.funder_id is not None:
        funder_ref = await funding_db.funder_ref_of(conn, scope.funder_id)
    if funder_ref is None:
        raise InvalidInput("name the funder (its reference or name)", field="$.funder")
    if data.recipient_id is None and data.recipient_ref is None and data.recipient_name is None:
        raise InvalidInput("name the recipient", field="$.recipient_name")
    if not (data.amount.is_finite() and 0 <= data.amount <= MAX_AMOUNT):
        raise InvalidInput(f"amount must be 0 to {MAX_AMOUNT}", field="$.amount")
    if data.period_end < data.period_start:
        raise InvalidInput("period_end must not be before period_start", field="$.period_end")
    parsed = Parsed(format="api", rows_read=1, lines=[_line(data, funder_ref)], skips=[])
    report = await run_import(conn, parsed, source="api", scope=scope)
    if report.skips:
        skip = report.skips[0]
        if skip.field == "scope":
            raise Forbidden(skip.reason)
        raise InvalidInput(skip.reason, field=_FIELDS.get(skip.field or "", f"$.{skip.field}"))
    return Response(report, status_code=201 if report.imported else 200)


@post("/api/v1/funding/imports", opt=roles(*LEDGER_ROLES), status_code=200)
async def upload_funding(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    format: Annotated[
        str, QueryParameter(pattern=r"^(auto|iati|csv|360giving)$", description="file format")
    ] = "auto",
    dry_run: Annotated[bool, QueryParameter(description="report, save nothing")] = False,
    filename: Annotated[
        str | None, QueryParameter(max_length=200, pattern=r"^[^\x00/\\]*$")
    ] = None,
) -> Response[ImportReport]:
    """Upload a feed file as the request body (IATI XML, CSV/HXL, 360Giving JSON); report.
    Honours an Idempotency-Key (re-importing the same file adds nothing anyway)."""

    async def run() -> ImportReport:
        return await _upload(request, conn, principal, format, dry_run, filename)

    return await idempotent(request, conn, principal, run, status_code=200, required=False)


async def _upload(
    request: Request[Any, Any, Any],
    conn: asyncpg.Connection,
    principal: Principal,
    format: str,
    dry_run: bool,
    filename: str | None,
) -> ImportReport:
    body = await request.body()
    if not body.strip():
        raise InvalidInput("send the file as the request body", field="body")
    parsed = await anyio.to_thread.run_sync(functools.partial(parse, body, format, filename))
    scope = await import_scope(conn, principal)
    return await run_import(
        conn, parsed, source=parsed.format, scope=scope, filename=filename, dry_run=dry_run
    )


@get(
    "/api/v1/funding/imports/{import_id:uuid}",
    opt=roles(*LEDGER_ROLES),
    # The report is stored as the JSON it was answered with; it is sent as stored.
    responses={200: ResponseSpec(ImportReport, description="the report", generate_examples=False)},
)
async def get_funding_import(
    conn: Conn, principal: Caller, import_id: FromPath[uuid.UUID]
) -> Response[bytes]:
    """The stored report of an import (a funder token: only its own imports)."""
    record = await funding_db.get_import(conn, import_id)
    if record is None or (principal.role == "funder" and record.token_id != principal.id):
        raise NotFound(f"no import {import_id}")
    return Response(record.report.encode(), media_type="application/json")


@get("/api/v1/funding", opt=roles(*LEDGER_ROLES))
async def list_funding(
    conn: Conn,
    funder: Annotated[str | None, QueryParameter(max_length=100, description="funder ref")] = None,
    recipient: Annotated[uuid.UUID | None, QueryParameter(description="organisation id")] = None,
    participant: Annotated[str | None, QueryParameter(pattern=PARTICIPANT_PATTERN)] = None,
    status: Annotated[str | None, QueryParameter(pattern=one_of_pattern(FUNDING_STATUSES))] = None,
    source: Annotated[
        str | None, QueryParameter(pattern=r"^(seed|iati|csv|360giving|api)$")
    ] = None,
    active_on: Annotated[dt.date | None, QueryParameter(description="running on this day")] = None,
    unmatched: Annotated[bool, QueryParameter(description="recipient not matched")] = False,
    limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
) -> FundingList:
    """Ledger rows (newest period first) with their EUR amounts, and the EUR total."""
    flt = funding_db.LedgerFilter(
        funder_ref=funder, recipient_id=recipient, participant=participant, status=status,
        source=source, active_on=active_on, unmatched=unmatched, limit=limit, offset=offset,
    )  # fmt: skip
    entries, total, total_eur = await funding_db.list_ledger(conn, flt)
    return FundingList(
        items_page=Page(total=total, limit=limit, offset=offset),
        total_eur=total_eur,
        funding=[
            FundingOut(**{f: getattr(e, f) for f in FundingOut.__struct_fields__}) for e in entries
        ],
    )


def _review_out(review: funding_db.ReviewRow) -> ReviewOut:
    return ReviewOut(**{f: getattr(review, f) for f in ReviewOut.__struct_fields__})


@get("/api/v1/funding/matches", opt=roles(*REVIEWERS))
async def list_funding_matches(
    conn: Conn,
    status: Annotated[
        str | None, QueryParameter(pattern=r"^(pending|confirmed|rejected)$")
    ] = "pending",
) -> list[ReviewOut]:
    """Recipients not matched with confidence, most recently seen first."""
    return [_review_out(r) for r in await funding_db.list_reviews(conn, status=status)]


async def _decide(
    conn: asyncpg.Connection,
    principal: Principal,
    review_id: uuid.UUID,
    status: str,
    organization_id: uuid.UUID | None,
) -> ConfirmOut:
    review = await funding_db.get_review(conn, review_id)
    if review is None:
        raise NotFound(f"no review {review_id}")
    if status == "confirmed":
        org_id = organization_id or review.candidate_organization_id
        if org_id is None:
            raise InvalidInput("this review has no candidate: name one", field="$.organization_id")
        org = await get_organization(conn, org_id)
        if org is None:
            raise InvalidInput(f"no organisation {org_id}", field="$.organization_id")
        if not principal.covers(org.participant_code):
            raise Forbidden(f"a {principal.jurisdiction} token cannot link funding to {org.name}")
        organization_id = org_id
    async with conn.transaction():
        linked = await funding_db.decide_review(
            conn, review_id, status=status, organization_id=organization_id
        )
    decided = await funding_db.get_review(conn, review_id)
    assert decided is not None
    return ConfirmOut(review=_review_out(decided), linked_rows=linked)


@post("/api/v1/funding/matches/{review_id:uuid}/confirm", opt=roles(*REVIEWERS), status_code=200)
async def confirm_funding_match(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    review_id: FromPath[uuid.UUID],
    data: JSONBody[ConfirmIn],
) -> Response[ConfirmOut]:
    """Confirm the candidate (or the organisation given); links the recipient's funding rows.
    Honours an Idempotency-Key."""
    return await idempotent(
        request, conn, principal,
        lambda: _decide(conn, principal, review_id, "confirmed", data.organization_id),
        status_code=200, required=False,
    )  # fmt: skip


@post("/api/v1/funding/matches/{review_id:uuid}/reject", opt=roles(*REVIEWERS), status_code=200)
async def reject_funding_match(
    request: Request[Any, Any, Any], conn: Conn, principal: Caller, review_id: FromPath[uuid.UUID]
) -> Response[ConfirmOut]:
    """Reject: the recipient stays unmatched and is not proposed again. Honours an
    Idempotency-Key."""
    return await idempotent(
        request, conn, principal, lambda: _decide(conn, principal, review_id, "rejected", None),
        status_code=200, required=False,
    )  # fmt: skip


@get("/api/v1/funding/rates", opt=roles(*LEDGER_ROLES))
async def list_funding_rates(conn: Conn) -> list[RateOut]:
    """The EUR rates in use (``illustrative`` marks the shipped defaults)."""
    return [
        msgspec.convert(r, RateOut, from_attributes=True) for r in await funding_db.list_rates(conn)
    ]


FUNDING_ROUTES = [
    add_funding, upload_funding, get_funding_import, list_funding, list_funding_matches,
    confirm_funding_match, reject_funding_match, list_funding_rates,
]  # fmt: skip
