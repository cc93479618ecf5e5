"""What leaves the feedback routes: a new code (once), and summaries of closed quarters."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from msgspec import Meta

from csomatch.api.schemas.registry import In, Out

#: One answer: 1 (not at all) to 5 (completely).
Scale = Annotated[int, Meta(ge=1, le=5)]
#: A code as typed: its 16 characters, perhaps in groups.
TypedCode = Annotated[str, Meta(min_length=16, max_length=40, pattern=r"^[0-9A-Za-z \-]+$")]


class FeedbackCodeIn(In, frozen=True):
    """Which need's placed service a code is for (``service_id``: a check, optional)."""

    need: Annotated[int, Meta(ge=0, le=100)]
    service_id: uuid.UUID | None = None


class IssuedCodeOut(Out, frozen=True):
    """A new feedback code: shown in this answer only (a retry gets ``code`` etc. as null)."""

    referral_id: uuid.UUID
    need: int
    service_id: uuid.UUID
    #: ``XXXX-XXXX-XXXX-XXXX``; null in a replay of the request (the code is not kept).
    code: str | None
    #: The public page with the code: ``CSOMATCH_PUBLIC_URL/feedback/<code>``.
    link: str | None
    #: The link as a QR code (an SVG document).
    qr_svg: str | None
    #: The last day (UTC) the code can be used.
    valid_until: dt.date


class FeedbackAnswerIn(In, frozen=True):
    """A person's answers: the code and four values 1-5 (null: prefer not to say); no text."""

    code: TypedCode
    safe: Scale | None
    respected: Scale | None
    understood: Scale | None
    helped: Scale | None


class FeedbackSpent(Out, frozen=True):
    """The answer was stored and the code is spent."""

    spent: bool


class FeedbackCellOut(Out, frozen=True):
    """One cell of a closed quarter with at least ``threshold`` answers."""

    quarter: str
    service_id: uuid.UUID | None
    service_name: str | None
    organization_name: str | None
    taxonomy_code: str
    participant: str
    answers: int
    safe: float | None
    respected: float | None
    understood: float | None
    helped: float | None


class FeedbackSummaryOut(Out, frozen=True):
    """Cells shown, and how many cells had answers but fewer than ``threshold``."""

    by: str
    quarters: list[str]
    threshold: int
    cells: list[FeedbackCellOut]
    suppressed: int
