"""The matcher on a stored referral: suggestions, and the next one after a decline or expiry."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import msgspec

from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.db import transnational as trm_db
from csomatch.domain import AddressScope, Principal, Service
from csomatch.errors import Conflict
from csomatch.i18n import _
from csomatch.matching.profile import Need, NeedsProfile
from csomatch.matching.suggest import SuggestionResult
from csomatch.matching.suggestions import suggest_services
from csomatch.referrals import lifecycle
from csomatch.referrals.access import audit, visible_head
from csomatch.registry import addresses
from csomatch.settings import Settings

#: Holds whose service is not suggested again for the same referral.
TRIED = frozenset({"declined", "expired"})


def _need(code: str, priority: str) -> dict[str, Any]:
    return {"code": code, "priority": priority}


def needs_profile(stored: ref_db.StoredReferral, return_area: str | None = None) -> NeedsProfile:
    """The matcher's view of a referral (its profile must not have been purged).

    ``return_area``: a transnational referral's return area (its TRM record), the origin of
    its return and reintegration needs.
    """
    p = stored.profile
    if p is None:
        raise Conflict(
            _("referral {head_id} no longer holds a profile (retention)", head_id=stored.head.id)
        )
    # Built directly, not decoded: the stored profile passed the input rules of its day, and
    # a code list or bound tightened since must not make an existing referral unmatchable.
    fields: dict[str, Any] = {
        "needs": [Need(**_need(n.taxonomy_code, n.priority)) for n in stored.needs],
        "urgency": stored.head.urgency,
        "age_band": p.age_band,
        "age_uncertain": p.age_uncertain,
        "accompanied": p.accompanied,
        "gender": p.gender,
        "languages": list(p.languages),
        "interpreter_needed": p.interpreter_needed,
        "current_area": stored.head.current_area,
        "excluded_areas": list(p.excluded_areas),
        "min_distance_km": p.min_distance_km,
        "risk_level": p.risk_level,
        "group_adults": p.group_adults,
        "group_children_age_bands": list(p.group_children_age_bands),
        "jurisdiction": stored.head.jurisdiction,
        "receiving_participant": stored.head.receiving_participant,
        "return_area": return_area,
    }
    return NeedsProfile(**fields)


async def suggestions_for(
    conn: asyncpg.Connection,
    stored: ref_db.StoredReferral,
    *,
    now: dt.datetime,
    settings: Settings,
    address_scope: AddressScope,
) -> SuggestionResult:
    """Run the matcher on a referral, leaving out services that declined or let it expire."""
    head = stored.head
    return_area = await trm_db.return_area_of(conn, head.id) if head.transnational else None
    profile = needs_profile(stored, return_area)
    tried = {h.service_id for h in await hold_db.holds_of(conn, head.id) if h.status in TRIED}

    def takes(s: Service) -> bool:
        # Where a service may serve the referral is the jurisdiction rule's to say (the
        # matcher runs it, as a hold does); here only the services already tried leave.
        return s.id not in tried

    return await suggest_services(
        conn, profile, now=now, settings=settings, scope=address_scope, keep=takes
    )


class Matched(msgspec.Struct, frozen=True, kw_only=True):
    """A referral's suggestions and the state the matching left it in."""

    state: str
    result: SuggestionResult


async def match_referral(
    conn: asyncpg.Connection,
    principal: Principal,
    referral_id: uuid.UUID,
    *,
    settings: Settings,
    now: dt.datetime,
) -> Matched:
    """Run the matcher on a referral the caller may see (audited).

    A submitted, declined or expired referral becomes matched; one with offers in progress
    keeps its state (its needs decide it). Confidential sites are placed as the caller sees
    them.
    """
    head = await visible_head(conn, principal, referral_id, for_update=True)
    if head.state in ("draft", "submitted", "declined", "expired", "closed", "cancelled"):
        head = await lifecycle.move(conn, principal, head, "matched", action="referral.match")
    else:
        # Matched, or placing further needs of a plan: the state follows the needs.
        await audit(conn, principal, "referral.match", "referral", referral_id)
    stored = await ref_db.get_referral(conn, referral_id)
    assert stored is not None
    result = await suggestions_for(
        conn, stored, now=now, settings=settings, address_scope=addresses.address_scope(principal)
    )
    return Matched(state=head.state, result=result)


async def next_service(
    conn: asyncpg.Connection,
    stored: ref_db.StoredReferral,
    tried_code: str,
    *,
    now: dt.datetime,
    settings: Settings,
) -> uuid.UUID | None:
    """The best remaining service for the need a declined or expired offer was for."""
    if stored.profile is None:
        return None
    # As the referrer is shown it: confidential sites at their municipality's centre.
    result = await suggestions_for(
        conn, stored, now=now, settings=settings, address_scope=AddressScope()
    )
    for need in result.needs:
        if need.code == tried_code:
            if need.planned_service_id is not None:
                return need.planned_service_id
            if need.suggestions:
                return need.suggestions[0].service_id
    return None
