"""What survivors said, summed: per service, or per service code and participant.

Only quarters that are over are shown (an answer counts in the quarter it was given in, so a
closed quarter never changes), and only cells of at least ``THRESHOLD`` answers (the gap
analysis's small-cell rule); within a cell, a question's mean only when at least
``THRESHOLD`` people answered it. A provider sees its own services; a coordinator or an
admin those of their jurisdiction; a funder only service codes by participant.

A caller who reads both views could subtract the services shown from their code's cell and
learn what the hidden ones said: a code cell is therefore shown to such a caller only when
the services hidden inside it hold no answers or at least ``THRESHOLD`` together
(complementary suppression, as in the gap analysis). A funder reads no service cells.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Final, Literal

import asyncpg
import msgspec

from csomatch.db import feedback as feedback_db
from csomatch.domain import Principal, Role
from csomatch.errors import Forbidden, InvalidInput
from csomatch.gaps.periods import is_closed, last_closed, last_periods, parse_period
from csomatch.gaps.suppression import THRESHOLD
from csomatch.i18n import _

#: Who may read the summaries.
READERS: Final[tuple[Role, ...]] = ("provider", "coordinator", "admin", "funder")
#: Closed quarters shown when none is asked for.
DEFAULT_QUARTERS: Final = 4
By = Literal["service", "code"]


class FeedbackCell(msgspec.Struct, frozen=True, kw_only=True):
    """One cell's answers in one quarter: how many, and each question's mean (1-5)."""

    quarter: str
    #: The service (``by=service``; None by code).
    service_id: uuid.UUID | None
    service_name: str | None
    organization_name: str | None
    taxonomy_code: str
    participant: str
    answers: int
    #: Means, to one decimal; None when fewer than ``threshold`` people answered it.
    safe: float | None
    respected: float | None
    understood: float | None
    helped: float | None


class FeedbackSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The cells shown and how many were withheld for having fewer answers than ``threshold``."""

    by: By
    quarters: list[str]
    threshold: int
    cells: list[FeedbackCell]
    suppressed: int


def _mean(n: int, total: int) -> float | None:
    return round(total / n, 1) if n >= THRESHOLD else None


def _label(quarter: dt.date) -> str:
    return f"{quarter.year:04d}-Q{(quarter.month - 1) // 3 + 1}"


def _cell(c: feedback_db.AnswerCell) -> FeedbackCell:
    return FeedbackCell(
        quarter=_label(c.quarter), service_id=c.service_id, service_name=c.service_name,
        organization_name=c.organization_name, taxonomy_code=c.taxonomy_code,
        participant=c.participant_code, answers=c.answers,
        safe=_mean(c.safe_n, c.safe_sum), respected=_mean(c.respected_n, c.respected_sum),
        understood=_mean(c.understood_n, c.understood_sum),
        helped=_mean(c.helped_n, c.helped_sum),
    )  # fmt: skip


def _recoverable(cell: FeedbackCell, services: list[feedback_db.AnswerCell]) -> bool:
    """Whether showing ``cell`` would let its hidden services' few answers be subtracted out."""
    hidden = sum(
        s.answers
        for s in services
        if s.answers < THRESHOLD
        and _label(s.quarter) == cell.quarter
        and s.taxonomy_code == cell.taxonomy_code
        and s.participant_code == cell.participant
    )
    return 0 < hidden < THRESHOLD


def _quarters(quarter: str | None, today: dt.date) -> list[str]:
    """The labels of the quarters asked for: one closed quarter, or the last few."""
    if quarter is None:
        newest = last_closed(today, "quarter")
        return [p.label for p in last_periods(newest.start, "quarter", DEFAULT_QUARTERS)]
    period = parse_period(quarter, field="quarter")
    if "Q" not in period.label:
        raise InvalidInput(
            _("{quarter} is not a quarter (YYYY-Qn)", quarter=repr(quarter)), field="quarter"
        )
    if not is_closed(period, today):
        raise InvalidInput(
            _(
                "quarter {quarter} is not over yet: its feedback shows once it has ended",
                quarter=quarter,
            ),
            field="quarter",
        )
    return [period.label]


async def feedback_summary(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    by: By,
    quarter: str | None,
    today: dt.date,
) -> FeedbackSummary:
    """The caller's cells of closed quarters with at least ``THRESHOLD`` answers.

    Forbidden: a funder asking by service. InvalidInput: a quarter not over yet.
    """
    if principal.role == "funder" and by == "service":
        raise Forbidden(
            _("a funder sees feedback per service code and participant: ask with by=code"),
            field="by",
        )
    labels = _quarters(quarter, today)
    first, last = parse_period(labels[0]), parse_period(labels[-1])
    provider = principal.role == "provider"
    found = await feedback_db.answer_cells(
        conn, by_service=by == "service", since=first.start, before=last.end,
        participant=None if provider else principal.participant(),
        organization_id=principal.organization_id if provider else None,
    )  # fmt: skip
    shown = [_cell(c) for c in found if c.answers >= THRESHOLD]
    if by == "code" and principal.role != "funder":
        services = await feedback_db.answer_cells(
            conn, by_service=True, since=first.start, before=last.end,
            participant=None if provider else principal.participant(),
            organization_id=principal.organization_id if provider else None,
        )  # fmt: skip
        shown = [c for c in shown if not _recoverable(c, services)]
    return FeedbackSummary(
        by=by, quarters=labels, threshold=THRESHOLD, cells=shown,
        suppressed=len(found) - len(shown),
    )  # fmt: skip
