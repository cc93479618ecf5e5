"""Idempotent POSTs, implemented once: every referral or hold change goes through ``idempotent``.

A POST that creates or changes a referral or a hold must carry an ``Idempotency-Key``
(400 without). The key is scoped to the caller's token. The first request takes a
transaction-scoped advisory lock on (token, key) and runs the change in a savepoint of the
same transaction that stores its answer, so the answer is stored exactly when the change
commits. A retry with the same key and the same request gets the stored answer (same status
and body, header ``Idempotent-Replayed: true``) and changes nothing; the same key with
another request answers 422; a retry while the first is still running answers 409.
Refusals (4xx) are stored too; a 503 (database unreachable) is not, so a retry runs again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response

from csomatch.api.problems import PROBLEM_JSON, locate, problem, status_of
from csomatch.db import idempotency as idem_db
from csomatch.db.tokens import TokenRecord
from csomatch.errors import CsomatchError, DatabaseUnavailable
from csomatch.referrals.access import audit, outcome_of

HEADER = "Idempotency-Key"
MAX_KEY = 200


class AuditAs(msgspec.Struct, frozen=True, kw_only=True):
    """How a refused request is written to the audit log."""

    action: str
    object_type: str
    object_id: Any = None


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    """SHA-256 of the method, path and body (JSON compared by meaning, not by spacing)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, RecursionError):  # not JSON, or nested too deep to compare by meaning
        canonical = body
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + canonical).digest()


def _replay(answer: idem_db.StoredAnswer) -> Response[bytes]:
    media = PROBLEM_JSON if answer.status >= 400 else "application/json"
    return Response(
        answer.body,
        status_code=answer.status,
        media_type=media,
        headers={"Idempotent-Replayed": "true"},
    )


async def idempotent(
    request: Request[Any, Any, Any],
    conn: asyncpg.Connection,
    principal: TokenRecord,
    run: Callable[[], Awaitable[msgspec.Struct]],
    *,
    status_code: int,
    audit_as: AuditAs,
) -> Response[Any]:
    """Run a change at most once per (token, Idempotency-Key); replay its first answer."""
    key = request.headers.get(HEADER.lower(), "").strip()
    if not key or len(key) > MAX_KEY:
        return problem(
            400,
            "Bad request",
            f"send an {HEADER} header (1-{MAX_KEY} characters, e.g. a UUID) with every POST "
            "that creates or changes a referral or a hold; a retry reuses it",
            field=HEADER,
        )
    body = await request.body()
    fp = fingerprint(request.method, request.url.path, body)
    async with conn.transaction():
        if not await idem_db.try_lock(conn, principal.id, key):
            return problem(
                409, "Conflict", f"a request with this {HEADER} is still being processed; "
                "retry in a moment", field=HEADER,
            )  # fmt: skip
        found = await idem_db.find_answer(conn, principal.id, key)
        if found is not None:
            if found.fingerprint != fp:
                return problem(
                    422, "Invalid input", f"this {HEADER} was used for another request; "
                    "use a new key for a new request", field=HEADER,
                )  # fmt: skip
            return _replay(found)
        try:
            async with conn.transaction():
                result = await run()
                content = msgspec.json.encode(result)
                await idem_db.store_answer(
                    conn, principal.id, key,
                    idem_db.StoredAnswer(fingerprint=fp, status=status_code, body=content),
                )  # fmt: skip
        except DatabaseUnavailable:
            raise
        except CsomatchError as exc:
            status, problem_body = _refusal(exc, request)
            await idem_db.store_answer(
                conn, principal.id, key,
                idem_db.StoredAnswer(fingerprint=fp, status=status, body=problem_body),
            )  # fmt: skip
            await audit(
                conn, principal, audit_as.action, audit_as.object_type, audit_as.object_id,
                outcome_of(exc),
            )  # fmt: skip
            return Response(problem_body, status_code=status, media_type=PROBLEM_JSON)
    return Response(content, status_code=status_code, media_type="application/json")


def _refusal(exc: CsomatchError, request: Request[Any, Any, Any]) -> tuple[int, bytes]:
    """The status and problem-details body of a refused change."""
    status, title = status_of(exc)
    extra: dict[str, object] = {"field": locate(exc.field, request)} if exc.field else {}
    free = getattr(exc, "free", msgspec.UNSET)
    if free is not msgspec.UNSET:
        extra["free_places"] = free
    return status, msgspec.json.encode(problem(status, title, exc.detail, **extra).content)
