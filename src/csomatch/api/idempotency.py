"""Idempotent POSTs, implemented once: every POST route goes through ``idempotent``.

Every POST honours an ``Idempotency-Key`` when one is sent; a POST that creates or changes
a referral or a hold must carry one (400 without). A key is a UUID or 16-128 letters,
digits, ``-`` or ``_`` (anything else: 400 naming ``header.Idempotency-Key``); it is scoped
to the caller's token and stored only as its SHA-256. The first request takes a
transaction-scoped advisory lock on (token, key) and runs the change in a savepoint of the
same transaction that stores its answer, so the answer is stored exactly when the change
commits. A retry with the same key and the same request (method, path, query, JSON body by
meaning) gets the stored answer (same status, body and ``ETag``, header
``Idempotent-Replayed: true``) and changes nothing; the same key with another request answers
422; a retry while the first is still running answers 409. Refusals (4xx) are stored too; a
503 (database unreachable) and a 429 (rate limit) are not, so a retry runs again.

The protocol itself (lock, look-up, savepoint, stored answer) is
:func:`csomatch.idempotency.run_once`; this module is its HTTP side.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.serialization import encode_json

from csomatch.api.problems import PROBLEM_JSON, problem, problem_members, status_of
from csomatch.domain import Principal
from csomatch.errors import CsomatchError
from csomatch.i18n import N_, _
from csomatch.idempotency import AuditAs, Busy, Replayed, Reused, StoredAnswer, run_once

# ``AuditAs`` is named here too: the routes say how a refusal is audited when they call this.
__all__ = [
    "FIELD",
    "HEADER",
    "KEY_FORMAT",
    "REPLAYED_HEADERS",
    "Answer",
    "AuditAs",
    "fingerprint",
    "idempotent",
    "key_problem",
]

HEADER: Final = "Idempotency-Key"
#: Where a problem about the key points (STYLE: headers are named ``header.<Name>``).
FIELD: Final = f"header.{HEADER}"
#: A UUID (36 characters of hex digits and hyphens) fits this too.
KEY_FORMAT: Final = re.compile(r"[A-Za-z0-9_-]{16,128}")
#: Headers of a first answer that a replay repeats.
REPLAYED_HEADERS: Final = ("etag", "location")
_HOW = N_("a UUID, or 16-128 letters, digits, '-' or '_'")

#: What a change returns: its answer, or a Response to set the status or headers (ETag).
Answer = msgspec.Struct | Response[Any]


def fingerprint(method: str, path: str, body: bytes, query: str = "") -> bytes:
    """SHA-256 of the method, path, query and body (JSON compared by meaning, not spacing)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deep to compare by meaning
        canonical = body
    target = path + (f"?{query}" if query else "")
    return hashlib.sha256(method.encode() + b" " + target.encode() + b"\n" + canonical).digest()


def key_problem(key: str | None, *, required: bool) -> Response[dict[str, object]] | None:
    """The 400 for a missing (when required) or malformed key, or None when it is fine."""
    if key is None:
        if not required:
            return None
        return problem(
            400, "Bad request", _("send an {header} header ({how}) with every POST that creates "
            "or changes a referral or a hold; a retry reuses it", header=HEADER, how=_(_HOW)),
            field=FIELD,
        )  # fmt: skip
    if KEY_FORMAT.fullmatch(key) is None:
        return problem(
            400, "Bad request", _("an {header} is {how}: send a new UUID (e.g. from uuidgen) "
            "and reuse it when you retry the same request", header=HEADER, how=_(_HOW)),
            field=FIELD,
        )  # fmt: skip
    return None


def _replay(answer: StoredAnswer) -> Response[bytes]:
    media = PROBLEM_JSON if answer.status >= 400 else "application/json"
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=media,
        headers={**answer.headers, "Idempotent-Replayed": "true"},
    )


def _stored(result: Answer, status_code: int, fp: bytes) -> StoredAnswer:
    """The answer to store (and send) for a change's result."""
    if isinstance(result, Response):
        headers = {k: v for k, v in result.headers.items() if k.lower() in REPLAYED_HEADERS}
        return StoredAnswer(
            fingerprint=fp, status=result.status_code or status_code,
            body=encode_json(result.content),
            headers=headers,
        )  # fmt: skip
    return StoredAnswer(fingerprint=fp, status=status_code, body=encode_json(result))


async def idempotent(
    request: Request[Any, Any, Any],
    conn: asyncpg.Connection,
    principal: Principal,
    run: Callable[[], Awaitable[Answer]],
    *,
    status_code: int,
    audit_as: AuditAs | None = None,
    required: bool = True,
    stored_as: Callable[[Answer], Answer] | None = None,
) -> Response[Any]:
    """Run a change at most once per (token, Idempotency-Key); replay its first answer.

    ``required``: refuse a request without a key (referrals and holds); otherwise a request
    without one simply runs. ``audit_as``: how a refusal is written to the audit log (routes
    of referral data), none for the others. ``stored_as``: what of a successful answer is
    kept for a replay, when the first answer holds a secret shown only once (a feedback
    code): the first request gets the whole answer, a replay the stored one.
    """
    key = request.headers.get(HEADER.lower())
    if (refused := key_problem(key, required=required)) is not None:
        return refused
    if key is None:
        result = await run()
        if isinstance(result, Response):
            return result
        return Response(result, status_code=status_code)
    body = await request.body()
    fp = fingerprint(request.method, request.url.path, body, request.url.query)

    first: list[Answer] = []

    async def change() -> StoredAnswer:
        result = await run()
        if stored_as is None:
            return _stored(result, status_code, fp)
        first.append(result)
        return _stored(stored_as(result), status_code, fp)

    def refusal(exc: CsomatchError) -> StoredAnswer:
        status, problem_body = _refusal(exc, request)
        return StoredAnswer(fingerprint=fp, status=status, body=problem_body)

    outcome = await run_once(conn, principal, key, fp, change, refusal, audit_as=audit_as)
    if isinstance(outcome, Busy):
        return problem(
            409, "Conflict", _("a request with this {header} is still being processed; "
            "retry in a moment", header=HEADER), field=FIELD,
        )  # fmt: skip
    if isinstance(outcome, Reused):
        return problem(
            422, "Invalid input", _("this {header} was used for another request; "
            "use a new key for a new request", header=HEADER), field=FIELD,
        )  # fmt: skip
    if isinstance(outcome, Replayed):
        return _replay(outcome.answer)
    answer = outcome.answer
    if outcome.refused:
        return Response(answer.body, status_code=answer.status, media_type=PROBLEM_JSON)
    if first:
        return Response(encode_json(first[0]), status_code=answer.status,
                        media_type="application/json", headers=answer.headers)  # fmt: skip
    return Response(
        answer.body, status_code=answer.status, media_type="application/json",
        headers=answer.headers,
    )  # fmt: skip


def _refusal(exc: CsomatchError, request: Request[Any, Any, Any]) -> tuple[int, bytes]:
    """The status and problem-details body of a refused change."""
    status, title = status_of(exc)
    extra = problem_members(exc, request)
    return status, msgspec.json.encode(problem(status, title, exc.detail, **extra).content)
