"""Idempotent changes: the first answer to a (token, key), stored with the change it gives.

The protocol, implemented once (``api.idempotency`` turns a request into it, and its outcome
into an HTTP answer): the first request with a key takes a transaction-scoped advisory lock
on (token, key) and runs the change in a savepoint of the same transaction that stores its
answer, so the answer is stored exactly when the change commits. A retry with the same key
and the same request (the same fingerprint) gets the stored answer and changes nothing; the
same key with another request is refused; a retry while the first still runs is refused.
Refusals (a domain error) are stored too, and audited when the caller says how; a database
outage is not stored, so a retry runs again. Keys are stored as their SHA-256 only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import msgspec

from csomatch.db import idempotency as idem_db
from csomatch.db.idempotency import StoredAnswer
from csomatch.domain import Principal
from csomatch.errors import CsomatchError, DatabaseUnavailable, RateLimited
from csomatch.referrals.access import audit, outcome_of

__all__ = [
    "AuditAs",
    "Busy",
    "Replayed",
    "Reused",
    "Stored",
    "StoredAnswer",
    "run_once",
]


class AuditAs(msgspec.Struct, frozen=True, kw_only=True):
    """How a refused request is written to the audit log."""

    action: str
    object_type: str
    object_id: Any = None


class Busy(msgspec.Struct, frozen=True, kw_only=True):
    """A request with this key is still being processed."""


class Reused(msgspec.Struct, frozen=True, kw_only=True):
    """The key was used for another request (another fingerprint)."""


class Replayed(msgspec.Struct, frozen=True, kw_only=True):
    """The stored first answer of the same request."""

    answer: StoredAnswer


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    """This request ran now; its answer (or its refusal) is stored with its effect."""

    answer: StoredAnswer
    refused: bool


async def run_once(
    conn: asyncpg.Connection,
    principal: Principal,
    key: str,
    fingerprint: bytes,
    change: Callable[[], Awaitable[StoredAnswer]],
    refusal: Callable[[CsomatchError], StoredAnswer],
    *,
    audit_as: AuditAs | None = None,
) -> Busy | Reused | Replayed | Stored:
    """Run ``change`` at most once per (token, key), in a transaction of its own.

    Args:
        conn: the connection the change and its stored answer are written on.
        principal: the caller, whose token the key belongs to.
        key: the client's Idempotency-Key.
        fingerprint: what identifies the request (a retry must bring the same).
        change: the change; its answer is stored with it.
        refusal: the answer to store for a refused change (a domain error).
        audit_as: how a refusal is written to the audit log (routes of referral data).
    """
    async with conn.transaction():
        if not await idem_db.try_lock(conn, principal.id, key):
            return Busy()
        found = await idem_db.find_answer(conn, principal.id, key)
        if found is not None:
            return Replayed(answer=found) if found.fingerprint == fingerprint else Reused()
        try:
            async with conn.transaction():
                answer = await change()
                await idem_db.store_answer(conn, principal.id, key, answer)
        except (DatabaseUnavailable, RateLimited):
            # Not stored: a retry with the same key, later, runs again.
            raise
        except CsomatchError as exc:
            answer = refusal(exc)
            await idem_db.store_answer(conn, principal.id, key, answer)
            if audit_as is not None:
                await audit(
                    conn, principal, audit_as.action, audit_as.object_type, audit_as.object_id,
                    outcome_of(exc),
                )  # fmt: skip
            return Stored(answer=answer, refused=True)
    return Stored(answer=answer, refused=False)
