"""What the registry stores: frozen types shared by the use cases and the database layer."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from csomatch.domain.vocabulary import Freshness


class Stored(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the stored types."""


class Area(Stored, frozen=True):
    """A town of the gazetteer."""

    code: str
    participant_code: str
    name: str
    kind: str
    population: int
    latitude: float
    longitude: float


class TaxonomyTerm(Stored, frozen=True):
    """One code of the service taxonomy."""

    code: str
    parent_code: str | None
    name: str
    accommodation: bool


#: A BCP 47 language tag as csomatch stores it: language, optional script and region
#: (``sq``, ``sr-Cyrl``, ``sr-Latn-ME``, ``cnr``).
LANGUAGE_TAG_PATTERN = r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$"


class OtherName(Stored, frozen=True):
    """An organisation's name in another language or script (``sr-Cyrl``, ``sq``)."""

    language: str
    name: str


class Organization(Stored, frozen=True):
    """A CSO, state institution or international organisation."""

    id: uuid.UUID
    participant_code: str
    name: str
    kind: str
    registration_number: str | None
    survivor_led: bool
    email: str | None
    website: str | None
    accepting_referrals: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    #: Its names in other languages and scripts, by language tag.
    other_names: tuple[OtherName, ...] = ()


class Capacity(Stored, frozen=True):
    """Typed capacity of a service; free places are ``available - held``, never below 0.

    A provider may report fewer places than are held, and the holds beyond are at risk.
    """

    service_id: uuid.UUID
    unit: str
    maximum: int
    available: int
    held: int
    updated_at: dt.datetime
    verified_at: dt.datetime | None
    version: int

    @property
    def free(self) -> int:
        """Places that can be offered now, if the number is not stale."""
        return max(self.available - self.held, 0)


class ServiceTerms(Stored, frozen=True):
    """Whom a service takes and how: the fields every record of a service carries.

    Declared once, for the stored, inserted and seeded records.
    """

    name: str
    description: str
    genders: list[str]
    age_bands: list[str]
    #: A child placed or served together with a parent or carer (who is in the group).
    accepts_accompanied_children: bool
    #: A child on their own: child-appropriate care (the only kind an unaccompanied child,
    #: or a person of uncertain age, is matched to).
    serves_unaccompanied_minors: bool
    child_only: bool
    accepts_families: bool
    max_group_size: int
    languages: list[str]
    accessibility: list[str]
    security_level: str
    intake_24_7: bool
    cross_border: bool
    licence_required: bool
    accepting_referrals: bool


class ServiceFields(ServiceTerms, frozen=True):
    """A service's own columns: its terms, what it is, whose and where."""

    id: uuid.UUID
    organization_id: uuid.UUID
    location_id: uuid.UUID
    taxonomy_code: str


def service_terms(source: ServiceTerms) -> dict[str, Any]:
    """The terms of a service record, by field name (to build another record from them)."""
    return {name: getattr(source, name) for name in ServiceTerms.__struct_fields__}


class Service(ServiceFields, frozen=True):
    """One service of one organisation at one location."""

    organization_name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    # Where it is (a confidential location's address and point stay on the server).
    location_name: str
    area_code: str
    area_name: str
    participant_code: str
    address: str | None
    latitude: float
    longitude: float
    confidential: bool
    # The centre of its municipality: where a confidential site is shown to most roles.
    area_latitude: float
    area_longitude: float
    # Its capacity, if one was reported (``unit`` is None otherwise).
    unit: str | None
    maximum: int | None
    available: int | None
    held: int | None
    capacity_updated_at: dt.datetime | None
    capacity_verified_at: dt.datetime | None
    capacity_version: int | None
    #: The intake duty phone (E.164); shown like a confidential site's address.
    duty_phone: str | None


class AddressScope(Stored, frozen=True):
    """The confidential sites whose street address and exact point a caller sees.

    Built for a caller by ``registry.address_scope`` (the one rule); everything that shows a
    site, measures a distance to it or searches around it asks this scope. The default sees
    no confidential site.
    """

    #: Every confidential site of this participant (its own coordinators and admins).
    participant: str | None = None

    def covers(self, site_participant: str) -> bool:
        """Whether a confidential site of this participant is shown in full."""
        return self.participant is not None and site_participant == self.participant


def freshness(
    updated_at: dt.datetime, now: dt.datetime, fresh_hours: float, stale_hours: float
) -> Freshness:
    """Classify how old a capacity number is: fresh, aging, or stale (counts as unknown)."""
    age_h = (now - updated_at).total_seconds() / 3600
    if age_h < fresh_hours:
        return "fresh"
    if age_h < stale_hours:
        return "aging"
    return "stale"
