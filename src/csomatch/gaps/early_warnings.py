"""The early warning: days until each kind of place is full, and the events when it nears.

A kind of place is a participant, a service code and a population group (``all``: every
group; docs/early-warnings.md). Its arrivals are the needs recorded for it in the last
``WINDOW_MONTHS`` closed calendar months (UTC); its free places are the live numbers of the
services eligible for the group (a stale number is unknown, not free). ``gaps/runout.py``
turns the two into days until full with an 80 % interval.

Thresholds are days per service code (``DEFAULT_THRESHOLDS``; a JSON file named by
``CSOMATCH_EARLY_WARNING_FILE`` overrides them code by code, ``null`` removing one). When a
kind of place's days drop below its code's threshold, ``announce_crossings`` writes one
``early_warning.below`` event; when they rise again, one ``early_warning.cleared``: once per
crossing, not at every sweep (``db/early_warnings.py`` flips a stored state).

Funders see the same rows with the arrivals of small counts withheld (``suppress``): a
participant-wide count from 1 to 4 hides the row, and the group rows are a breakdown of it
suppressed as a line (``gaps.suppression.suppress_line``). Days, rate and interval reveal the
count, so they are withheld with it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import asyncpg
import msgspec

from csomatch.db import early_warnings as ew_db
from csomatch.db.early_warnings import WarningGroup
from csomatch.db.errors import CONNECTION_ERRORS
from csomatch.db.outbox import NewEvent, emit
from csomatch.errors import CsomatchError, InvalidInput
from csomatch.gaps.runout import runout
from csomatch.gaps.suppression import THRESHOLD, suppress_line
from csomatch.i18n import _
from csomatch.settings import Settings

log = logging.getLogger(__name__)

#: How often the server looks for crossings, and how long it waits after its start (so that a
#: process that starts and stops at once, a command or a test, announces nothing on the side).
SWEEP_SECONDS: Final = 900.0
FIRST_SWEEP_S: Final = 60.0
#: Closed calendar months whose needs make the arrival rate.
WINDOW_MONTHS: Final = 3
#: Days until full below which a code's kinds of place are announced (docs/early-warnings.md).
DEFAULT_THRESHOLDS: Final[Mapping[str, float]] = {
    "ACC.EMERG": 14.0,
    "ACC.SECURE": 14.0,
    "ACC.CHILD": 14.0,
    "ACC.FOSTER": 30.0,
    "ACC.LONG": 30.0,
}

Key = tuple[str, str, str]


class EarlyWarning(msgspec.Struct, frozen=True, kw_only=True):
    """Days until one kind of place is full at the current arrival rate, with its interval."""

    participant: str
    code: str
    group: WarningGroup
    services: int
    #: Services whose number is stale or missing: their places count as unknown.
    stale_services: int
    #: Free and total places of the services with a current number.
    free: int
    places: int
    #: Needs recorded in the window (None: withheld, a small count).
    arrivals: int | None
    window_start: dt.date
    window_end: dt.date
    rate_per_day: float | None
    #: Days until full: free places over the rate (None: no arrivals, beyond ten years,
    #: or withheld); ``low``/``high``: its 80 % interval.
    days: float | None
    low: float | None
    high: float | None
    #: The code's threshold (None: no warning for this code) and whether days are below it.
    threshold_days: float | None
    below: bool
    #: The arrivals are withheld from this caller (small counts; funders only).
    suppressed: bool = False
    #: The stored crossing (the events' ``object_id``) and when it last changed, once any.
    warning_id: uuid.UUID | None = None
    since: dt.datetime | None = None


class CrossingReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one sweep announced."""

    below: int
    cleared: int


def load_thresholds(path: Path | None) -> dict[str, float]:
    """The thresholds: the defaults, overridden code by code by the JSON file at ``path``."""
    out = dict(DEFAULT_THRESHOLDS)
    if path is None:
        return out
    try:
        raw = msgspec.json.decode(path.read_bytes(), type=dict[str, float | None])
    except (OSError, msgspec.DecodeError) as exc:
        raise InvalidInput(
            _(
                "{path}: not a JSON object of service code to days ({error})",
                path=str(path),
                error=str(exc),
            ),
            field="early_warning",
        ) from exc
    for code, days in raw.items():
        if days is None:
            out.pop(code, None)
        elif not 0 < days <= 365:
            raise InvalidInput(
                _(
                    "{path}: {code} days must be in (0, 365], got {days}",
                    path=str(path),
                    code=code,
                    days=days,
                )
            )
        else:
            out[code] = days
    return out


