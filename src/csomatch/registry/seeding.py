"""Load the reference data (taxonomy, gazetteer) and the fictional demo registry.

The seed files live in ``seed_data/`` (see its README). Times in them are relative; they
become timestamps on the day of the load. Every row has a fixed id (or, for licences,
funders and grants, one derived with ``uuid5``), so loading twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import asyncpg
import msgspec

from csomatch.db import areas as areas_db
from csomatch.db import funding as funding_db
from csomatch.db import organizations as orgs_db
from csomatch.db import services as services_db
from csomatch.domain import OtherName, ServiceTerms, TaxonomyTerm, service_terms
from csomatch.gaps.demo import load_demo_demand
from csomatch.registry import areas as area_names
from csomatch.registry import gazetteer

# Namespace of the ids this loader derives (licences, funders, grants have none in the files).
SEED_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://csomatch.example.org/seed")
SEED_SOURCE = "seed"


class SeedReport(msgspec.Struct, frozen=True, kw_only=True):
    """How many rows of each kind a load added (0 for rows that already existed)."""

    taxonomy_terms: int = 0
    areas: int = 0
    organizations: int = 0
    licences: int = 0
    locations: int = 0
    services: int = 0
    capacities: int = 0
    funders: int = 0
    grants: int = 0
    demand_signals: int = 0


# --- The seed files, as they are written (field names differ from the columns). ---


class _SeedFile(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the seed-file types: unknown fields (``_notice``) are ignored."""


class _Group(_SeedFile, frozen=True):
    code: str
    name: str


class _Code(_SeedFile, frozen=True):
    code: str
    name: str
    accommodation: bool


class _Taxonomy(_SeedFile, frozen=True):
    groups: list[_Group]
    codes: list[_Code]


class _Licence(_SeedFile, frozen=True):
    authority: str
    number: str
    service_codes: list[str]
    valid_from: dt.date
    valid_to: dt.date | None
    verified_by: str | None
    verified_days_ago: float | None
    #: A few licences end this many days after the load day instead of on ``valid_to``, so
    #: the demo always has renewals due (``/licences``, the reminders).
    valid_to_days: int | None = None


class _Location(_SeedFile, frozen=True):
    id: uuid.UUID
    name: str
    area: str
    address: str | None
    latitude: float
    longitude: float
    accessibility: list[str]
    confidential: bool


class _Capacity(_SeedFile, frozen=True):
    unit: str
    maximum: int
    available: int
    updated_hours_ago: float
    verified_hours_ago: float | None


class _Service(ServiceTerms, frozen=True):
    # The shared terms, and what and where it is under the files' names (``code`` is
    # declared here: msgspec renames only a class's own fields).
    id: uuid.UUID
    location: uuid.UUID
    code: str
    capacity: _Capacity | None = None
    #: The intake duty phone; without one the demo gives a fictional number (`demo_phone`).
    duty_phone: str | None = None


class _Organization(_SeedFile, frozen=True):
    id: uuid.UUID
    participant: str
    name: str
    kind: str
    registration_number: str | None
    survivor_led: bool
    email: str | None
    website: str | None
    accepting_referrals: bool
    licences: list[_Licence]
    locations: list[_Location]
    services: list[_Service]


class _Registry(_SeedFile, frozen=True):
    organizations: list[_Organization]


class _OtherName(_SeedFile, frozen=True):
    organization: uuid.UUID
    language: str
    name: str


class _OtherNames(_SeedFile, frozen=True):
    names: list[_OtherName]


def _other_names(seed_dir: Path) -> dict[uuid.UUID, tuple[OtherName, ...]]:
    """The demo organisations' names in other languages (``organization_names.json``).

    The file is optional: a generated registry (``generate.py --out``) has none.
    """
    path = seed_dir / "organization_names.json"
    if not path.exists():
        return {}
    found: dict[uuid.UUID, tuple[OtherName, ...]] = {}
    for row in msgspec.json.decode(path.read_bytes(), type=_OtherNames).names:
        other = OtherName(language=row.language, name=row.name)
        found[row.organization] = (*found.get(row.organization, ()), other)
    return found


