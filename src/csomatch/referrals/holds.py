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
from csomatch.errors import Conflict, InvalidInput, RuleBroken
from csomatch.i18n import _, ngettext
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


#: A need's states in which a new offer may be made for it.
OPEN_FOR_OFFER = frozenset({"suggested", "declined", "expired"})


def check_offerable(head: ref_db.ReferralHead) -> None:
    """Raise Conflict unless the referral is matched or further on, and not finished."""
    if head.state not in lifecycle.OFFERABLE:
        allowed = lifecycle.allowed_next(head.state)
        raise Conflict(
            _(
                "referral {referral} is {state}; it cannot become offered. Allowed next: {next}",
                referral=head.id,
                state=head.state,
                next=", ".join(allowed) if allowed else _("none (it is finished)"),
            )
        )


def need_for(
    stored: ref_db.StoredReferral,
    service: Service,
    index: int | None,
    *,
    at: str,
    index_name: str = "need",
) -> ref_db.StoredNeed:
    """The need an offer of ``service`` is for: ``index``, or the first open one of its code.

    InvalidInput (naming ``{at}{index_name}`` or ``{at}service_id``) when the referral has no such
    need or the service does not offer its code; Conflict when the need is not open for an
    offer (it has an open offer, or is placed or finished).
    """
    needed = {n.taxonomy_code for n in stored.needs}
    if service.taxonomy_code not in needed:
        raise InvalidInput(
            _(
                "service {service} offers {code}, which this referral does not need ({needed})",
                service=service.id,
                code=service.taxonomy_code,
                needed=", ".join(sorted(needed)),
            ),
            field=f"{at}service_id",
        )
    if index is not None:
        found = [n for n in stored.needs if n.idx == index]
        if not found:
            raise InvalidInput(
                _(
                    "this referral has needs 0 to {last}, not {index}",
                    last=len(stored.needs) - 1,
                    index=index,
                ),
                field=f"{at}{index_name}",
            )
        need = found[0]
        if need.taxonomy_code != service.taxonomy_code:
            raise InvalidInput(
                _(
                    "need {index} is {taxonomy_code}; service {service_id} offers {offered}",
                    index=index,
                    taxonomy_code=need.taxonomy_code,
                    service_id=service.id,
                    offered=service.taxonomy_code,
                ),
                field=f"{at}service_id",
            )
    else:
        same = [n for n in stored.needs if n.taxonomy_code == service.taxonomy_code]
        need = next((n for n in same if n.state in OPEN_FOR_OFFER), same[0])
    if need.state not in OPEN_FOR_OFFER:
        raise Conflict(
            _(
                "need {idx} ({taxonomy_code}) is {state}; a new offer is made only for "
                "a need without an open offer that is not placed or finished",
                idx=need.idx,
                taxonomy_code=need.taxonomy_code,
                state=need.state,
            ),
            field=f"{at}service_id",
        )
    return need


def group_size(stored: ref_db.StoredReferral) -> int:
    """The people placed together: adults and accompanying children (1 without a profile)."""
    p = stored.profile
    return p.group_adults + len(p.group_children_age_bands) if p is not None else 1


async def _check_hold(
    conn: asyncpg.Connection,
    stored: ref_db.StoredReferral,
    service: Service,
    places: int | None,
    *,
    at: str,
    now: dt.datetime,
    settings: Settings,
    principal: Principal,
) -> int:
    """Every check of a hold (or one need of a plan) on a service; the places it takes.

    Accommodation keeps a group together: it holds the whole group's places by default and
    refuses fewer; other services hold one by default. The service must pass the matcher's
    hard rules (`check_rules`: accepting referrals, jurisdiction, gender, age...; 422
    RuleBroken). Refusals name ``{at}places`` or ``{at}service_id``. Single holds and plans
    both call this one function.
    """
    group = group_size(stored)
    if places is None:
        places = group if is_accommodation(service.taxonomy_code) else 1
    elif is_accommodation(service.taxonomy_code) and places < group:
        raise InvalidInput(
            _(
                "this referral's group of {group} people is placed together: hold "
                "{group} places of service {service_id}, not {places}",
                group=group,
                service_id=service.id,
                places=places,
            ),
            field=f"{at}places",
        )
    await check_rules(
        conn, stored, service, now=now, settings=settings, principal=principal,
        field=f"{at}service_id",
    )  # fmt: skip
    return places


