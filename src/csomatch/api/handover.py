"""HTTP route of the handover: the placement's contacts for the officer who referred."""

from __future__ import annotations

import uuid

import msgspec
from litestar import get
from litestar.params import FromPath

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Conn
from csomatch.api.schemas.handover import ServiceContactOut
from csomatch.domain import REFERRING
from csomatch.referrals import handover


@get("/api/v1/referrals/{referral_id:uuid}/handover", opt=roles(*REFERRING))
async def service_contact(
    conn: Conn, principal: Caller, referral_id: FromPath[uuid.UUID]
) -> ServiceContactOut:
    """The placed service's duty phone and address, for the escort (each read audited).

    Only the referral's creator, and only while the placement is active (confirmed or in
    service; 409 otherwise); for a confidential shelter this is the one way its address and
    phone reach an officer. Anyone else: 404.
    """
    async with conn.transaction():
        found = await handover.service_contact(conn, principal, referral_id)
    return msgspec.convert(found, ServiceContactOut, from_attributes=True)


HANDOVER_ROUTES = [service_contact]
