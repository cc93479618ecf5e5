"""One service against one profile under the matcher's hard rules, as a hold or a plan asks.

The matcher applies `rules.RULES` to every candidate; a hold (and a care plan) names one
service and must meet the same rules, with the same reason codes, against the registry as it
stands now. `broken_rule` reads what the rules need (the service with its licence, the
interpretation services, the excluded areas' centres) in the matcher's own snapshot.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Final

import asyncpg
import msgspec

from csomatch.domain import AddressScope, Service, serving_participant
from csomatch.i18n import _
from csomatch.matching.profile import NeedsProfile
from csomatch.matching.rules import RULE_DETAILS, RULES, MatchContext, interpretation_available
from csomatch.matching.snapshot import Snapshot, load_snapshot
from csomatch.matching.suggestions import named_areas

#: Rules a hold checks on its own terms: places are taken under the capacity row's lock and
#: refused with 409 and the number free (`referrals.holds.NoFreePlaces`), not as a rule.
HOLD_SKIPS: Final = frozenset({"no_capacity"})


class BrokenRule(msgspec.Struct, frozen=True, kw_only=True):
    """The first hard rule a service breaks for a profile: its reason code and why."""

    reason: str
    detail: str


def _broken(reason: str) -> BrokenRule:
    """A broken rule with its sentence in the current locale."""
    return BrokenRule(reason=reason, detail=_(RULE_DETAILS[reason]))


def _jurisdiction_detail(profile: NeedsProfile, code: str, participant: str) -> str:
    where = serving_participant(code, profile.jurisdiction, profile.receiving_participant)
    if where == profile.jurisdiction:
        return _(
            "it is in {participant}, and this referral's {code} need is served by services "
            "in {where}",
            participant=participant,
            code=code,
            where=where,
        )
    return _(
        "it is in {participant}, and this referral's {code} need is served by cross-border "
        "(TRM) services in {where}",
        participant=participant,
        code=code,
        where=where,
    )


async def broken_rule(
    conn: asyncpg.Connection,
    profile: NeedsProfile,
    service: Service,
    *,
    now: dt.datetime,
    stale_hours: float,
    scope: AddressScope,
    skip: Collection[str] = HOLD_SKIPS,
) -> BrokenRule | None:
    """The first rule of `RULES` (but ``skip``) ``service`` breaks for ``profile``, or None.

    The need is the profile's first need of the service's code (the rules read the code, not
    the priority); a service whose code the profile does not need breaks ``service_code``.
    The service is read again in the matcher's snapshot at ``now`` (its licence, its point):
    ``scope`` places confidential sites as the caller's suggestions placed them, so a hold
    answers what the suggestions said and a distance rule cannot locate a shelter.
    """
    need = next((n for n in profile.needs if n.code == service.taxonomy_code), None)
    if need is None:
        return _broken("service_code")
    snap = await load_snapshot(
        conn,
        codes=[need.code],
        areas=named_areas(profile, "$"),
        now=now,
        stale_hours=stale_hours,
        address_scope=scope,
    )
    seen = next((s for s in snap.services if s.id == service.id), service)
    return first_broken(profile, seen, snap, skip=skip)


def first_broken(
    profile: NeedsProfile, service: Service, snap: Snapshot, *, skip: Collection[str] = HOLD_SKIPS
) -> BrokenRule | None:
    """The first rule of `RULES` (but ``skip``) ``service`` breaks for ``profile`` in ``snap``.

    Pure: ``snap`` must hold the interpretation services, the service's licence and the
    centres of the profile's excluded areas (`broken_rule` reads them). The hold's rule
    function; the property test of docs/matching.md checks every suggestion with it.
    """
    need = next((n for n in profile.needs if n.code == service.taxonomy_code), None)
    if need is None:
        return _broken("service_code")
    ctx = MatchContext(
        now=snap.now,
        stale_hours=snap.stale_hours,
        excluded_points=tuple(snap.areas[a] for a in profile.excluded_areas),
        interpretation_available=interpretation_available(profile, snap.services),
        licensed=snap.licensed,
    )
    for reason, rule in RULES:
        if reason not in skip and not rule(profile, need, service, ctx):
            detail = (
                _jurisdiction_detail(profile, need.code, service.participant_code)
                if reason == "jurisdiction"
                else _(RULE_DETAILS[reason])
            )
            return BrokenRule(reason=reason, detail=detail)
    return None
