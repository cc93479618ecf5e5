"""HTTP routes of the funding ledger: add a record, upload a feed, list, review matches.

Funding rows are money, not person data: funders, coordinators and admins may read the
ledger. Who may add what is ``csomatch.funding.ledger``'s rule (docs/funding.md).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Conn
from csomatch.api.idempotency import idempotent
from csomatch.api.schemas.registry import In, Out, Page
from csomatch.domain import (
    COORDINATING,
    FUNDING_STATUSES,
    PARTICIPANT_PATTERN,
    Principal,
    Role,
    one_of_pattern,
)
from csomatch.funding import entries, imports, rates, reviews
from csomatch.funding.entries import FundingIn
from csomatch.funding.ledger import ImportReport

LEDGER_ROLES: tuple[Role, ...] = ("funder", *COORDINATING)
REVIEWERS = COORDINATING


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

    Honours an Idempotency-Key.
    """

    async def run() -> Response[ImportReport]:
        report = await entries.add_entry(conn, principal, data)
        return Response(report, status_code=201 if report.imported else 200)

    return await idempotent(request, conn, principal, run, status_code=200, required=False)


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

    Honours an Idempotency-Key (re-importing the same file adds nothing anyway).
    """

    async def run() -> ImportReport:
        return await imports.upload_feed(
            conn, principal, await request.body(), fmt=format, filename=filename,
            dry_run=dry_run,
        )  # fmt: skip

    return await idempotent(request, conn, principal, run, status_code=200, required=False)


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
    report = await imports.import_report(conn, principal, import_id)
    return Response(report.encode(), media_type="application/json")


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
    found, total, total_eur = await entries.list_entries(
        conn, funder_ref=funder, recipient_id=recipient, participant=participant,
        status=status, source=source, active_on=active_on, unmatched=unmatched, limit=limit,
        offset=offset,
    )  # fmt: skip
    return FundingList(
        items_page=Page(total=total, limit=limit, offset=offset),
        total_eur=total_eur,
        funding=[msgspec.convert(e, FundingOut, from_attributes=True) for e in found],
    )


@get("/api/v1/funding/matches", opt=roles(*REVIEWERS))
async def list_funding_matches(
    conn: Conn,
    status: Annotated[
        str | None, QueryParameter(pattern=r"^(pending|confirmed|rejected)$")
    ] = "pending",
) -> list[ReviewOut]:
    """Recipients not matched with confidence, most recently seen first."""
    found = await reviews.list_reviews(conn, status=status)
    return [msgspec.convert(r, ReviewOut, from_attributes=True) for r in found]


async def _decide(
    conn: asyncpg.Connection,
    principal: Principal,
    review_id: uuid.UUID,
    status: str,
    organization_id: uuid.UUID | None,
) -> ConfirmOut:
    async with conn.transaction():
        decision = await reviews.decide(conn, principal, review_id, status, organization_id)
    return msgspec.convert(decision, ConfirmOut, from_attributes=True)


@post("/api/v1/funding/matches/{review_id:uuid}/confirm", opt=roles(*REVIEWERS), status_code=200)
async def confirm_funding_match(
    request: Request[Any, Any, Any],
    conn: Conn,
    principal: Caller,
    review_id: FromPath[uuid.UUID],
    data: JSONBody[ConfirmIn],
) -> Response[ConfirmOut]:
    """Confirm the candidate (or the organisation given); links the recipient's funding rows.

    Honours an Idempotency-Key.
    """
    return await idempotent(
        request, conn, principal,
        lambda: _decide(conn, principal, review_id, "confirmed", data.organization_id),
        status_code=200, required=False,
    )  # fmt: skip


@post("/api/v1/funding/matches/{review_id:uuid}/reject", opt=roles(*REVIEWERS), status_code=200)
async def reject_funding_match(
    request: Request[Any, Any, Any], conn: Conn, principal: Caller, review_id: FromPath[uuid.UUID]
) -> Response[ConfirmOut]:
    """Reject: the recipient stays unmatched and is not proposed again.

    Honours an Idempotency-Key.
    """
    return await idempotent(
        request, conn, principal, lambda: _decide(conn, principal, review_id, "rejected", None),
        status_code=200, required=False,
    )  # fmt: skip


@get("/api/v1/funding/rates", opt=roles(*LEDGER_ROLES))
async def list_funding_rates(conn: Conn) -> list[RateOut]:
    """The EUR rates in use (``illustrative`` marks the shipped defaults)."""
    return [msgspec.convert(r, RateOut, from_attributes=True) for r in await rates.list_rates(conn)]


FUNDING_ROUTES = [
    add_funding, upload_funding, get_funding_import, list_funding, list_funding_matches,
    confirm_funding_match, reject_funding_match, list_funding_rates,
]  # fmt: skip
