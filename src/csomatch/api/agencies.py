"""HTTP routes of agencies: the bodies officers refer for, with their duty phones.

Coordinators and admins manage the agencies of their jurisdiction; officers read them.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter

from csomatch.api.auth import roles
from csomatch.api.deps import Caller, Conn
from csomatch.api.idempotency import idempotent
from csomatch.api.params import ETAG, IfMatch, Offset, etag, version_of
from csomatch.api.schemas.agencies import AgencyIn, AgencyList, AgencyOut, AgencyPatch
from csomatch.api.schemas.registry import changes_of
from csomatch.domain import COORDINATING
from csomatch.registry import agencies
from csomatch.registry.agencies import Agency

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="page size")]
READERS = ("officer", *COORDINATING)


def _out(agency: Agency) -> AgencyOut:
    return msgspec.convert(agency, AgencyOut, from_attributes=True)


@get("/api/v1/agencies", opt=roles(*READERS))
async def list_agencies(
    conn: Conn, principal: Caller, limit: Limit = 100, offset: Offset = 0
) -> AgencyList:
    """The agencies of your jurisdiction (a ``MARRI`` token: all), by name."""
    found = await agencies.list_agencies(conn, principal, limit=limit, offset=offset)
    return AgencyList(agencies=[_out(a) for a in found])


@get("/api/v1/agencies/{agency_id:uuid}", opt=roles(*READERS), response_headers=ETAG)
async def get_agency(
    conn: Conn, principal: Caller, agency_id: FromPath[uuid.UUID]
) -> Response[AgencyOut]:
    """One agency of your jurisdiction; its ETag is the version ``PATCH`` checks in If-Match."""
    agency = await agencies.readable_agency(conn, principal, agency_id)
    return Response(_out(agency), headers={"ETag": etag(agency.version)})


@post("/api/v1/agencies", opt=roles(*COORDINATING), status_code=201, response_headers=ETAG)
async def create_agency(
    request: Request[Any, Any, Any], conn: Conn, principal: Caller, data: JSONBody[AgencyIn]
) -> Response[AgencyOut]:
    """Register an agency of your jurisdiction (honours an Idempotency-Key)."""

    async def run() -> Response[AgencyOut]:
        async with conn.transaction():
            agency = await agencies.create_agency(
                conn, principal, jurisdiction=data.jurisdiction, name=data.name,
                phone=data.duty_phone, guardianship_authority=data.guardianship_authority,
            )  # fmt: skip
        return Response(_out(agency), status_code=201, headers={"ETag": etag(agency.version)})

    return await idempotent(request, conn, principal, run, status_code=201, required=False)


@patch("/api/v1/agencies/{agency_id:uuid}", opt=roles(*COORDINATING), response_headers=ETAG)
async def update_agency(
    conn: Conn,
    principal: Caller,
    agency_id: FromPath[uuid.UUID],
    data: JSONBody[AgencyPatch],
    if_match: IfMatch = None,
) -> Response[AgencyOut]:
    """Change an agency's name or duty phone. ``If-Match`` guards lost updates."""
    async with conn.transaction():
        agency = await agencies.update_agency(
            conn, principal, agency_id, changes_of(data), version_of(if_match, required=False)
        )
    return Response(_out(agency), headers={"ETag": etag(agency.version)})


@delete("/api/v1/agencies/{agency_id:uuid}", opt=roles(*COORDINATING), status_code=204)
async def delete_agency(conn: Conn, principal: Caller, agency_id: FromPath[uuid.UUID]) -> None:
    """Remove an agency; tokens that named it keep working, with the agency's name only."""
    async with conn.transaction():
        await agencies.delete_agency(conn, principal, agency_id)


AGENCY_ROUTES = [list_agencies, get_agency, create_agency, update_agency, delete_agency]
