"""The registry as the matcher sees it for one request, read in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping

import asyncpg
import msgspec

from csomatch.db import areas as area_db
from csomatch.db.candidates import area_points, candidate_services
from csomatch.db.track_records import TrackRecord
from csomatch.domain import AddressScope, Service
from csomatch.errors import InvalidInput
from csomatch.geo import Point
from csomatch.i18n import _
from csomatch.matching.rules import INTERPRETATION_CODE


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Candidate services, their licences and track records, and area centres, at ``now``."""

    services: list[Service]
    #: Services covered by a licence valid today that lists their code.
    licensed: frozenset[uuid.UUID]
    #: Track records of the services that have one (a new service has none).
    records: dict[uuid.UUID, TrackRecord]
    #: Centres (latitude, longitude) of the areas the profiles name.
    areas: dict[str, Point]
    now: dt.datetime
    stale_hours: float


async def service_codes(conn: asyncpg.Connection) -> frozenset[str]:
    """The taxonomy's service codes (second-level terms), read once per request."""
    return frozenset(t.code for t in await area_db.list_taxonomy(conn) if t.parent_code)


def check_code(code: str, known: frozenset[str], field: str) -> None:
    """Raise InvalidInput naming ``field`` when ``code`` is not a service code."""
    if code not in known:
        raise InvalidInput(_("unknown taxonomy code {code}", code=repr(code)), field=field)


def check_areas(named: Iterable[tuple[str, str]], points: dict[str, Point]) -> None:
    """Raise InvalidInput naming the field of the first (field, code) not in the gazetteer."""
    for field, code in named:
        if code not in points:
            raise InvalidInput(
                _("unknown area code {code}; look it up at /api/v1/areas", code=repr(code)),
                field=field,
            )


async def load_snapshot(
    conn: asyncpg.Connection,
    *,
    codes: Iterable[str],
    areas: Iterable[tuple[str, str]],
    now: dt.datetime,
    stale_hours: float,
    address_scope: AddressScope,
) -> Snapshot:
    """Read what matching ``codes`` needs: two queries whatever the number of needs.

    Args:
        conn: the connection to read from.
        codes: the service codes asked for (interpretation is added).
        areas: (JSON path, area code) of every area the request names; an unknown one is
            an InvalidInput naming its path.
        now: the time of the match: licences are checked on its date, capacity ages from it.
        stale_hours: a capacity number older than this (or missing) counts as stale.
        address_scope: the confidential sites the caller sees in full
            (``registry.addresses.address_scope``); every other one is placed at its
            municipality's centre, so that distances cannot be used to triangulate a shelter.
    """
    named = list(areas)
    points = await area_points(conn, sorted({code for _, code in named}))
    check_areas(named, points)
    wanted = sorted({*codes, INTERPRETATION_CODE})
    found = await candidate_services(conn, wanted, now.astimezone(dt.UTC).date())
    services = [
        msgspec.structs.replace(s, latitude=s.area_latitude, longitude=s.area_longitude)
        if s.confidential and not address_scope.covers(s.participant_code)
        else s
        for s in found.services
    ]
    return Snapshot(
        services=services,
        licensed=found.licensed,
        records=found.records,
        areas=points,
        now=now,
        stale_hours=stale_hours,
    )


def with_held(snap: Snapshot, taken: Mapping[uuid.UUID, int]) -> Snapshot:
    """``snap`` with ``taken`` places more held at each service named (a what-happens-next view).

    The simulations of bench/online.py and bench/surge.py place people one after another
    with it, as holds would, without writing to the database; a service without a capacity
    number stays without one.
    """
    if not taken:
        return snap
    services = [
        msgspec.structs.replace(s, held=s.held + taken[s.id])
        if s.id in taken and s.held is not None
        else s
        for s in snap.services
    ]
    return msgspec.structs.replace(snap, services=services)
