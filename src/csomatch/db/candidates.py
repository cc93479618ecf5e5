"""Queries the matcher needs: services offering some codes (with their licence), area centres."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.errors import translated
from csomatch.db.services import _SERVICE_SELECT
from csomatch.db.track_records import TrackRecord
from csomatch.domain import Service

# Whether the service's organisation holds a licence in force (active: neither suspended
# nor revoked) and valid on $2 that lists the service's code. Computed in the same query, so
# the matcher needs no query per service; written as IN over the (organisation, code) pairs
# licensed that day, so PostgreSQL builds that set once (a hashed subplan) instead of
# scanning the licences once per service.
_LICENCE_VALID = (
    "COALESCE((s.organization_id, s.taxonomy_code) IN ("
    "SELECT lic.organization_id, code FROM licence lic, unnest(lic.service_codes) AS code"
    " WHERE lic.status = 'active' AND lic.valid_from <= $2"
    " AND (lic.valid_to IS NULL OR lic.valid_to >= $2)),"
    " false) AS licence_valid, "
)
# The service's track record in the same row (NULL for a service never offered).
_RECORD = (
    "t.offers AS record_offers, t.accepted AS record_accepted,"
    " t.feedback_n AS record_feedback_n, t.feedback_sum AS record_feedback_sum, "
)


class Candidates(msgspec.Struct, frozen=True, kw_only=True):
    """Services offering the asked codes, their valid licences and their track records."""

    services: list[Service]
    #: Ids of the services whose organisation holds a licence valid on the day asked that
    #: lists the service's code (whether or not the service needs one).
    licensed: frozenset[uuid.UUID]
    #: Track records of the services that have one (a service never offered has none).
    records: dict[uuid.UUID, TrackRecord]


class _Candidate(Service, frozen=True):
    """A service row with its licence check and track record (a Service to every reader)."""

    licence_valid: bool
    record_offers: int | None
    record_accepted: int | None
    record_feedback_n: int | None
    record_feedback_sum: int | None

    def record(self) -> TrackRecord | None:
        """The track record, or None for a service never offered."""
        if self.record_offers is None:
            return None
        return TrackRecord(
            service_id=self.id,
            offers=self.record_offers,
            accepted=self.record_accepted or 0,
            feedback_n=self.record_feedback_n or 0,
            feedback_sum=self.record_feedback_sum or 0,
        )


async def candidate_services(
    conn: asyncpg.Connection, codes: Sequence[str], on: dt.date
) -> Candidates:
    """Every service offering one of ``codes``: location, capacity, licence on ``on``, record.

    One query whatever the number of codes.
    """
    async with translated():
        rows = await conn.fetch(
            _SERVICE_SELECT.replace("SELECT ", "SELECT " + _LICENCE_VALID + _RECORD, 1)
            + " LEFT JOIN service_track_record t ON t.service_id = s.id"
            + " WHERE s.taxonomy_code = ANY($1::text[]) ORDER BY s.taxonomy_code, s.id",
            list(codes),
            on,
        )
    # From dicts: several times faster than reading the records' attributes.
    found = msgspec.convert([dict(row) for row in rows], list[_Candidate])
    records = {c.id: r for c in found if (r := c.record()) is not None}
    return Candidates(
        services=list(found),
        licensed=frozenset(c.id for c in found if c.licence_valid),
        records=records,
    )


async def area_points(
    conn: asyncpg.Connection, codes: Sequence[str]
) -> dict[str, tuple[float, float]]:
    """Centres (latitude, longitude) of the known areas among ``codes``."""
    async with translated():
        rows = await conn.fetch(
            "SELECT code, latitude, longitude FROM area WHERE code = ANY($1::text[])", list(codes)
        )
    return {r["code"]: (float(r["latitude"]), float(r["longitude"])) for r in rows}
