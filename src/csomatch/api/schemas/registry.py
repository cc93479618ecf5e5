"""The public contract of the registry: what each response holds, field by field.

The Structs are allow-lists; how a record becomes one is in ``csomatch.api.schemas``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from csomatch.domain import (
    CAPACITY_UNIT_PATTERN,
    LANGUAGE_TAG_PATTERN,
    Accessibility,
    AgeBand,
    AreaCode,
    Capacity,
    Freshness,
    Gender,
    GroupSize,
    LanguageCode,
    Latitude,
    Longitude,
    Organization,
    OrgKind,
    ParticipantCode,
    SecurityLevel,
    Service,
    TaxonomyCode,
    freshness,
)
from csomatch.registry.areas import NamedArea
from csomatch.settings import Settings

Places = Annotated[int, Meta(ge=0, le=100_000)]
CapacityUnitIn = Annotated[str, Meta(pattern=CAPACITY_UNIT_PATTERN)]


class Out(msgspec.Struct, frozen=True, kw_only=True):
    """Base of response types."""


class In(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base of request bodies: unknown fields are rejected, naming the field."""


class OtherNameOut(Out, frozen=True):
    """An organisation's name in another language or script."""

    #: A BCP 47 tag: sq, sr-Latn, sr-Cyrl, mk, bs, cnr, en ...
    language: str
    name: str


class OrganizationOut(Out, frozen=True, rename={"participant_code": "participant"}):
    """An organisation of the registry."""

    id: uuid.UUID
    #: Sent as ``participant``.
    participant_code: str
    name: str
    kind: str
    registration_number: str | None
    survivor_led: bool
    website: str | None
    accepting_referrals: bool
    version: int
    #: Its names in other languages and scripts (the search and funding matching use them).
    other_names: list[OtherNameOut] = msgspec.field(default_factory=list)


class Page(Out, frozen=True):
    """Pagination facts of a list."""

    total: int
    limit: int
    offset: int


class OrganizationList(Out, frozen=True):
    """A page of organisations."""

    items_page: Page
    organizations: list[OrganizationOut]


class CapacityOut(Out, frozen=True):
    """How many places a service has now, and how fresh that number is."""

    service_id: uuid.UUID
    unit: str
    maximum: int
    available: int
    held: int
    free: int | None
    updated_at: dt.datetime
    verified_at: dt.datetime | None
    freshness: Freshness
    version: int


class CapacityIn(In, frozen=True):
    """A provider's report of its capacity now."""

    maximum: Places
    available: Places
    unit: CapacityUnitIn = "bed"


class LocationOut(Out, frozen=True):
    """Where a service is; a confidential site shows only its municipality."""

    municipality_code: str
    municipality: str
    participant: str
    confidential: bool
    address: str | None
    latitude: float
    longitude: float


class ServiceOut(Out, frozen=True):
    """A service with its eligibility, place and capacity."""

    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    code: str
    name: str
    description: str
    genders: list[str]
    age_bands: list[str]
    accepts_accompanied_children: bool
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
    location: LocationOut
    capacity: CapacityOut | None
    version: int
    #: The intake duty phone (E.164); null for a confidential site the caller may not see.
    duty_phone: str | None = None


class ServiceList(Out, frozen=True):
    """A page of services."""

    items_page: Page
    services: list[ServiceOut]


class SearchHit(Out, frozen=True):
    """A service found by a search, with its distance."""

    distance_km: float
    free_places: int | None
    freshness: Freshness | None
    #: The service is in another participant than the caller's (a region-wide caller: than
    #: the area searched from); ``service.location.participant`` says which.
    abroad: bool
    service: ServiceOut


class SearchResult(Out, frozen=True):
    """Services matching a search, nearest first."""

    items_page: Page
    origin_latitude: float
    origin_longitude: float
    hits: list[SearchHit]


class AreaOut(Out, frozen=True, rename={"participant_code": "participant"}):
    """A municipality or town of the gazetteer."""

    code: str
    #: Sent as ``participant``.
    participant_code: str
    #: The gazetteer's (English) name.
    name: str
    latitude: float
    longitude: float
    #: The name in the answer's language (``Content-Language``), e.g. Shkup for Skopje in sq.
    local_name: str
    #: For a search, the name that matched ``q`` (Београд for Belgrade), else null.
    matched_name: str | None = None


