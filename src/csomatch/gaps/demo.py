"""Synthetic demand for the demo registry: the last 12 months of demand signals.

Deterministic and fictional: each participant-month is drawn from a generator seeded with its
name, so loading again (on the same day) adds nothing — every signal has a ``dedup_key`` — and
a later load adds only the days that have passed since. No person appears anywhere: a signal
is a service code in an area at a time, with a reason code when unmet.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from collections import defaultdict
from typing import Final

import asyncpg

from csomatch.db import gaps as gaps_db
from csomatch.db.signals import NewSignal, PopulationGroup, record_signals
from csomatch.gaps.periods import last_periods

#: Needs per month in each participant's demo (roughly, before random variation).
MONTHLY_NEEDS: Final = {"RS": 70, "BA": 55, "AL": 50, "MK": 35, "XK": 35, "ME": 22}
#: How often each service code is needed, relative to the others.
CODE_WEIGHTS: Final = {
    "ACC.EMERG": 14, "ACC.SECURE": 4, "ACC.LONG": 5, "ACC.CHILD": 4, "ACC.FOSTER": 2,
    "MAT.BASIC": 8, "MED.EMERG": 4, "MED.GENERAL": 7, "PSY.CRISIS": 5, "PSY.COUNSEL": 10,
    "INFO.RIGHTS": 6, "LEGAL.AID": 10, "LANG.INTERP": 4, "SAFE.PLAN": 4, "DOC.ID": 5,
    "RET.VOLUNTARY": 3, "REINT.EDU": 2, "REINT.VOC": 3, "REINT.EMPLOY": 3, "REINT.FAMILY": 2,
    "CASE.ADVOCACY": 6,
}  # fmt: skip
#: Reasons of unmet needs, and how often each occurs.
UNMET_REASONS: Final = {"no_capacity": 6, "language": 2, "gender": 1, "age": 1, "security": 1}
#: Share of needs recorded in a town with no service of their code at all.
UNSERVED_SHARE: Final = 0.12
#: The population group of a need and its unmet signal, and how often each occurs. Drawn from
#: a generator of its own, so the demo's other figures are the same as before groups existed.
GROUP_WEIGHTS: Final[dict[PopulationGroup, int]] = {
    "women": 55, "men": 12, "families": 15, "unaccompanied_children": 8,
    "language_not_served": 6, "unknown": 4,
}  # fmt: skip
#: The language a ``language_not_served`` need records (its first language), and how often;
#: drawn from a generator of its own too.
LANGUAGE_WEIGHTS: Final = {"ar": 4, "fa": 3, "en": 2, "uk": 2, "tr": 1, "ur": 1}


def _month_signals(
    participant: str,
    month: dt.date,
    end: dt.date,
    towns: list[tuple[str, int]],
    others: list[tuple[str, int]],
    offered: set[tuple[str, str]],
) -> list[NewSignal]:
    """Every signal of one participant-month, in time order, with stable dedup keys."""
    rng = random.Random(f"csomatch-demo:{participant}:{month.isoformat()}")
    days = (end - month).days
    codes = list(CODE_WEIGHTS)
    code_weights = list(CODE_WEIGHTS.values())
    groups_rng = random.Random(f"csomatch-demo-groups:{participant}:{month.isoformat()}")
    groups: list[PopulationGroup] = list(GROUP_WEIGHTS)
    group_weights = list(GROUP_WEIGHTS.values())
    languages_rng = random.Random(f"csomatch-demo-languages:{participant}:{month.isoformat()}")
    draws: list[tuple[float, str, str | None, str, str | None, PopulationGroup, str | None]] = []
    n = max(1, round(MONTHLY_NEEDS[participant] * rng.uniform(0.7, 1.3)))
    for _ in range(n):
        group = groups_rng.choices(groups, group_weights)[0]
        language = None
        if group == "language_not_served":
            language = languages_rng.choices(
                list(LANGUAGE_WEIGHTS), list(LANGUAGE_WEIGHTS.values())
            )[0]
        code = rng.choices(codes, code_weights)[0]
        pool = others if others and rng.random() < UNSERVED_SHARE else towns
        area = _weighted(rng, pool)
        at = rng.uniform(0, days * 86400)
        draws.append((at, "need", area, code, None, group, language))
        local = (area, code) in offered
        shelter = code.startswith("ACC.")
        p_unmet = (0.22 if shelter else 0.08) + (0.0 if local else 0.25)
        if rng.random() < p_unmet:
            reason = rng.choices(list(UNMET_REASONS), list(UNMET_REASONS.values()))[0]
            draws.append((at + 60, "unmet", area, code, reason, group, language))
        if shelter and local and rng.random() < 0.12:
            draws.append(
                (at + 3600, "decline_no_capacity", area, code, "no_capacity", "unknown", None)
            )
        if rng.random() < (0.04 if local else 0.2):
            draws.append((at - 600, "search_empty", area, code, None, "unknown", None))
    draws.sort(key=lambda d: d[0])
    start = dt.datetime.combine(month, dt.time(), dt.UTC)
    return [
        NewSignal(
            kind=kind,  # type: ignore[arg-type]
            source="search" if kind == "search_empty" else "suggestion",
            participant_code=participant,
            area_code=area,
            taxonomy_code=code,
            reason=reason,
            dedup_key=f"demo:{participant}:{month:%Y-%m}:{i}",
            occurred_at=start + dt.timedelta(seconds=max(at, 0.0)),
            population_group=group,
            language=language,
        )
        for i, (at, kind, area, code, reason, group, language) in enumerate(draws)
    ]


def _weighted(rng: random.Random, pool: list[tuple[str, int]]) -> str:
    cumulative, total = [], 0
    for _, weight in pool:
        total += max(weight, 1)
        cumulative.append(total)
    return pool[bisect.bisect_right(cumulative, rng.uniform(0, total - 1e-9))][0]


async def load_demo_demand(conn: asyncpg.Connection, *, now: dt.datetime) -> int:
    """Record the demo's demand signals of the 12 months up to today; return how many were new.

    Signals stop at the start of ``now``'s UTC day, so loading again the same day adds
    nothing (``csomatch seed`` twice changes nothing) and a later day adds only the days since.
    """
    today = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)
    services = await gaps_db.service_points(conn)
    areas = await gaps_db.area_points(conn)
    offered = {(s.area_code, s.taxonomy_code) for s in services}
    served_areas = {s.area_code for s in services}
    towns: dict[str, list[tuple[str, int]]] = defaultdict(list)
    others: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for a in areas:
        if a.code in served_areas:
            towns[a.participant_code].append((a.code, a.population))
        elif a.population >= 20_000:
            others[a.participant_code].append((a.code, a.population))
    signals: list[NewSignal] = []
    for period in last_periods(now.date(), "month", 12):
        for participant in sorted(MONTHLY_NEEDS):
            if not towns[participant]:
                continue
            month_signals = _month_signals(
                participant, period.start, period.end, towns[participant],
                others[participant], offered,
            )  # fmt: skip
            signals += [s for s in month_signals if s.occurred_at and s.occurred_at < today]
    return await record_signals(conn, signals)
