"""The handover on the record: who calls whom once a placement is confirmed.

While a placement is active (an offer confirmed, its need ``confirmed`` or ``in_service``:
with a care plan, each need has its own placement), the officer who created the referral
sees the service's intake duty phone and, for a confidential shelter, its street address for
the escort (the one rule of confidential addresses, ``registry.addresses``); with several
active placements (a care plan), each one's, the newest also at the top level. Each such
read is audited (``placement.contact``) and shows in the referral's access log. Before
confirmation and after closing they are hidden again. The provider sees the referring
agency and its duty phone. Never a contact of the person: the system has none.
"""

from __future__ import annotations

import uuid
from typing import Final

import asyncpg
import msgspec

from csomatch.db import agencies as agency_db
from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.db import services as svc_db
from csomatch.db.agencies import AgencyContact
from csomatch.domain import Principal
from csomatch.errors import Conflict, NotFound
from csomatch.i18n import _
from csomatch.referrals.access import audit
from csomatch.registry.addresses import may_see_address

__all__ = [
    "ACTIVE_STATES",
    "AgencyContact",
    "PlacementContact",
    "ServiceContact",
    "placement_active",
    "referring_agencies",
    "service_contact",
]

#: Need states in which a need's placement is active.
ACTIVE_STATES: Final = frozenset({"confirmed", "in_service"})


class PlacementContact(msgspec.Struct, frozen=True, kw_only=True):
    """One active placement's service as its referrer reaches it for the handover."""

    #: The need (its index in the referral) the service was placed for.
    need: int
    service_id: uuid.UUID
    service_name: str
    organization_name: str
    municipality: str
    confidential: bool
    address: str | None
    latitude: float
    longitude: float
    duty_phone: str | None


class ServiceContact(msgspec.Struct, frozen=True, kw_only=True):
    """The placement's service as its referrer reaches it for the handover."""

    referral_id: uuid.UUID
    referral_state: str
    #: Every active placement, by need; the fields below repeat the newest one.
    placements: list[PlacementContact]
    service_id: uuid.UUID
    service_name: str
    organization_name: str
    municipality: str
    confidential: bool
    #: The street address (a confidential shelter's only for this handover).
    address: str | None
    latitude: float
    longitude: float
    #: The intake duty phone (E.164), None if the service has given none.
    duty_phone: str | None


def placement_active(stored: ref_db.StoredReferral, hold: hold_db.Hold) -> bool:
    """Whether an offer is an active placement: confirmed, its need confirmed or in service."""
    return hold.status == "confirmed" and any(
        n.idx == hold.need_idx and n.state in ACTIVE_STATES for n in stored.needs
    )


async def service_contact(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> ServiceContact:
    """The placement's duty phone and address for the officer who referred (audited).

    NotFound for anyone but the referral's creator; Conflict while no placement is active.
    """
    stored = await ref_db.get_referral(conn, referral_id)
    if stored is None or stored.head.created_by != principal.id:
        raise NotFound(_("no referral {referral_id}", referral_id=referral_id))
    head = stored.head
    placed = [h for h in await hold_db.holds_of(conn, referral_id) if placement_active(stored, h)]
    if not placed:
        raise Conflict(
            _(
                "referral {referral_id} is {state}: the service's contacts are shown "
                "from the placement's confirmation until it closes",
                referral_id=referral_id,
                state=head.state,
            ),
            field="$.state",
        )
    placements = [await _contact(conn, principal, hold) for hold in placed]
    await audit(conn, principal, "placement.contact", "referral", referral_id)
    newest = placements[-1]
    return ServiceContact(
        referral_id=referral_id,
        referral_state=head.state,
        placements=placements,
        **{f: getattr(newest, f) for f in newest.__struct_fields__ if f != "need"},
    )


async def _contact(
    conn: asyncpg.Connection, principal: Principal, hold: hold_db.Hold
) -> PlacementContact:
    """The contacts of the service of one active placement, as its referrer may see them."""
    service = await svc_db.get_service(conn, hold.service_id)
    if service is None:
        raise NotFound(_("no service {service_id}", service_id=hold.service_id))
    shown = may_see_address(principal, service, referrer_of_active_placement=True)
    return PlacementContact(
        need=hold.need_idx, service_id=service.id,
        service_name=service.name, organization_name=service.organization_name,
        municipality=service.area_name, confidential=service.confidential,
        address=service.address if shown else None,
        latitude=service.latitude if shown else service.area_latitude,
        longitude=service.longitude if shown else service.area_longitude,
        duty_phone=service.duty_phone if shown else None,
    )  # fmt: skip


async def referring_agencies(
    conn: asyncpg.Connection, creators: list[uuid.UUID | None]
) -> dict[uuid.UUID, AgencyContact]:
    """The agency record of each referral creator's token (tokens naming none are absent)."""
    ids = sorted({c for c in creators if c is not None})
    return await agency_db.agencies_of_tokens(conn, ids) if ids else {}
