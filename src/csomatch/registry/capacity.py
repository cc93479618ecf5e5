"""A service's capacity: read it, and report it now (guarded against lost updates)."""

from __future__ import annotations

import uuid

import asyncpg

from csomatch.db import services as svc_db
from csomatch.domain import Capacity, Principal, Service
from csomatch.errors import InvalidInput, NotFound, PreconditionRequired, StaleVersion
from csomatch.i18n import _


#: Roles that may report capacity for any service of their jurisdiction.
async def get_capacity(conn: asyncpg.Connection, service_id: uuid.UUID) -> Capacity:
    """A service's capacity record, or NotFound (no record, or no such service)."""
    cap = await svc_db.get_capacity(conn, service_id)
    if cap is None:
        raise NotFound(
            _(
                "service {service_id} has no capacity record (or does not exist)",
                service_id=service_id,
            )
        )
    return cap


def _may_report(principal: Principal, svc: Service) -> bool:
    """Whether this caller may report the capacity of ``svc``.

    Providers report for their own organisation; coordinators and admins for their
    jurisdiction's services.
    """
    return principal.may_manage(svc.organization_id, svc.participant_code)


async def report_capacity(
    conn: asyncpg.Connection,
    principal: Principal,
    service_id: uuid.UUID,
    *,
    unit: str,
    maximum: int,
    available: int,
    if_match: int | None,
) -> Capacity:
    """Set a service's capacity now, guarded against lost updates.

    A provider may report only for its own organisation's services (others answer NotFound,
    so their existence is not revealed). A service with a capacity record needs the version
    the caller last saw (If-Match).
    """
    svc = await svc_db.get_service(conn, service_id)
    if svc is None or not _may_report(principal, svc):
        raise NotFound(_("no service {service_id}", service_id=service_id))
    if available > maximum:
        raise InvalidInput(
            _(
                "{available} places are reported free but the service has {maximum} in "
                "total; report at most {maximum} as free, or raise the maximum.",
                available=available,
                maximum=maximum,
            ),
            field="$.available",
        )
    if svc.capacity_version is not None and if_match is None:
        raise PreconditionRequired(
            _(
                "send If-Match with the ETag from GET .../capacity, so that a newer "
                "report is never overwritten"
            )
        )
    cap = await svc_db.upsert_capacity(
        conn, service_id, unit=unit, maximum=maximum, available=available,
        expected_version=if_match if svc.capacity_version is not None else None,
    )  # fmt: skip
    if cap is None:
        raise StaleVersion(
            _("the capacity changed since you read it; GET it again and re-apply your change")
        )
    return cap