async def take_places(
    conn: asyncpg.Connection,
    settings: Settings,
    service_id: uuid.UUID,
    places: int,
    *,
    now: dt.datetime,
) -> None:
    """Lock a service's capacity row and check that ``places`` are free, or NoFreePlaces."""
    cap = await hold_db.lock_capacity(conn, service_id)
    if cap is None:
        raise NoFreePlaces(
            _("service {service_id} has reported no capacity", service_id=service_id), free=None
        )
    tier = freshness(cap.updated_at, now, settings.fresh_hours, settings.stale_hours)
    if tier == "stale":
        raise NoFreePlaces(
            _(
                "the capacity number of service {service_id} is stale (unknown, never "
                "free); ask the provider for a new one",
                service_id=service_id,
            ),
            free=None,
        )
    if cap.free < places:
        raise NoFreePlaces(no_room(cap), free=cap.free)


async def offer_need(
    conn: asyncpg.Connection,
    principal: Principal,
    settings: Settings,
    head: ref_db.ReferralHead,
    need: ref_db.StoredNeed,
    service: Service,
    places: int,
    *,
    now: dt.datetime,
) -> hold_db.Hold:
    """Insert the hold of one need (its capacity row already locked and checked); audited."""
    expires = now + dt.timedelta(minutes=hold_minutes(settings, head.urgency))
    hold = await hold_db.insert_hold(
        conn,
        hold_db.NewHold(
            id=uuid.uuid4(),
            referral_id=head.id,
            need_idx=need.idx,
            service_id=service.id,
            organization_id=service.organization_id,
            places=places,
            expires_at=expires,
        ),
    )
    await ref_db.set_need_state(conn, head.id, need.idx, "offered")
    await lifecycle.announce_hold(conn, head, hold)
    await audit(conn, principal, "hold.create", "hold", hold.id)
    return hold


async def place_hold(
    conn: asyncpg.Connection,
    principal: Principal,
    settings: Settings,
    referral_id: uuid.UUID,
    service_id: uuid.UUID,
    places: int | None,
    *,
    now: dt.datetime,
    need: int | None = None,
) -> hold_db.Hold:
    """Hold ``places`` of a service for one need of a referral now, or raise NoFreePlaces.

    The need is ``need`` or the first need of the service's code without an open offer.
    Accommodation keeps a group together: it holds the whole group's places by default and
    refuses fewer (InvalidInput naming ``$.places``); other services hold one by default.
    """
    head = await visible_head(conn, principal, referral_id, for_update=True)
    check_offerable(head)
    service = await svc_db.get_service(conn, service_id)
    if service is None:
        raise InvalidInput(
            _("no service {service_id}", service_id=service_id), field="$.service_id"
        )
    stored = await ref_db.get_referral(conn, referral_id)
    assert stored is not None
    target = need_for(stored, service, need, at="$.")
    places = await _check_hold(
        conn, stored, service, places, at="$.", now=now, settings=settings, principal=principal
    )
    await take_places(conn, settings, service_id, places, now=now)
    hold = await offer_need(conn, principal, settings, head, target, service, places, now=now)
    await lifecycle.settle(conn, principal, head, action="referral.offer")
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
            _(
                "service {service_id} cannot serve this referral ({reason}): {detail}. "
                "Find services again and choose one of the suggestions.",
                service_id=service.id,
                reason=broken.reason,
                detail=broken.detail,
            ),
            reason=broken.reason,
            field=field,
        )


def no_room(cap: hold_db.CapacityNow) -> str:
    """Why a hold does not fit, and what to do instead (a sentence, never a formula)."""
    if cap.overcommitted:
        return _(
            "No places are free at this service now: its provider reports fewer free places "
            "than are already held for referrals, so it takes no new hold until places free "
            "up. Choose another service."
        )
    if cap.free == 0:
        return _("No places are free at this service now; choose another service.")
    return ngettext(
        "Only {n} place is free at this service now; hold at most {n} or choose another service.",
        "Only {n} places are free at this service now; hold at most {n} or choose another service.",
        cap.free,
    )


