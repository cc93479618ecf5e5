"""A care plan in one referral: hold a service for several needs at once, all or nothing.

``POST /api/v1/referrals/{id}/plan`` names a service per need, or takes the matcher's plan
(the planned service of every need still open for an offer). Every hold is placed, or none:
the first refusal raises and the caller's transaction (the idempotent request's savepoint)
rolls back whatever was held before it. Capacity rows are locked in the order of their
service ids, so two plans that share services cannot deadlock; the referral row is locked
first, as everywhere.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import asyncpg
import msgspec
from msgspec import Meta

from csomatch.db import referrals as ref_db
from csomatch.db import services as svc_db
from csomatch.domain import Principal, Service
from csomatch.errors import Conflict, InvalidInput
from csomatch.i18n import _
from csomatch.referrals import lifecycle
from csomatch.referrals.access import visible_head
from csomatch.referrals.holds import (
    NoFreePlaces,
    _check_hold,
    check_offerable,
    need_for,
    offer_need,
    take_places,
)
from csomatch.referrals.suggestions import match_referral
from csomatch.settings import Settings

NeedIndex = Annotated[int, Meta(ge=0, le=19)]


class PlanItemIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One need of a plan and the service to hold for it."""

    index: NeedIndex
    service_id: uuid.UUID
    #: By default the whole group for accommodation, one place for any other service.
    places: Annotated[int, Meta(ge=1, le=100)] | None = None


class PlanIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A care plan: a service per need (``needs``), or the matcher's plan (``matcher_plan``)."""

    needs: Annotated[list[PlanItemIn], Meta(max_length=20)] | None = None
    matcher_plan: bool = False


class PlanRefused(NoFreePlaces):
    """One need of a plan cannot be held: names the need, the service and why (409)."""

    def __init__(self, detail: str, *, free: int | None, need: int, service_id: uuid.UUID):
        super().__init__(detail, free=free)
        self.field = f"$.needs[{need}].service_id"
        self.need = need
        self.service_id = service_id


class _Planned(msgspec.Struct, frozen=True, kw_only=True):
    at: str
    need: ref_db.StoredNeed
    service: Service
    places: int


async def _matcher_items(
    conn: asyncpg.Connection,
    principal: Principal,
    settings: Settings,
    referral_id: uuid.UUID,
    now: dt.datetime,
) -> list[PlanItemIn]:
    """The matcher's plan for the needs still open for an offer (runs the matcher)."""
    matched = await match_referral(conn, principal, referral_id, settings=settings, now=now)
    stored = await ref_db.get_referral(conn, referral_id)
    assert stored is not None
    open_needs = {n.idx for n in stored.needs if n.state in ("suggested", "declined", "expired")}
    items = [
        PlanItemIn(index=n.index, service_id=n.planned_service_id)
        for n in matched.result.needs
        if n.index in open_needs and n.planned_service_id is not None
    ]
    if not items:
        raise Conflict(
            _(
                "the matcher's plan holds no service for the needs still open (see the "
                "suggestions' unmet reasons); name a service per need or leave the "
                "need unmet"
            ),
            field="$.matcher_plan",
        )
    return items


def _items(data: PlanIn) -> list[PlanItemIn]:
    if data.matcher_plan == (data.needs is not None):
        raise InvalidInput(
            _("send either needs (a service per need) or matcher_plan: true"), field="$.needs"
        )
    items = data.needs or []
    if not items:
        raise InvalidInput(_("a plan names at least one need"), field="$.needs")
    seen: set[int] = set()
    for i, item in enumerate(items):
        if item.index in seen:
            raise InvalidInput(
                _("need {index} is named twice", index=item.index), field=f"$.needs[{i}].index"
            )
        seen.add(item.index)
    return items


async def _checked(
    conn: asyncpg.Connection,
    principal: Principal,
    settings: Settings,
    stored: ref_db.StoredReferral,
    items: list[PlanItemIn],
    now: dt.datetime,
) -> list[_Planned]:
    """Every item checked as a single hold would be (its refusal names ``$.needs[i]``)."""
    planned = []
    for i, item in enumerate(items):
        at = f"$.needs[{i}]."
        service = await svc_db.get_service(conn, item.service_id)
        if service is None:
            raise InvalidInput(
                _("no service {service_id}", service_id=item.service_id), field=f"{at}service_id"
            )
        need = need_for(stored, service, item.index, at=at, index_name="index")
        places = await _check_hold(
            conn, stored, service, item.places, at=at, now=now, settings=settings,
            principal=principal,
        )  # fmt: skip
        planned.append(_Planned(at=at, need=need, service=service, places=places))
    return planned


async def _lock_places(
    conn: asyncpg.Connection, settings: Settings, planned: list[_Planned], now: dt.datetime
) -> None:
    """Lock every capacity row the plan uses, in service-id order, and check its places.

    Needs that share a service add up their places.
    """
    by_service: dict[uuid.UUID, list[_Planned]] = {}
    for p in planned:
        by_service.setdefault(p.service.id, []).append(p)
    for service_id in sorted(by_service, key=str):
        wanted = by_service[service_id]
        try:
            await take_places(conn, settings, service_id, sum(p.places for p in wanted), now=now)
        except NoFreePlaces as exc:
            first = wanted[0]
            raise PlanRefused(
                f"need {first.need.idx} ({first.need.taxonomy_code}), service {service_id}: "
                f"{exc.detail} Nothing of this plan was held.",
                free=exc.free,
                need=first.need.idx,
                service_id=service_id,
            ) from exc


async def place_plan(
    conn: asyncpg.Connection,
    principal: Principal,
    settings: Settings,
    referral_id: uuid.UUID,
    data: PlanIn,
    *,
    now: dt.datetime,
) -> None:
    """Hold a service for every need of the plan, or nothing (the first refusal raises).

    A submitted referral is matched first when the plan is the matcher's.
    """
    items = (
        await _matcher_items(conn, principal, settings, referral_id, now)
        if data.matcher_plan and data.needs is None
        else _items(data)
    )
    head = await visible_head(conn, principal, referral_id, for_update=True)
    check_offerable(head)
    stored = await ref_db.get_referral(conn, referral_id)
    assert stored is not None
    planned = await _checked(conn, principal, settings, stored, items, now)
    await _lock_places(conn, settings, planned, now)
    for p in sorted(planned, key=lambda p: p.need.idx):
        await offer_need(conn, principal, settings, head, p.need, p.service, p.places, now=now)
    await lifecycle.settle(conn, principal, head, action="referral.plan")