def freshness_of(
    settings: Settings, updated_at: dt.datetime | None, now: dt.datetime
) -> Freshness | None:
    """The freshness tier of a capacity number reported at ``updated_at`` (None: never)."""
    if updated_at is None:
        return None
    return freshness(updated_at, now, settings.fresh_hours, settings.stale_hours)


def organization_out(org: Organization) -> OrganizationOut:
    """The public view of an organisation (no contact e-mail)."""
    return msgspec.convert(org, OrganizationOut, from_attributes=True)


def capacity_out(cap: Capacity, freshness: Freshness) -> CapacityOut:
    """The capacity view; a stale number has no free count (it is unknown)."""
    return CapacityOut(
        service_id=cap.service_id, unit=cap.unit, maximum=cap.maximum, available=cap.available,
        held=cap.held, free=None if freshness == "stale" else cap.free,
        updated_at=cap.updated_at, verified_at=cap.verified_at, freshness=freshness,
        version=cap.version,
    )  # fmt: skip


def service_out(svc: Service, *, reveal: bool, freshness: Freshness | None) -> ServiceOut:
    """The view of a service.

    A confidential site is shown at its municipality's centre unless ``reveal`` (coordinator,
    admin).
    """
    hide = svc.confidential and not reveal
    location = LocationOut(
        municipality_code=svc.area_code, municipality=svc.area_name,
        participant=svc.participant_code, confidential=svc.confidential,
        address=None if hide else svc.address,
        latitude=svc.area_latitude if hide else svc.latitude,
        longitude=svc.area_longitude if hide else svc.longitude,
    )  # fmt: skip
    capacity = None
    if svc.capacity_version is not None and freshness is not None:
        capacity = capacity_out(
            Capacity(
                service_id=svc.id, unit=svc.unit or "place", maximum=svc.maximum or 0,
                available=svc.available or 0, held=svc.held or 0,
                updated_at=svc.capacity_updated_at or svc.updated_at,
                verified_at=svc.capacity_verified_at, version=svc.capacity_version,
            ),
            freshness,
        )  # fmt: skip
    return ServiceOut(
        id=svc.id, organization_id=svc.organization_id, organization_name=svc.organization_name,
        code=svc.taxonomy_code, name=svc.name, description=svc.description, genders=svc.genders,
        age_bands=svc.age_bands,
        accepts_accompanied_children=svc.accepts_accompanied_children,
        serves_unaccompanied_minors=svc.serves_unaccompanied_minors, child_only=svc.child_only,
        accepts_families=svc.accepts_families,
        max_group_size=svc.max_group_size, languages=svc.languages,
        accessibility=svc.accessibility, security_level=svc.security_level,
        intake_24_7=svc.intake_24_7, cross_border=svc.cross_border,
        licence_required=svc.licence_required, accepting_referrals=svc.accepting_referrals,
        location=location, capacity=capacity, version=svc.version,
        duty_phone=None if hide else svc.duty_phone,  # a confidential site's, like its address
    )  # fmt: skip


class ServiceViews:
    """The views of service records, made once per record, reveal and freshness tier.

    The search index hands out the same ``Service`` record for a service until it changes
    (a change is a new record), so its views can be kept: keyed by the record's identity,
    with the record itself held so that the identity cannot be reused while it is kept.
    Bounded; when full, the oldest views are forgotten.
    """

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._views: dict[tuple[int, bool, Freshness | None], tuple[Service, ServiceOut]] = {}

    def of(self, svc: Service, *, reveal: bool, freshness: Freshness | None) -> ServiceOut:
        """``service_out(svc, reveal=..., freshness=...)``, made once."""
        key = (id(svc), reveal, freshness)
        kept = self._views.get(key)
        if kept is not None and kept[0] is svc:
            return kept[1]
        view = service_out(svc, reveal=reveal, freshness=freshness)
        self._views[key] = (svc, view)
        if len(self._views) > self._size:
            del self._views[next(iter(self._views))]
        return view


def area_out(area: NamedArea) -> AreaOut:
    """The view of a gazetteer entry."""
    return msgspec.convert(area, AreaOut, from_attributes=True)


Name = Annotated[str, Meta(min_length=2, max_length=200)]
ShortText = Annotated[str, Meta(max_length=300)]
Description = Annotated[str, Meta(max_length=2000)]


class OtherNameIn(In, frozen=True):
    """An organisation's name in another language or script, by BCP 47 language tag."""

    language: Annotated[str, Meta(pattern=LANGUAGE_TAG_PATTERN, examples=["sr-Cyrl", "sq"])]
    #: Two characters or more besides spaces (they are trimmed).
    name: Annotated[str, Meta(min_length=2, max_length=200, pattern=r"\S.*\S")]