async def _confirm_one(
    conn: asyncpg.Connection, head: ref_db.ReferralHead, hold: hold_db.Hold, now: dt.datetime
) -> None:
    """Confirm one accepted offer (its capacity row locked by the caller)."""
    if hold.confirm_by is not None and hold.confirm_by <= now:
        raise Conflict(
            _(
                "The provider's acceptance of the offer for need {need_idx} lapsed at "
                "{at} because the placement was not confirmed in time; the offer is "
                "being expired and escalated. Find services again and hold a place.",
                need_idx=hold.need_idx,
                at=hold.confirm_by,
            )
        )
    if await hold_db.beyond_available(conn, hold):
        raise Conflict(
            _(
                "The offer for need {need} is at risk: the provider now reports fewer free "
                "places than are held for referrals, and this offer is beyond them, so the "
                "placement cannot be confirmed now. Ask the provider: if they have the place "
                "they report it and you confirm again; if not, the offer expires at {at}, or "
                "close this referral and refer again.",
                need=hold.need_idx,
                at=hold.confirm_by,
            )
            if hold.confirm_by
            else _(
                "The offer for need {need} is at risk: the provider now reports fewer free "
                "places than are held for referrals, and this offer is beyond them, so the "
                "placement cannot be confirmed now. Ask the provider: if they have the place "
                "they report it and you confirm again; if not, the offer expires, or close "
                "this referral and refer again.",
                need=hold.need_idx,
            ),
            field="$.to",
        )
    confirmed = await hold_db.answer_hold(conn, hold.id, status="confirmed", role=None, agency=None)
    await hold_db.consume_places(conn, hold.service_id, hold.places)
    await ref_db.set_need_state(conn, head.id, hold.need_idx, "confirmed")
    await lifecycle.announce_hold(conn, head, confirmed)


async def confirm(
    conn: asyncpg.Connection,
    principal: Principal,
    referral_id: uuid.UUID,
    *,
    now: dt.datetime,
    need: int | None = None,
) -> ref_db.ReferralHead:
    """Confirm accepted offers (every one, or ``need``'s): their places leave ``available``.

    Refused (Conflict) after an offer's confirmation deadline, and while an offer is at
    risk (beyond the places its provider reports now); then nothing is confirmed. Capacity
    rows are locked in the order of their service ids.
    """
    head = await visible_head(conn, principal, referral_id, for_update=True)
    lifecycle.check_transition(head, "confirmed", None)
    await children.check_signed_off(conn, head)
    accepted = [
        h for h in await hold_db.open_holds_of(conn, head.id)
        if h.status == "accepted" and (need is None or h.need_idx == need)
    ]  # fmt: skip
    if not accepted:
        raise Conflict(
            _(
                "referral {referral} has no accepted offer to confirm; a placement is "
                "confirmed once its provider accepts the offer",
                referral=str(head.id),
            )
            if need is None
            else _(
                "referral {referral} has no accepted offer to confirm for need {need}; a "
                "placement is confirmed once its provider accepts the offer",
                referral=str(head.id),
                need=need,
            ),
            field="$.to",
        )
    for hold in sorted(accepted, key=lambda h: (str(h.service_id), h.need_idx)):
        await hold_db.lock_capacity(conn, hold.service_id)
        await _confirm_one(conn, head, hold, now)
    return await lifecycle.settle(conn, principal, head, action="referral.confirm")


async def release_open_holds(
    conn: asyncpg.Connection, head: ref_db.ReferralHead, needs: set[int] | None = None
) -> None:
    """Give back the places of a referral's open offers (of ``needs``, or all of them).

    Capacity rows are locked in the order of their service ids.
    """
    found = [
        h for h in await hold_db.open_holds_of(conn, head.id)
        if needs is None or h.need_idx in needs
    ]  # fmt: skip
    for hold in sorted(found, key=lambda h: (str(h.service_id), h.need_idx)):
        await hold_db.lock_capacity(conn, hold.service_id)
        released = await hold_db.answer_hold(
            conn, hold.id, status="released", role=None, agency=None
        )
        await lifecycle.announce_hold(conn, head, released)


async def release_for_cancel(conn: asyncpg.Connection, head: ref_db.ReferralHead) -> None:
    """Release a cancelled referral's open offers and return its active placements' places.

    An active placement is a confirmed offer of a need that is confirmed or in service: its
    places left ``available`` when it was confirmed and go back now (never beyond the
    service's maximum). Every capacity row involved is locked first, in the order of the
    service ids, so that this cannot deadlock with another writer.
    """
    needs = (await ref_db.needs_of(conn, [head.id]))[head.id]
    active = {n.idx for n in needs if n.state in ("confirmed", "in_service")}
    placed = [
        h for h in await hold_db.holds_of(conn, head.id)
        if h.status == "confirmed" and h.need_idx in active
    ]  # fmt: skip
    open_now = await hold_db.open_holds_of(conn, head.id)
    for service_id in sorted({h.service_id for h in (*placed, *open_now)}, key=str):
        await hold_db.lock_capacity(conn, service_id)
    await release_open_holds(conn, head)
    for hold in placed:
        await hold_db.return_places(conn, hold.service_id, hold.places)
