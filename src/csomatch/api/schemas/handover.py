"""What the referrer receives for the handover of an active placement."""

from __future__ import annotations

import uuid

from csomatch.api.schemas.registry import Out


class PlacementContactOut(Out, frozen=True):
    """One active placement: the need it serves and its service's contacts."""

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


class ServiceContactOut(Out, frozen=True):
    """The placement's service: its duty phone and, for the escort, where it is.

    A confidential shelter's address, point and duty phone reach only the officer who
    referred, while the placement is active. Never a contact of the person.
    """

    referral_id: uuid.UUID
    referral_state: str
    #: Every active placement of the care plan, by need; the fields below are the newest's.
    placements: list[PlacementContactOut]
    service_id: uuid.UUID
    service_name: str
    organization_name: str
    municipality: str
    confidential: bool
    address: str | None
    latitude: float
    longitude: float
    duty_phone: str | None