class _Funder(_SeedFile, frozen=True):
    ref: str
    name: str
    kind: str
    participant: str | None


class _Grant(_SeedFile, frozen=True):
    external_id: str
    funder: str
    recipient: uuid.UUID
    services: list[uuid.UUID]
    amount: Decimal
    currency: str
    start_days: int
    end_days: int
    status: str
    funded_units: int | None
    unit: str | None


class _Funding(_SeedFile, frozen=True):
    funders: list[_Funder]
    grants: list[_Grant]


def default_seed_dir() -> Path:
    """Return the ``seed_data/`` directory of the source tree."""
    return Path(__file__).resolve().parents[3] / "seed_data"


def taxonomy_terms(seed_dir: Path) -> list[TaxonomyTerm]:
    """Read ``taxonomy.json``: groups have no parent, a code's parent is the part before the dot."""
    taxonomy = msgspec.json.decode((seed_dir / "taxonomy.json").read_bytes(), type=_Taxonomy)
    groups = [
        TaxonomyTerm(code=g.code, parent_code=None, name=g.name, accommodation=False)
        for g in taxonomy.groups
    ]
    codes = [
        TaxonomyTerm(
            code=c.code,
            parent_code=c.code.split(".", 1)[0],
            name=c.name,
            accommodation=c.accommodation,
        )
        for c in taxonomy.codes
    ]
    return groups + codes


async def load_reference(conn: asyncpg.Connection, seed_dir: Path) -> SeedReport:
    """Load the taxonomy and the gazetteer; the other counts of the report are 0."""
    terms = taxonomy_terms(seed_dir)
    places, names = gazetteer.load_gazetteer()
    async with conn.transaction():
        added_terms = await areas_db.upsert_taxonomy(conn, terms)
        added_areas = await areas_db.upsert_areas(conn, places)
        # The names are reloaded every time, so that a release's reviewed names reach
        # databases seeded before it.
        await area_names.load_names(conn, names)
    return SeedReport(taxonomy_terms=added_terms, areas=added_areas)


