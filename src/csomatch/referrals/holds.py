"""Holds (offers) on capacity: take places at once or say how many are free; confirm; release.

A hold takes its places in the same transaction that checks them, under the lock of the
service's capacity row; the database recounts ``held`` from live holds on every write and
refuses a hold beyond ``available`` whatever the code above it does. When a provider reports
fewer places than are held, the newest holds beyond the report are at risk: no new hold is
taken and an at-risk hold is not confirmed until places free up (migration 0062).
"""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg

from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.db import services as svc_db
from csomatch.domain import Principal, Service, freshness
from csomatch.errors import Conflict, InvalidInput, NotFound, RuleBroken
from csomatch.matching.eligibility import broken_rule
from csomatch.matching.rules import is_accommodation
from csomatch.referrals import children, lifecycle
from csomatch.referrals.access import audit, visible_head
from csomatch.referrals.suggestions import needs_profile
from csomatch.registry.addresses import address_scope
from csomatch.settings import Settings


class NoFreePlaces(Conflict):
    """Fewer places are free than a hold asks for; ``free`` says how many (None: unknown)."""

    def __init__(self, detail: str, *, free: int | None) -> None:
        super().__init__(detail, field="$.places")
        self.free = free


def hold_minutes(settings: Settings, urgency: str) -> float:
    """How long an offer of this urgency waits for the provider's answer."""
    return {
        "emergency": settings.hold_minutes_emergency,
        "urgent": settings.hold_minutes_urgent,
    }.get(urgency, settings.hold_minutes_planned)


async def place_hold(
    conn: asyncpg.Connection,
    principal: Principal,
    settings: Settings,
    referral_id: uuid.UUID,
    service_id: uuid.UUID,
    places: int | None,
    *,
    now: dt.datetime,
) -> hold_db.Hold:
    """Hold ``places`` of a service for a referral now, or raise NoFreePlaces.

    Accommodation keeps a group together: it holds the whole group's places by default and
    refuses fewer (InvalidInput naming ``$.places``); other services hold one by default.
    """
    head = await visible_head(conn, principal, referral_id, for_update=True)
    lifecycle.check_transition(head, "offered", None)
    service = await svc_db.get_service(conn, service_id)
    if service is None:
        raise InvalidInput(f"no service {service_id}", field="$.service_id")
    stored = await ref_db.get_referral(conn, referral_id)
    needed = {n.taxonomy_code for n in stored.needs} if stored else set()
    if service.taxonomy_code not in needed:
        raise InvalidInput(
            f"service {service_id} offers {service.taxonomy_code}, which this referral does not "
            "need (" + ", ".join(sorted(needed)) + ")",
            field="$.service_id",
        )
    group = (
        stored.profile.group_adults + len(stored.profile.group_children_age_bands)
        if (stored is not None and stored.profile is not None)
        else 1
    )
    if places is None:
        places = group if is_accommodation(service.taxonomy_code) else 1
    elif is_accommodation(service.taxonomy_code) and places < group:
        raise InvalidInput(
            f"this referral's group of {group} people is placed together: hold {group} places "
            f"of service {service_id}, not {places}",
            field="$.places",
        )
    assert stored is not None
    await check_rules(conn, stored, service, now=now, settings=settings, principal=principal)
    cap = await hold_db.lock_capacity(conn, service_id)
    if cap is None:
        raise NoFreePlaces(f"service {service_id} has reported no capacity", free=None)
    tier = freshness(cap.updated_at, now, settings.fresh_hours, settings.stale_hours)
    if tier == "stale":
        raise NoFreePlaces(
            f"the capacity number of service {service_id} is stale (unknown, never free); "
            "ask the provider for a new one",
            free=None,
        )
    if cap.free < places:
        raise NoFreePlaces(no_room(cap), free=cap.free)
    expires = now + dt.timedelta(minutes=hold_minutes(settings, head.urgency))
    hold = await hold_db.insert_hold(
        conn,
        hold_db.NewHold(
            id=uuid.uuid4(),
            referral_id=referral_id,
            service_id=service_id,
            organization_id=service.organization_id,
            places=places,
            expires_at=expires,
        ),
    )
    moved = await lifecycle.move(conn, principal, head, "offered", action="referral.offer")
    await lifecycle.announce_hold(conn, moved, hold)
    await audit(conn, principal, "hold.create", "hold", hold.id)
    return hold


