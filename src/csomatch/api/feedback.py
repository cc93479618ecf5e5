"""HTTP routes of the survivor's voice: issue a code, answer with it (public), read summaries."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from csomatch.api.aliases import either, field_named, old_name
from csomatch.api.auth import public, roles
from csomatch.api.deps import Caller, Cfg, Conn
from csomatch.api.idempotency import Answer, AuditAs, idempotent
from csomatch.api.problems import PROBLEM_JSON, Problem
from csomatch.api.schemas.feedback import (
    FeedbackAnswerIn,
    FeedbackCodeIn,
    FeedbackSpent,
    FeedbackSummaryOut,
    IssuedCodeOut,
)
from csomatch.domain import REFERRING
from csomatch.feedback import answers as answering
from csomatch.feedback.issue import issue_code
from csomatch.feedback.summary import READERS, feedback_summary


def _problem(why: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem, media_type=PROBLEM_JSON, description=why, generate_examples=False
    )


_TOO_MANY = _problem("Too many tries: wait `Retry-After` seconds.")
_ANSWER_PROBLEMS = {
    404: _problem("No such feedback code (the same answer whatever the reason)."),
    410: _problem("The feedback code has been used, or has expired."),
    429: _TOO_MANY,
}


def _without_code(answer: Answer) -> Answer:
    """What a replay of an issue gets: the same answer without the code (it is not kept)."""
    if isinstance(answer, IssuedCodeOut):
        return msgspec.structs.replace(answer, code=None, link=None, qr_svg=None)
    return answer


@post("/api/v1/referrals/{referral_id:uuid}/feedback-code", opt=roles(*REFERRING), status_code=201)
async def post_feedback_code(
    request: Request[Any, Any, Any],
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    referral_id: FromPath[uuid.UUID],
    data: JSONBody[FeedbackCodeIn],
) -> Response[Any]:
    """Issue a one-time feedback code for a need's placed service (in service, or closed placed).

    The referral's creator, or a coordinator or admin who oversees it (anyone else: 404).
    The answer holds the code, the public link and a QR code once: a replay of the request
    (same Idempotency-Key) answers the same without them. At most
    ``CSOMATCH_FEEDBACK_CODES_PER_DAY`` codes per token and day (429 beyond). Audited,
    without the code.
    """

    async def run() -> IssuedCodeOut:
        issued = await issue_code(
            conn, principal, referral_id, need=data.need, service_id=data.service_id,
            public_base=settings.public_base(), per_day=settings.feedback_codes_per_day,
            now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        return msgspec.convert(issued, IssuedCodeOut, from_attributes=True)

    return await idempotent(
        request, conn, principal, run, status_code=201, stored_as=_without_code,
        audit_as=AuditAs(action="feedback_code.issue", object_type="referral",
                         object_id=referral_id),
    )  # fmt: skip


@post("/api/v1/feedback", opt=public(), status_code=201, responses=_ANSWER_PROBLEMS)
async def post_feedback(
    request: Request[Any, Any, Any], conn: Conn, data: JSONBody[FeedbackAnswerIn]
) -> FeedbackSpent:
    """Answer with a feedback code, without signing in; the code is spent (public).

    404: no such code (whatever the reason). 410: the code was used or has expired. 429:
    more than 10 tries from one address in 10 minutes. No Idempotency-Key: the code itself
    makes the answer happen once.
    """
    now = dt.datetime.now(dt.UTC)
    client = request.client.host if request.client else "unknown"
    await answering.count_attempt(conn, client, now)
    values = answering.Answers(
        safe=data.safe, respected=data.respected, understood=data.understood, helped=data.helped
    )
    async with conn.transaction():
        await answering.give_answer(conn, data.code, values, now=now)
    return FeedbackSpent(spent=True)


@get("/api/v1/feedback/summary", opt=roles(*READERS))
async def get_feedback_summary(
    conn: Conn,
    principal: Caller,
    by: Annotated[
        str, QueryParameter(pattern=r"^(service|code)$", description="service or code")
    ] = "service",
    period: Annotated[
        str | None,
        QueryParameter(
            pattern=r"^\d{4}-Q[1-4]$", description="a closed quarter (default: the last four)"
        ),
    ] = None,
    quarter: Annotated[str | None, old_name("period", pattern=r"^\d{4}-Q[1-4]$")] = None,
) -> FeedbackSummaryOut:
    """What survivors said, summed per service or per service code and participant.

    Closed quarters only; a cell only with at least 5 answers (``suppressed`` counts the
    others). Providers: their own services; coordinators, admins: their jurisdiction;
    funders: by code only.
    """
    chosen = either(period, quarter, new_name="period", old_name="quarter")
    with field_named("quarter", "period", new_sent=period is not None):
        found = await feedback_summary(
            conn, principal, by="service" if by == "service" else "code", quarter=chosen,
            today=dt.datetime.now(dt.UTC).date(),
        )  # fmt: skip
    return msgspec.convert(found, FeedbackSummaryOut, from_attributes=True)


FEEDBACK_ROUTES = [post_feedback_code, post_feedback, get_feedback_summary]
