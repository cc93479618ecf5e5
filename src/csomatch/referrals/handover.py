"""The handover on the record: who calls whom once a placement is confirmed.

While a referral's placement is active (the referral ``confirmed`` or ``in_service``, its
offer confirmed), the officer who created the referral sees the service's intake duty phone
and, for a confidential shelter, its street address for the escort (the one rule of
confidential addresses, ``registry.addresses``); each such read is audited
(``placement.contact``) and shows in the referral's access log. Before confirmation and
after closing they are hidden again. The provider sees the referring agency and its duty
phone. Never a contact of the person: the system has none.
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
from csomatch.referrals.access import audit
from csomatch.registry.addresses import may_see_address

__all__ = [
    "ACTIVE_STATES",
    "AgencyContact",
    "ServiceContact",
    "placement_active",
    "referring_agencies",
    "service_contact",
]

#: Referral states in which a placement is active.
ACTIVE_STATES: Final = frozenset({"confirmed", "in_service"})


class ServiceContact(msgspec.Struct, frozen=True, kw_only=True):
    """The placement's service as its referrer reaches it for the handover."""

    referral_id: uuid.UUID
    referral_state: str
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


def placement_active(referral_state: str, hold_status: str) -> bool:
    """Whether an offer is an active placement: confirmed, its referral confirmed or in service."""
    return hold_status == "confirmed" and referral_state in ACTIVE_STATES


async def service_contact(
    conn: asyncpg.Connection, principal: Principal, referral_id: uuid.UUID
) -> ServiceContact:
    """The placement's duty phone and address for the officer who referred (audited).

    NotFound for anyone but the referral's creator; Conflict while no placement is active.
    """
    head = await ref_db.get_head(conn, referral_id)
    if head is None or head.created_by != principal.id:
        raise NotFound(f"no referral {referral_id}")
    placed = [h for h in await hold_db.holds_of(conn, referral_id) if h.status == "confirmed"]
    if not placed or not placement_active(head.state, placed[-1].status):
        raise Conflict(
            f"referral {referral_id} is {head.state}: the service's contacts are shown from "
            "the placement's confirmation until it closes",
            field="$.state",
        )
    service = await svc_db.get_service(conn, placed[-1].service_id)
    if service is None:
        raise NotFound(f"no referral {referral_id}")
    shown = may_see_address(principal, service, referrer_of_active_placement=True)
    await audit(conn, principal, "placement.contact", "referral", referral_id)
    return ServiceContact(
        referral_id=referral_id, referral_state=head.state, service_id=service.id,
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