async def load_demo(
    conn: asyncpg.Connection,
    seed_dir: Path,
    *,
    now: dt.datetime,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Load the reference data and the fictional demo registry and funding, in one transaction.

    ``now`` (timezone-aware) turns the relative times of the files into timestamps: capacity
    updated ``updated_hours_ago`` hours before it, grants running from ``start_days`` to
    ``end_days`` days around its date. ``progress`` gets one short line per stage.
    """

    def say(message: str) -> None:
        if progress is not None:
            progress(message)

    registry = msgspec.json.decode((seed_dir / "registry.json").read_bytes(), type=_Registry)
    funding = msgspec.json.decode((seed_dir / "funding.json").read_bytes(), type=_Funding)
    orgs = registry.organizations

    async with conn.transaction():
        reference = await load_reference(conn, seed_dir)
        say(f"taxonomy: {reference.taxonomy_terms} added")
        say(f"areas: {reference.areas} added")
        added_orgs = await _insert_organizations(conn, orgs, _other_names(seed_dir))
        say(f"organisations: {added_orgs} added")
        added_licences = await _insert_licences(conn, orgs, now)
        say(f"licences: {added_licences} added")
        added_locations = await _insert_locations(conn, orgs)
        say(f"locations: {added_locations} added")
        added_services = await _insert_services(conn, orgs)
        say(f"services: {added_services} added")
        added_capacities = await _insert_capacities(conn, orgs, now)
        say(f"capacity: {added_capacities} added")
        added_funders, funder_ids = await _upsert_funders(conn, funding.funders)
        say(f"funders: {added_funders} added")
        org_names = {org.id: org.name for org in orgs}
        added_grants = await _insert_grants(conn, funding.grants, funder_ids, org_names, now)
        say(f"grants: {added_grants} added")
        added_signals = await load_demo_demand(conn, now=now)
        say(f"demand signals (12 months, synthetic): {added_signals} added")
        # Fresh planner statistics: without them the first searches after a bulk load plan
        # nested loops for a few rows and run several times slower.
        await conn.execute("ANALYZE")

    return SeedReport(
        taxonomy_terms=reference.taxonomy_terms,
        areas=reference.areas,
        organizations=added_orgs,
        licences=added_licences,
        locations=added_locations,
        services=added_services,
        capacities=added_capacities,
        funders=added_funders,
        grants=added_grants,
        demand_signals=added_signals,
    )


# --- The stages of `load_demo`, each run inside its transaction; each returns rows added. ---


async def _insert_organizations(
    conn: asyncpg.Connection,
    orgs: list[_Organization],
    other_names: dict[uuid.UUID, tuple[OtherName, ...]],
) -> int:
    """Insert the organisations of the registry file, with their names in other languages."""
    added = 0
    for org in orgs:
        new = _new_organization(org, other_names.get(org.id, ()))
        added += await orgs_db.insert_organization(conn, new)
    return added


async def _insert_licences(
    conn: asyncpg.Connection, orgs: list[_Organization], now: dt.datetime
) -> int:
    """Insert every organisation's licences, verified the given days before ``now``."""
    added = 0
    for org in orgs:
        for lic in org.licences:
            added += await orgs_db.insert_licence(conn, _new_licence(org, lic, now))
    return added


async def _insert_locations(conn: asyncpg.Connection, orgs: list[_Organization]) -> int:
    """Insert every organisation's locations."""
    added = 0
    for org in orgs:
        for loc in org.locations:
            added += await orgs_db.insert_location(conn, _new_location(org, loc))
    return added


async def _insert_services(conn: asyncpg.Connection, orgs: list[_Organization]) -> int:
    """Insert every organisation's services."""
    added = 0
    for org in orgs:
        for svc in org.services:
            added += await services_db.insert_service(conn, _new_service(org, svc))
    return added


async def _insert_capacities(
    conn: asyncpg.Connection, orgs: list[_Organization], now: dt.datetime
) -> int:
    """Insert the capacity of every service that states one, updated relative to ``now``."""
    added = 0
    for org in orgs:
        for svc in org.services:
            if svc.capacity is not None:
                cap = _new_capacity(svc.id, svc.capacity, now)
                added += await services_db.insert_capacity(conn, cap)
    return added


async def _upsert_funders(
    conn: asyncpg.Connection, funders: list[_Funder]
) -> tuple[int, dict[str, uuid.UUID]]:
    """Upsert the funders; return how many are new and the id of each file ``ref``."""
    funders_before = (await funding_db.count_funding(conn)).funders
    funder_ids: dict[str, uuid.UUID] = {}
    for funder in funders:
        funder_ids[funder.ref] = await funding_db.upsert_funder(conn, _new_funder(funder))
    added = (await funding_db.count_funding(conn)).funders - funders_before
    return added, funder_ids


async def _insert_grants(
    conn: asyncpg.Connection,
    grants: list[_Grant],
    funder_ids: dict[str, uuid.UUID],
    org_names: dict[uuid.UUID, str],
    now: dt.datetime,
) -> int:
    """Insert the grants, their periods relative to the date of ``now``."""
    added = 0
    for grant in grants:
        record = _new_funding(grant, funder_ids, org_names, now.date())
        added += await funding_db.insert_funding(conn, record)
    return added


# --- Mapping the seed files onto the insert types. ---


def _new_organization(
    org: _Organization, other_names: tuple[OtherName, ...] = ()
) -> orgs_db.NewOrganization:
    return orgs_db.NewOrganization(
        id=org.id,
        participant_code=org.participant,
        name=org.name,
        kind=org.kind,
        registration_number=org.registration_number,
        survivor_led=org.survivor_led,
        email=org.email,
        website=org.website,
        accepting_referrals=org.accepting_referrals,
        other_names=other_names,
    )


def _new_licence(org: _Organization, lic: _Licence, now: dt.datetime) -> orgs_db.NewLicence:
    # The files give licences no id; (organisation, authority, number) is unique.
    key = f"licence:{org.id}:{lic.authority}:{lic.number}"
    return orgs_db.NewLicence(
        id=uuid.uuid5(SEED_NAMESPACE, key),
        organization_id=org.id,
        authority=lic.authority,
        number=lic.number,
        service_codes=lic.service_codes,
        valid_from=lic.valid_from,
        valid_to=(
            lic.valid_to
            if lic.valid_to_days is None
            else now.astimezone(dt.UTC).date() + dt.timedelta(days=lic.valid_to_days)
        ),
        verified_by=lic.verified_by,
        verified_at=(
            None
            if lic.verified_days_ago is None
            else now - dt.timedelta(days=lic.verified_days_ago)
        ),
    )


def _new_location(org: _Organization, loc: _Location) -> orgs_db.NewLocation:
    return orgs_db.NewLocation(
        id=loc.id,
        organization_id=org.id,
        name=loc.name,
        area_code=loc.area,
        address=loc.address,
        latitude=loc.latitude,
        longitude=loc.longitude,
        accessibility=loc.accessibility,
        confidential=loc.confidential,
    )


#: Fictional duty phones of the demo: a made-up exchange per participant (``555``, as in
#: films), in E.164, and how many digits of the service's id follow it.
_DEMO_PHONES: dict[str, tuple[str, int]] = {
    "RS": ("+38111555", 4), "AL": ("+3554222", 4), "BA": ("+38733555", 3),
    "XK": ("+38338555", 3), "ME": ("+38220555", 3), "MK": ("+3892555", 4),
}  # fmt: skip


def demo_phone(participant: str, service_id: uuid.UUID) -> str | None:
    """A fictional, well-formed intake duty phone for a demo service (None: no exchange)."""
    if participant not in _DEMO_PHONES:
        return None
    prefix, digits = _DEMO_PHONES[participant]
    return prefix + str(service_id.int % 10**digits).zfill(digits)


def _new_service(org: _Organization, svc: _Service) -> services_db.NewService:
    return services_db.NewService(
        id=svc.id,
        organization_id=org.id,
        location_id=svc.location,
        taxonomy_code=svc.code,
        duty_phone=svc.duty_phone or demo_phone(org.participant, svc.id),
        **service_terms(svc),
    )


def _new_capacity(
    service_id: uuid.UUID, cap: _Capacity, now: dt.datetime
) -> services_db.NewCapacity:
    return services_db.NewCapacity(
        service_id=service_id,
        unit=cap.unit,
        maximum=cap.maximum,
        available=cap.available,
        updated_at=now - dt.timedelta(hours=cap.updated_hours_ago),
        verified_at=(
            None
            if cap.verified_hours_ago is None
            else now - dt.timedelta(hours=cap.verified_hours_ago)
        ),
    )


def _new_funder(funder: _Funder) -> funding_db.NewFunder:
    return funding_db.NewFunder(
        id=uuid.uuid5(SEED_NAMESPACE, f"funder:{funder.ref}"),
        ref=funder.ref,
        name=funder.name,
        kind=funder.kind,
        participant_code=funder.participant,
    )


def _new_funding(
    grant: _Grant,
    funder_ids: dict[str, uuid.UUID],
    org_names: dict[uuid.UUID, str],
    today: dt.date,
) -> funding_db.NewFunding:
    if grant.funder not in funder_ids:
        raise ValueError(f"grant {grant.external_id}: unknown funder {grant.funder!r}")
    if grant.recipient not in org_names:
        raise ValueError(f"grant {grant.external_id}: unknown recipient {grant.recipient}")
    return funding_db.NewFunding(
        id=uuid.uuid5(SEED_NAMESPACE, f"funding:{SEED_SOURCE}:{grant.external_id}"),
        funder_id=funder_ids[grant.funder],
        recipient_organization_id=grant.recipient,
        recipient_name=org_names[grant.recipient],
        amount=grant.amount,
        currency=grant.currency,
        period_start=today + dt.timedelta(days=grant.start_days),
        period_end=today + dt.timedelta(days=grant.end_days),
        status=grant.status,
        source=SEED_SOURCE,
        external_id=grant.external_id,
        funded_units=grant.funded_units,
        unit=grant.unit,
        service_ids=grant.services,
    )
