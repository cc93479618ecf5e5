"""HTTP route of the early warning: days until each kind of place is full (docs/early-warnings.md).

Scope as the gaps (``api/gaps.py``): coordinators and admins see their jurisdiction (admin and
``MARRI`` tokens: every participant), funders the same rows with small counts withheld.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Cfg, Conn
from csomatch.api.gaps import (
    GAP_READERS,
    CodeQ,
    ParticipantQ,
    participants_in_scope,
    participants_visible_to,
)
from csomatch.api.schemas.registry import Out
from csomatch.domain import PARTICIPANTS, one_of_pattern
from csomatch.gaps.early_warnings import (
    GROUP_NAMES,
    WINDOW_MONTHS,
    EarlyWarning,
    group_of,
    list_warnings,
    load_thresholds,
)

WarningGroupQ = Annotated[
    str | None,
    QueryParameter(
        pattern=one_of_pattern(GROUP_NAMES),
        description="only this population group's kinds of place; all: every group together",
    ),
]


class EarlyWarningList(Out, frozen=True):
    """Kinds of place nearest to full first; every figure an aggregate."""

    scope: list[str]
    as_of: dt.datetime
    window_months: int
    total: int
    below: int
    warnings: list[EarlyWarning]


@get("/api/v1/early-warnings", opt=roles(*GAP_READERS))
async def early_warnings(
    conn: Conn,
    settings: Cfg,
    principal: Caller,
    participant: ParticipantQ = None,
    code: CodeQ = None,
    group: WarningGroupQ = None,
) -> EarlyWarningList:
    """Days until each kind of place (participant × code × group) is full, with an interval.

    At the arrival rate of the last three closed months and the free places now; below the
    code's threshold first. Funders: small counts withheld (``suppressed``).
    """
    now = dt.datetime.now(dt.UTC)
    rows = await list_warnings(
        conn,
        participants=participants_in_scope(principal, participant),
        now=now,
        stale_hours=settings.stale_hours,
        thresholds=load_thresholds(settings.early_warning_file),
        code=code,
        group=group_of(group),
        funder=principal.role == "funder",
    )
    return EarlyWarningList(
        scope=participants_visible_to(principal) or list(PARTICIPANTS),
        as_of=now,
        window_months=WINDOW_MONTHS,
        total=len(rows),
        below=sum(w.below for w in rows),
        warnings=rows,
    )


EARLY_WARNING_ROUTES = [early_warnings]
