"""Feedback codes, their answers and the counters that rate-limit them (migration 0076).

A code is stored as its SHA-256 only; an answer names its service and quarter, never its
code or a referral (docs/feedback.md).
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

from csomatch.db.errors import translated


class CodeState(msgspec.Struct, frozen=True, kw_only=True):
    """What the database knows of a code: its service, and whether it may still be used."""

    service_id: uuid.UUID
    expires_at: dt.datetime
    spent_on: dt.date | None


class NewAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """One answer to store: the service as it is now, the quarter, the four values."""

    service_id: uuid.UUID
    taxonomy_code: str
    participant_code: str
    quarter: dt.date
    safe: int | None
    respected: int | None
    understood: int | None
    helped: int | None
    score: int | None


class AnswerCell(msgspec.Struct, frozen=True, kw_only=True):
    """The answers of one cell (a service, or a code and participant) in one quarter."""

    quarter: dt.date
    service_id: uuid.UUID | None
    service_name: str | None
    organization_name: str | None
    taxonomy_code: str
    participant_code: str
    answers: int
    safe_n: int
    safe_sum: int
    respected_n: int
    respected_sum: int
    understood_n: int
    understood_sum: int
    helped_n: int
    helped_sum: int


async def issued_today(conn: asyncpg.Connection, token_id: uuid.UUID, day: dt.date) -> int:
    """Count one more code issued by a token on ``day``; the count including this one.

    The token's counts of earlier days are deleted on the way.
    """
    async with translated():
        await conn.execute(
            "DELETE FROM feedback_issue_count WHERE token_id = $1 AND day < $2", token_id, day
        )
        n = await conn.fetchval(
            "INSERT INTO feedback_issue_count AS c (token_id, day, n) VALUES ($1, $2, 1)"
            " ON CONFLICT (token_id, day) DO UPDATE SET n = c.n + 1 RETURNING n",
            token_id,
            day,
        )
    return int(n)


async def insert_code(
    conn: asyncpg.Connection,
    code_hash: bytes,
    service_id: uuid.UUID,
    *,
    quarter: dt.date,
    issued_on: dt.date,
    expires_at: dt.datetime,
) -> None:
    """Store a new code's hash for a service; codes expired 30 days ago are deleted.

    (Until then an expired or used code answers 410, after it 404.)
    """
    async with translated():
        await conn.execute("DELETE FROM feedback_code WHERE expires_at < $1::date - 30", issued_on)
        await conn.execute(
            "INSERT INTO feedback_code (code_hash, service_id, quarter, issued_on, expires_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            code_hash,
            service_id,
            quarter,
            issued_on,
            expires_at,
        )


async def lock_code(conn: asyncpg.Connection, code_hash: bytes) -> CodeState | None:
    """The code with this hash, locked until the transaction ends; None if there is none."""
    async with translated():
        row = await conn.fetchrow(
            "SELECT service_id, expires_at, spent_on FROM feedback_code"
            " WHERE code_hash = $1 FOR UPDATE",
            code_hash,
        )
    return None if row is None else msgspec.convert(row, CodeState, from_attributes=True)


async def spend_code(conn: asyncpg.Connection, code_hash: bytes, day: dt.date) -> None:
    """Mark a code used on ``day``."""
    async with translated():
        await conn.execute(
            "UPDATE feedback_code SET spent_on = $2 WHERE code_hash = $1", code_hash, day
        )


async def service_cell(conn: asyncpg.Connection, service_id: uuid.UUID) -> tuple[str, str] | None:
    """A service's taxonomy code and participant now; None if it is gone."""
    async with translated():
        row = await conn.fetchrow(
            "SELECT s.taxonomy_code, a.participant_code FROM service s"
            " JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code"
            " WHERE s.id = $1",
            service_id,
        )
    return None if row is None else (row["taxonomy_code"], row["participant_code"])


async def insert_answer(conn: asyncpg.Connection, answer: NewAnswer) -> None:
    """Store one answer (no code, no referral, no time of day)."""
    async with translated():
        await conn.execute(
            "INSERT INTO feedback_answer (service_id, taxonomy_code, participant_code, quarter,"
            " safe, respected, understood, helped, score)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            answer.service_id,
            answer.taxonomy_code,
            answer.participant_code,
            answer.quarter,
            answer.safe,
            answer.respected,
            answer.understood,
            answer.helped,
            answer.score,
        )


async def count_attempt(
    conn: asyncpg.Connection, client_hash: bytes, window_start: dt.datetime
) -> int:
    """Count one attempt of a client in a window; the count including it.

    Windows older than a day are deleted on the way.
    """
    async with translated():
        await conn.execute(
            "DELETE FROM feedback_attempt WHERE window_start < $1::timestamptz - interval '1 day'",
            window_start,
        )
        n = await conn.fetchval(
            "INSERT INTO feedback_attempt AS a (client_hash, window_start, n) VALUES ($1, $2, 1)"
            " ON CONFLICT (client_hash, window_start) DO UPDATE SET n = a.n + 1 RETURNING n",
            client_hash,
            window_start,
        )
    return int(n)


_SUMS = (
    " count(*)::integer AS answers,"
    " count(f.safe)::integer AS safe_n, coalesce(sum(f.safe), 0)::integer AS safe_sum,"
    " count(f.respected)::integer AS respected_n,"
    " coalesce(sum(f.respected), 0)::integer AS respected_sum,"
    " count(f.understood)::integer AS understood_n,"
    " coalesce(sum(f.understood), 0)::integer AS understood_sum,"
    " count(f.helped)::integer AS helped_n, coalesce(sum(f.helped), 0)::integer AS helped_sum"
)
# The scope: quarters [$1, $2), participant $3 (NULL: every one), organisation $4 (NULL: any).
_SCOPE = (
    " WHERE f.quarter >= $1 AND f.quarter < $2"
    " AND ($3::text IS NULL OR f.participant_code = $3::text)"
    " AND ($4::uuid IS NULL OR s.organization_id = $4::uuid)"
)
_BY_SERVICE = (
    "SELECT f.quarter, f.service_id, s.name AS service_name, o.name AS organization_name,"
    " f.taxonomy_code, f.participant_code," + _SUMS + " FROM feedback_answer f"
    " JOIN service s ON s.id = f.service_id JOIN organization o ON o.id = s.organization_id"
    + _SCOPE
    + " GROUP BY f.quarter, f.service_id, s.name, o.name, f.taxonomy_code, f.participant_code"
    " ORDER BY f.quarter, f.participant_code, f.taxonomy_code, s.name, f.service_id"
)
_BY_CODE = (
    "SELECT f.quarter, NULL::uuid AS service_id, NULL::text AS service_name,"
    " NULL::text AS organization_name, f.taxonomy_code, f.participant_code,"
    + _SUMS
    + " FROM feedback_answer f JOIN service s ON s.id = f.service_id"
    + _SCOPE
    + " GROUP BY f.quarter, f.taxonomy_code, f.participant_code"
    " ORDER BY f.quarter, f.participant_code, f.taxonomy_code"
)


async def answer_cells(
    conn: asyncpg.Connection,
    *,
    by_service: bool,
    since: dt.date,
    before: dt.date,
    participant: str | None,
    organization_id: uuid.UUID | None,
) -> list[AnswerCell]:
    """Answers summed per quarter and service (or code and participant), within a scope."""
    async with translated():
        rows = await conn.fetch(
            _BY_SERVICE if by_service else _BY_CODE, since, before, participant, organization_id
        )
    return msgspec.convert(rows, list[AnswerCell], from_attributes=True)
