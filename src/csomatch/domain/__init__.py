"""What the registry stores: frozen types shared by the use cases and the database layer."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from typing import Annotated, Any, Literal

import msgspec
import pycountry
from msgspec import Meta

ParticipantCode = Literal["AL", "BA", "XK", "ME", "MK", "RS"]
PARTICIPANTS: tuple[ParticipantCode, ...] = ("AL", "BA", "XK", "ME", "MK", "RS")
Jurisdiction = Literal["AL", "BA", "XK", "ME", "MK", "RS", "MARRI"]
Role = Literal["officer", "provider", "funder", "coordinator", "admin"]
ROLES: tuple[Role, ...] = ("officer", "provider", "funder", "coordinator", "admin")
OrgKind = Literal["cso", "state", "io"]
Gender = Literal["female", "male", "other"]
AgeBand = Literal["0-5", "6-13", "14-17", "18-24", "25-59", "60+"]
CHILD_AGE_BANDS: frozenset[str] = frozenset({"0-5", "6-13", "14-17"})
SecurityLevel = Literal["standard", "elevated", "high"]
CapacityUnit = Literal["bed", "place", "session_per_week", "hour_per_week", "case"]
Freshness = Literal["fresh", "aging", "stale"]
Accessibility = Literal[
    "wheelchair", "step_free", "accessible_toilet", "hearing_loop", "sign_language"
]

Count = Annotated[int, Meta(ge=0)]
GroupSize = Annotated[int, Meta(ge=1, le=100)]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
TaxonomyCode = Annotated[str, Meta(pattern=r"^[A-Z]+\.[A-Z]+$")]
AreaCode = Annotated[str, Meta(pattern=r"^(AL|BA|XK|ME|MK|RS)-[0-9]+$")]


class _ListedCodeType(type):
    """Makes ``isinstance(value, LanguageCode)`` mean "a string on the list".

    Decoding leaves codes as plain ``str`` (msgspec encodes a subclass of str only through a
    hook, which every encoder would then need); msgspec accepts what the decode hook returns
    when it is an instance of the field's type, and this is how a plain string is one.
    """

    def __instancecheck__(cls, value: object) -> bool:
        if cls is ListedCode:
            return type.__instancecheck__(cls, value)
        return isinstance(value, str) and cls.refusal(value) is None  # type: ignore[attr-defined]


class ListedCode(str, metaclass=_ListedCodeType):
    """A code that must be on a maintained list (pycountry's ISO 639 and ISO 3166 tables).

    Declared once: every input field typed with a subclass is checked by :func:`decode_code`
    (Litestar's ``type_decoders`` in ``app.py``, or ``dec_hook=decode_code`` for msgspec),
    so no free text, whitespace or newline slips in through a code field. A decoded code is
    a plain ``str``.
    """

    #: What the OpenAPI document says about the field.
    SCHEMA_PATTERN = ""
    SCHEMA_DESCRIPTION = ""

    @classmethod
    def refusal(cls, value: str) -> str | None:
        """Why ``value`` is not accepted (a sentence saying how to fix it), or None."""
        raise NotImplementedError


class LanguageCode(ListedCode):
    """A language: its ISO 639-1 code where it has one (``sr``), else ISO 639-3 (``rom``)."""

    SCHEMA_PATTERN = "^[a-z]{2,3}$"
    SCHEMA_DESCRIPTION = (
        "ISO 639-1 code where the language has one (sr, ar), else ISO 639-3 (rom, cnr)"
    )

    @classmethod
    def refusal(cls, value: str) -> str | None:
        """Why ``value`` is not an accepted language code, or None."""
        accepted, preferred = _language_table()
        if value in accepted:
            return None
        if value in preferred:
            return (
                f"{value!r} is the longer code of a language that has an ISO 639-1 code:"
                f" send {preferred[value]!r}"
            )
        lower = value.lower()
        if lower != value and (lower in accepted or lower in preferred):
            return f"send language codes in lower case: {preferred.get(lower, lower)!r}"
        return (
            "not a language code: send the ISO 639-1 code of the language (two lower-case"
            " letters, e.g. 'sr', 'ar') or, when it has none, its ISO 639-3 code (e.g. 'rom')"
        )


class CountryCode(ListedCode):
    """A country: its ISO 3166-1 alpha-2 code, or ``XK`` (Kosovo, user-assigned)."""

    SCHEMA_PATTERN = "^[A-Z]{2}$"
    SCHEMA_DESCRIPTION = "ISO 3166-1 alpha-2 country code (AL, SY), or XK"

    @classmethod
    def refusal(cls, value: str) -> str | None:
        """Why ``value`` is not an accepted country code, or None."""
        accepted = _country_table()
        if value in accepted:
            return None
        if value.upper() in accepted:
            return f"send country codes in capitals: {value.upper()!r}"
        return (
            "not a country code: send the ISO 3166-1 alpha-2 code of the country (two capital"
            " letters, e.g. 'AL', 'SY'), or 'XK' for Kosovo"
        )


@functools.cache
def _language_table() -> tuple[frozenset[str], dict[str, str]]:
    """(accepted codes, longer code -> the ISO 639-1 code to send instead), from pycountry."""
    accepted: set[str] = set()
    preferred: dict[str, str] = {}
    for lang in pycountry.languages:
        two = getattr(lang, "alpha_2", None)
        if two is None:
            accepted.add(lang.alpha_3)
            continue
        accepted.add(two)
        preferred[lang.alpha_3] = two
        if (bibliographic := getattr(lang, "bibliographic", None)) is not None:
            preferred[bibliographic] = two
    return frozenset(accepted), preferred


@functools.cache
def _country_table() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes from pycountry, plus XK (Kosovo*, user-assigned, used by the
    EU and MARRI)."""
    return frozenset({c.alpha_2 for c in pycountry.countries} | {"XK"})


def language_codes() -> frozenset[str]:
    """Every language code csomatch accepts."""
    return _language_table()[0]


def is_listed_code(kind: Any) -> bool:
    """Whether a type is a code checked against a maintained list (for ``type_decoders``)."""
    return isinstance(kind, type) and issubclass(kind, ListedCode)


def decode_code(kind: Any, value: Any) -> Any:
    """msgspec ``dec_hook``: a listed code, or ``ValueError`` with a sentence saying how to fix.

    msgspec adds where the value was (``- at `$.languages[1]```).
    """
    if not is_listed_code(kind):
        raise NotImplementedError(f"no decoder for {kind!r}")
    if not isinstance(value, str):
        raise ValueError(f"Expected `str`, got `{type(value).__name__}`: send the code as text")
    reason = kind.refusal(value)
    if reason is not None:
        raise ValueError(reason)
    return value  # a plain str, which is an instance of ``kind`` (see _ListedCodeType)


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


class Licence(Stored, frozen=True):
    """A licence an authority granted to an organisation for some services."""

    id: uuid.UUID
    organization_id: uuid.UUID
    authority: str
    number: str
    service_codes: list[str]
    valid_from: dt.date
    valid_to: dt.date | None
    verified_by: str | None
    verified_at: dt.datetime | None


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


class Location(Stored, frozen=True):
    """A site of an organisation; ``confidential`` hides its address and point."""

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    area_code: str
    area_name: str
    participant_code: str
    address: str | None
    latitude: float
    longitude: float
    accessibility: list[str]
    confidential: bool


class Capacity(Stored, frozen=True):
    """Typed capacity of a service; free places are ``available - held`` (never below 0: a
    provider may report fewer places than are held, and the holds beyond are at risk)."""

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


class Service(Stored, frozen=True):
    """One service of one organisation at one location."""

    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str
    location_id: uuid.UUID
    taxonomy_code: str
    name: str
    description: str
    genders: list[str]
    age_bands: list[str]
    accepts_children: bool
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


class AddressScope(Stored, frozen=True):
    """The confidential sites whose street address and exact point a caller sees.

    Built for a caller by ``registry.addresses.address_scope`` (the one rule); everything that
    shows a site, measures a distance to it or searches around it asks this scope. The default sees
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
