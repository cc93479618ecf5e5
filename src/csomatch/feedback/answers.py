"""A person's answer on the public page: the code is checked, spent, and the answer stored.

Nobody signs in. Each client address may try ``ATTEMPTS`` times per ``WINDOW`` (right or
wrong); past that it waits for the next window (429). A code that does not exist, or is not
a code at all, answers the same 404 whatever the reason; a code that was used or has expired
answers 410. The answer and the spending of the code are one transaction; the answer is
stored with its service and quarter only, and its score is counted in the service's track
record, which the matcher's feedback term reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Final

import asyncpg
import msgspec

from csomatch.db import feedback as feedback_db
from csomatch.db import track_records
from csomatch.errors import NotFound, RateLimited, Spent
from csomatch.feedback.codes import code_hash, normalised
from csomatch.gaps.periods import period_of
from csomatch.i18n import N_, _

#: Attempts one client address may make per window.
ATTEMPTS: Final = 10
WINDOW: Final = dt.timedelta(minutes=10)
#: The questions, in the order the page asks them.
QUESTIONS: Final = ("safe", "respected", "understood", "helped")
_UNKNOWN: Final = N_("no such feedback code: check the code on the card, letter by letter")


class Answers(msgspec.Struct, frozen=True, kw_only=True):
    """The four answers, each 1 (not at all) to 5 (completely); None: prefer not to say."""

    safe: int | None
    respected: int | None
    understood: int | None
    helped: int | None


def score_of(answers: Answers) -> int | None:
    """The one 1-5 score the matcher counts: the mean of the answered questions, rounded half up.

    None when every question was skipped (nothing is counted then).
    """
    given = [v for v in (answers.safe, answers.respected, answers.understood, answers.helped) if v]
    if not given:
        return None
    return (2 * sum(given) + len(given)) // (2 * len(given))


def _window_start(now: dt.datetime) -> dt.datetime:
    seconds = int(WINDOW.total_seconds())
    return dt.datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=dt.UTC)


async def count_attempt(conn: asyncpg.Connection, client: str, now: dt.datetime) -> None:
    """Count one attempt of a client address (in its own transaction); RateLimited past the limit.

    The address is kept as its SHA-256, for a day at most.
    """
    start = _window_start(now)
    digest = hashlib.sha256(client.encode("utf-8")).digest()
    async with conn.transaction():
        n = await feedback_db.count_attempt(conn, digest, start)
    if n > ATTEMPTS:
        wait = int((start + WINDOW - now).total_seconds()) + 1
        raise RateLimited(
            _(
                "too many tries from this connection; wait {value} minutes and try again",
                value=wait // 60 + 1,
            ),
            retry_after_s=wait,
        )


async def give_answer(
    conn: asyncpg.Connection, typed_code: str, answers: Answers, *, now: dt.datetime
) -> None:
    """Store an answer and spend its code (the caller's transaction holds both).

    NotFound: no such code. Spent: the code was used, or has expired.
    """
    code = normalised(typed_code)
    if code is None:
        raise NotFound(_(_UNKNOWN), field="$.code")
    hashed = code_hash(code)
    found = await feedback_db.lock_code(conn, hashed)
    if found is None:
        raise NotFound(_(_UNKNOWN), field="$.code")
    if found.spent_on is not None or found.expires_at <= now:
        raise Spent(_("this feedback code has been used or has expired"), field="$.code")
    cell = await feedback_db.service_cell(conn, found.service_id)
    if cell is None:
        raise NotFound(_(_UNKNOWN), field="$.code")
    score = score_of(answers)
    await feedback_db.insert_answer(
        conn,
        feedback_db.NewAnswer(
            service_id=found.service_id, taxonomy_code=cell[0], participant_code=cell[1],
            quarter=period_of(now.date(), "quarter").start, safe=answers.safe,
            respected=answers.respected, understood=answers.understood, helped=answers.helped,
            score=score,
        ),
    )  # fmt: skip
    await feedback_db.spend_code(conn, hashed, now.date())
    if score is not None:
        await track_records.record_feedback(conn, found.service_id, score)