async def check_rules(
    conn: asyncpg.Connection,
    stored: ref_db.StoredReferral,
    service: Service,
    *,
    now: dt.datetime,
    settings: Settings,
    principal: Principal,
    field: str = "$.service_id",
) -> None:
    """Raise RuleBroken (422) when ``service`` breaks a hard rule for the referral's profile.

    The matcher's own rules (`matching.rules.RULES`, the same reason codes) on the stored
    profile against the registry at ``now`` — gender, age, group, accepting referrals,
    licence, language, excluded area, security, jurisdiction... — all but free places, which
    a hold takes under the capacity row's lock (409 NoFreePlaces). Holds call it; a care plan
    calls it for each service it books, naming its need in ``field``.
    """
    broken = await broken_rule(
        conn, needs_profile(stored), service, now=now, stale_hours=settings.stale_hours,
        scope=address_scope(principal),
    )  # fmt: skip
    if broken is not None:
        raise RuleBroken(
            f"service {service.id} cannot serve this referral ({broken.reason}): "
            f"{broken.detail}. Find services again and choose one of the suggestions.",
            reason=broken.reason,
            field=field,
        )


def no_room(cap: hold_db.CapacityNow) -> str:
    """Why a hold does not fit, and what to do instead (a sentence, never a formula)."""
    if cap.overcommitted:
        return (
            "No places are free at this service now: its provider reports fewer free places "
            "than are already held for referrals, so it takes no new hold until places free "
            "up. Choose another service."
        )
    if cap.free == 0:
        return "No places are free at this service now; choose another service."
    if cap.free == 1:
        return "Only 1 place is free at this service now; hold at most 1 or choose another service."
    return (
        f"Only {cap.free} places are free at this service now; hold at most {cap.free} or "
        "choose another service."
    )


async def _open_hold(conn: asyncpg.Connection, head: ref_db.ReferralHead) -> hold_db.Hold:
    hold = await hold_db.open_hold_of(conn, head.id)
    if hold is None:
        raise Conflict(f"referral {head.id} has no open offer")
    return hold


async def confirm(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID, *, now: dt.datetime
) -> ref_db.ReferralHead:
    """Confirm an accepted offer: its places leave ``available`` for good (a placement).

    Refused (Conflict) after the offer's confirmation deadline, and while the offer is at
    risk (beyond the places its provider reports now).
    """
    head = await visible_head(conn, principal, referral_id, for_update=True)
    lifecycle.check_transition(head, "confirmed", None)
    await children.check_signed_off(conn, head)
    hold = await _open_hold(conn, head)
    await hold_db.lock_capacity(conn, hold.service_id)
    if hold.confirm_by is not None and hold.confirm_by <= now:
        raise Conflict(
            f"The provider's acceptance of this offer lapsed at {hold.confirm_by.isoformat()} "
            "because the placement was not confirmed in time; the offer is being expired and "
            "escalated. Find services again and hold a place."
        )
    if await hold_db.beyond_available(conn, hold):
        raise Conflict(
            "This offer is at risk: the provider now reports fewer free places than are held "
            "for referrals, and this offer is beyond them, so the placement cannot be "
            "confirmed now. Ask the provider: if they have the place they report it and you "
            "confirm again; if not, the offer expires"
            + (f" at {hold.confirm_by.isoformat()}" if hold.confirm_by else "")
            + ", or close this referral and refer again.",
            field="$.to",
        )
    confirmed = await hold_db.answer_hold(conn, hold.id, status="confirmed", role=None, agency=None)
    await hold_db.consume_places(conn, hold.service_id, hold.places)
    moved = await lifecycle.move(conn, principal, head, "confirmed", action="referral.confirm")
    await lifecycle.announce_hold(conn, moved, confirmed)
    return moved


async def release_open_hold(conn: asyncpg.Connection, head: ref_db.ReferralHead) -> None:
    """Give back the places of a referral's open offer (on cancelling or closing)."""
    hold = await hold_db.open_hold_of(conn, head.id)
    if hold is None:
        return
    await hold_db.lock_capacity(conn, hold.service_id)
    released = await hold_db.answer_hold(conn, hold.id, status="released", role=None, agency=None)
    await lifecycle.announce_hold(conn, head, released)


async def finish(
    conn: asyncpg.Connection,
    principal: Principal,
    referral_id: uuid.UUID,
    to_state: str,
    outcome: str | None,
) -> ref_db.ReferralHead:
    """Move a referral to in_service, closed or cancelled (releasing an open offer)."""
    head = await _steerable_head(conn, principal, referral_id)
    lifecycle.check_transition(head, to_state, outcome)
    if to_state in ("closed", "cancelled"):
        await release_open_hold(conn, head)
    return await lifecycle.move(conn, principal, head, to_state, outcome=outcome)


async def _steerable_head(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> ref_db.ReferralHead:
    """Referrers see their scope; a provider may steer a referral placed with it."""
    if principal.role != "provider":
        return await visible_head(conn, principal, referral_id, for_update=True)
    holds = await hold_db.holds_of(conn, referral_id)
    if not any(
        h.organization_id == principal.organization_id and h.status == "confirmed" for h in holds
    ):
        raise NotFound(f"no referral {referral_id}")
    head = await ref_db.get_head(conn, referral_id, for_update=True)
    if head is None:
        raise NotFound(f"no referral {referral_id}")
    return head