OtherNames = Annotated[list[OtherNameIn], Meta(max_length=12)]


class OrganizationIn(In, frozen=True):
    """A new organisation."""

    participant: ParticipantCode
    name: Name
    kind: OrgKind
    registration_number: Annotated[str, Meta(max_length=64)] | None = None
    survivor_led: bool = False
    email: Annotated[str, Meta(max_length=200)] | None = None
    website: ShortText | None = None
    accepting_referrals: bool = True
    #: Its names in other languages and scripts, one per language.
    other_names: OtherNames = msgspec.field(default_factory=list)


class OrganizationPatch(In, frozen=True):
    """Changes to an organisation; absent fields stay as they are."""

    name: Name | UnsetType = UNSET
    kind: OrgKind | UnsetType = UNSET
    registration_number: Annotated[str, Meta(max_length=64)] | UnsetType | None = UNSET
    survivor_led: bool | UnsetType = UNSET
    email: Annotated[str, Meta(max_length=200)] | UnsetType | None = UNSET
    website: ShortText | UnsetType | None = UNSET
    accepting_referrals: bool | UnsetType = UNSET
    #: Replaces all its other names ([] removes them).
    other_names: OtherNames | UnsetType = UNSET


class LocationIn(In, frozen=True):
    """A new site of an organisation; ``confidential`` hides its address and point."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    area: AreaCode
    latitude: Latitude
    longitude: Longitude
    address: ShortText | None = None
    accessibility: list[Accessibility] = msgspec.field(default_factory=list)
    confidential: bool = False


class LocationCreated(Out, frozen=True):
    """The id of a new location."""

    id: uuid.UUID


class ServiceIn(In, frozen=True):
    """A new service of an organisation at one of its locations."""

    organization_id: uuid.UUID
    location_id: uuid.UUID
    code: TaxonomyCode
    name: Name
    genders: Annotated[list[Gender], Meta(min_length=1)]
    age_bands: Annotated[list[AgeBand], Meta(min_length=1)]
    description: Description = ""
    #: Children placed or served with a parent or carer.
    accepts_accompanied_children: bool = False
    #: Children on their own (child-appropriate care).
    serves_unaccompanied_minors: bool = False
    child_only: bool = False
    accepts_families: bool = False
    max_group_size: GroupSize = 1
    languages: list[LanguageCode] = msgspec.field(default_factory=list)
    accessibility: list[Accessibility] = msgspec.field(default_factory=list)
    security_level: SecurityLevel = "standard"
    intake_24_7: bool = False
    cross_border: bool = False
    licence_required: bool = False
    accepting_referrals: bool = True
    capacity: CapacityIn | None = None
    #: The intake duty phone, in international form (kept as E.164).
    duty_phone: Annotated[str, Meta(min_length=3, max_length=40)] | None = None


class ServicePatch(In, frozen=True):
    """Changes to a service; absent fields stay as they are."""

    location_id: uuid.UUID | UnsetType = UNSET
    code: TaxonomyCode | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    description: Description | UnsetType = UNSET
    genders: Annotated[list[Gender], Meta(min_length=1)] | UnsetType = UNSET
    age_bands: Annotated[list[AgeBand], Meta(min_length=1)] | UnsetType = UNSET
    accepts_accompanied_children: bool | UnsetType = UNSET
    serves_unaccompanied_minors: bool | UnsetType = UNSET
    child_only: bool | UnsetType = UNSET
    accepts_families: bool | UnsetType = UNSET
    max_group_size: GroupSize | UnsetType = UNSET
    languages: list[LanguageCode] | UnsetType = UNSET
    accessibility: list[Accessibility] | UnsetType = UNSET
    security_level: SecurityLevel | UnsetType = UNSET
    intake_24_7: bool | UnsetType = UNSET
    cross_border: bool | UnsetType = UNSET
    licence_required: bool | UnsetType = UNSET
    accepting_referrals: bool | UnsetType = UNSET
    duty_phone: Annotated[str, Meta(min_length=3, max_length=40)] | UnsetType | None = UNSET


def changes_of(patch: msgspec.Struct, renames: dict[str, str] | None = None) -> dict[str, object]:
    """The fields a patch sets, under their stored names."""
    renames = renames or {}
    return {
        renames.get(name, name): getattr(patch, name)
        for name in patch.__struct_fields__
        if getattr(patch, name) is not UNSET
    }
