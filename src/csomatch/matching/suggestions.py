"""The suggestion use case: one needs profile against the registry as it stands now.

``suggest_services`` is the one way a profile is matched, whether it comes from an officer's
question (``POST /api/v1/match/suggestions``: ``profile_suggestions``) or from a stored
referral (``referrals.suggestions``, which leaves out the services already tried and those
a hold could not take).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

import anyio.to_thread
import asyncpg
import msgspec

from csomatch.db.signals import record_signals
from csomatch.domain import AddressScope, Principal, Service
from csomatch.errors import InvalidInput
from csomatch.i18n import _
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.snapshot import check_code, load_snapshot, service_codes
from csomatch.matching.suggest import SuggestionResult, solve_params, suggest
from csomatch.matching.terms import weights_from_settings
from csomatch.matching.unmet import profile_hash, unmet_signal
from csomatch.registry.addresses import address_scope
from csomatch.settings import Settings


def check_jurisdiction(principal: Principal, jurisdiction: str, field: str) -> None:
    """A caller matches only for its own participant (a regional token: any).

    The unmet needs of a match become demand signals of that participant, which the gap
    analysis reads: an officer of one participant must not count demand in another's.
    """
    if not principal.covers(jurisdiction):
        raise InvalidInput(
            _(
                "your token matches for {jurisdiction}, not {jurisdiction2}; set "
                "jurisdiction to {jurisdiction} (a need served abroad names the other "
                "participant in receiving_participant)",
                jurisdiction=principal.jurisdiction,
                jurisdiction2=jurisdiction,
            ),
            field=field,
        )


def named_areas(profile: NeedsProfile, path: str) -> list[tuple[str, str]]:
    """(JSON path, area code) of every area a profile names, for errors naming the field."""
    return [
        (f"{path}.current_area", profile.current_area),
        *((f"{path}.excluded_areas[{i}]", a) for i, a in enumerate(profile.excluded_areas)),
        *(() if profile.return_area is None else ((f"{path}.return_area", profile.return_area),)),
    ]


async def suggest_services(
    conn: asyncpg.Connection,
    profile: NeedsProfile,
    *,
    now: dt.datetime,
    settings: Settings,
    scope: AddressScope,
    keep: Callable[[Service], bool] | None = None,
    list_excluded: bool = False,
) -> SuggestionResult:
    """Ranked services per need of ``profile`` and the joint best plan.

    Solved in a worker thread (CP-SAT releases the GIL).

    Args:
        conn: the connection to read the registry from.
        profile: the needs to match.
        now: the time of the match (licences and the age of capacity numbers).
        settings: the stale threshold, the cost weights and the solver's time limit.
        scope: the confidential sites the caller sees in full; the others are placed at
            their municipality's centre.
        keep: only the candidate services it accepts are considered (None: all).
        list_excluded: also list, per need, each excluded service and the rule it broke.
    """
    snap = await load_snapshot(
        conn,
        codes={n.code for n in profile.needs},
        areas=named_areas(profile, "$"),
        now=now,
        stale_hours=settings.stale_hours,
        address_scope=scope,
    )
    if keep is not None:
        snap = msgspec.structs.replace(snap, services=[s for s in snap.services if keep(s)])
    run = functools.partial(
        suggest,
        profile,
        snap,
        weights_from_settings(settings),
        solve_params(settings),
        list_excluded=list_excluded,
    )
    return await anyio.to_thread.run_sync(run)


async def profile_suggestions(
    conn: asyncpg.Connection,
    principal: Principal,
    profile: NeedsProfile,
    settings: Settings,
    *,
    list_excluded: bool = False,
) -> SuggestionResult:
    """Suggestions for a profile an officer sends.

    An unknown code is an InvalidInput naming ``$.needs[i].code``.

    A need the plan cannot meet is recorded as an unmet-demand signal (service, area,
    reason; no person data), once per token, day and identical profile.
    """
    check_jurisdiction(principal, profile.jurisdiction, "$.jurisdiction")
    known = await service_codes(conn)
    for i, need in enumerate(profile.needs):
        check_code(need.code, known, f"$.needs[{i}].code")
    now = dt.datetime.now(dt.UTC)
    result = await suggest_services(
        conn, profile, now=now, settings=settings, scope=address_scope(principal),
        list_excluded=list_excluded,
    )  # fmt: skip
    digest = profile_hash(profile)
    await record_signals(
        conn,
        [
            unmet_signal(
                profile,
                need.code,
                need.unmet_reason,
                source="suggestion",
                token_id=principal.id,
                now=now,
                profile_digest=digest,
            )
            for need in result.needs
            if need.unmet_reason is not None
        ],
    )
    return result