def window(today: dt.date) -> tuple[dt.date, dt.date]:
    """The first day of the window and the first day after it: the last closed months."""
    end = dt.date(today.year, today.month, 1)
    months = end.year * 12 + end.month - 1 - WINDOW_MONTHS
    return dt.date(months // 12, months % 12 + 1, 1), end


async def _arrivals(
    conn: asyncpg.Connection, since: dt.date, until: dt.date, participants: list[str] | None
) -> dict[tuple[str, str], dict[str, int]]:
    """Needs per (participant, code) and population group; ``all`` is every group's sum."""
    rows = await ew_db.arrivals(
        conn,
        since=dt.datetime.combine(since, dt.time(), dt.UTC),
        until=dt.datetime.combine(until, dt.time(), dt.UTC),
        participants=participants,
    )
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        by_group = out[(r.participant_code, r.taxonomy_code)]
        by_group[r.population_group] += r.n
        by_group["all"] += r.n
    return out


async def list_warnings(
    conn: asyncpg.Connection,
    *,
    participants: list[str] | None,
    now: dt.datetime,
    stale_hours: float,
    thresholds: Mapping[str, float],
    code: str | None = None,
    group: WarningGroup | None = None,
    funder: bool = False,
) -> list[EarlyWarning]:
    """Every kind of place with an eligible service or arrivals, nearest to full first.

    ``funder``: withhold small counts (module doc). ``code``/``group``: only those rows.
    """
    since, until = window(now.date())
    arrivals = await _arrivals(conn, since, until, participants)
    stored = {
        (c.participant_code, c.taxonomy_code, c.population_group): c
        for c in await ew_db.crossings(conn, participants)
    }
    hidden = _suppressed(arrivals) if funder else set()
    span = float((until - since).days)
    out = []
    for g in ew_db.groups() if group is None else (group,):
        free_rows = await ew_db.free_places(
            conn,
            g,
            stale_before=now - dt.timedelta(hours=stale_hours),
            participants=participants,
            since=dt.datetime.combine(since, dt.time(), dt.UTC),
            until=dt.datetime.combine(until, dt.time(), dt.UTC),
        )
        for f in _with_unserved(free_rows, arrivals, g):
            if code is not None and f.taxonomy_code != code:
                continue
            key = (f.participant_code, f.taxonomy_code, g)
            n = arrivals.get(key[:2], {}).get(g, 0)
            threshold = thresholds.get(f.taxonomy_code)
            # No eligible service at all is full now; only stale numbers are unknown.
            known = f.services == 0 or f.services > f.stale_services
            model = runout(free=f.free, arrivals=n, window_days=span) if known else None
            withheld = key in hidden
            days = None if model is None or withheld else model.days
            crossing = stored.get(key)
            out.append(
                EarlyWarning(
                    participant=f.participant_code,
                    code=f.taxonomy_code,
                    group=g,
                    services=f.services,
                    stale_services=f.stale_services,
                    free=f.free,
                    places=f.places,
                    arrivals=None if withheld else n,
                    window_start=since,
                    window_end=until - dt.timedelta(days=1),
                    rate_per_day=None if withheld else n / span,
                    days=days,
                    low=None if model is None or withheld else model.low,
                    high=None if model is None or withheld else model.high,
                    threshold_days=threshold,
                    below=threshold is not None and days is not None and days < threshold,
                    suppressed=withheld,
                    warning_id=None if crossing is None else crossing.id,
                    since=None if crossing is None else crossing.changed_at,
                )
            )
    return sorted(out, key=_nearest_first)


def _with_unserved(
    rows: list[ew_db.FreeRow], arrivals: Mapping[tuple[str, str], Mapping[str, int]], group: str
) -> list[ew_db.FreeRow]:
    """``rows`` and, with no service and no place, the kinds of place people arrived at."""
    served = {(f.participant_code, f.taxonomy_code) for f in rows}
    unserved = [
        ew_db.FreeRow(
            participant_code=participant, taxonomy_code=code, services=0, stale_services=0,
            free=0, places=0,
        )
        for (participant, code), by_group in arrivals.items()
        if by_group.get(group, 0) > 0 and (participant, code) not in served
    ]  # fmt: skip
    return rows + unserved


def _nearest_first(w: EarlyWarning) -> tuple[bool, float, str, str, int]:
    """Below a threshold first, then fewest days (unknown last), then by name."""
    days = float("inf") if w.days is None else w.days
    return (not w.below, days, w.participant, w.code, ew_db.groups().index(w.group))


def _suppressed(arrivals: Mapping[tuple[str, str], Mapping[str, int]]) -> set[Key]:
    """The kinds of place whose arrivals a funder may not see (module doc)."""
    out: set[Key] = set()
    for (participant, code), by_group in arrivals.items():
        total = by_group.get("all", 0)
        total_hidden = 0 < total < THRESHOLD
        if total_hidden:
            out.add((participant, code, "all"))
        line = {g: n for g, n in by_group.items() if g != "all"}
        out |= {(participant, code, g) for g in suppress_line(line, total_hidden)}
    return out


async def announce_crossings(
    conn: asyncpg.Connection,
    *,
    now: dt.datetime,
    stale_hours: float,
    thresholds: Mapping[str, float],
) -> CrossingReport:
    """Announce each kind of place that crossed its threshold since the last sweep, once.

    A transaction per crossing: the state flips and the event is written together, so two
    processes sweeping at once announce a crossing once.
    """
    rows = await list_warnings(
        conn, participants=None, now=now, stale_hours=stale_hours, thresholds=thresholds
    )
    below = cleared = 0
    for w in rows:
        if w.threshold_days is None or w.services == w.stale_services:
            continue  # no threshold; or no current number, which tells nothing new
        key = (w.participant, w.code, w.group)
        async with conn.transaction():
            if w.below and w.days is not None:
                found = await ew_db.mark_below(
                    conn, key, threshold_days=w.threshold_days, days=w.days
                )
                state = "below"
            elif w.warning_id is not None:
                found = await ew_db.mark_cleared(conn, key, days=w.days)
                state = "cleared"
            else:
                continue
            if found is not None:
                await emit(conn, _event(found, state, w.participant))
                below += state == "below"
                cleared += state == "cleared"
    return CrossingReport(below=below, cleared=cleared)


def _event(warning_id: uuid.UUID, state: str, participant: str) -> NewEvent:
    """The event of a crossing: ids and a state only; the participant's coordinators hear it."""
    return NewEvent(
        event_type=f"early_warning.{state}",
        object_type="early_warning",
        object_id=warning_id,
        state=state,
        jurisdictions=[participant],
    )


def group_of(value: str | None) -> WarningGroup | None:
    """A group query parameter as a group (already checked against ``GROUP_NAMES``)."""
    for g in ew_db.groups():
        if value == g:
            return g
    return None


#: The groups' names, for the API's allow-list.
GROUP_NAMES: Final[Sequence[str]] = ew_db.groups()


async def run_early_warnings(
    pool: asyncpg.Pool, settings: Settings, every_s: float = SWEEP_SECONDS
) -> None:
    """Announce the crossings every ``every_s`` until cancelled; log and go on after errors."""
    await asyncio.sleep(FIRST_SWEEP_S)
    while True:
        try:
            thresholds = load_thresholds(settings.early_warning_file)
            async with pool.acquire(timeout=10) as conn:
                report = await announce_crossings(
                    conn,  # type: ignore[arg-type]
                    now=dt.datetime.now(dt.UTC),
                    stale_hours=settings.stale_hours,
                    thresholds=thresholds,
                )
            if report.below or report.cleared:
                log.info("early warnings: %d below, %d cleared", report.below, report.cleared)
        except (*CONNECTION_ERRORS, TimeoutError, CsomatchError, asyncpg.PostgresError) as exc:
            log.warning(
                "early warnings failed (%s); retrying in %.0f s", type(exc).__name__, every_s
            )
        await asyncio.sleep(every_s)
