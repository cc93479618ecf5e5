"""Licences that live: list, add, renew, suspend, revoke and reinstate; remind before they end.

Coordinators and admins manage the licences of their jurisdiction's organisations (a
``MARRI`` token: every one); a provider reads its own organisation's. Someone else's
organisation or licence is "not found". Each change is audited (who, what, which licence)
and announced through the outbox (``licence.*`` events) to the organisation and its
participant's coordinators.

A licence is ``active``, ``suspended`` (it may be reinstated) or ``revoked`` (final). The
matcher counts a licence only while it is active and within its dates
(``db.candidates``). Its *state* on a day joins the two: ``revoked``, ``suspended``,
``not_yet_valid``, ``expired``, ``expiring`` (it ends within 90 days) or ``valid``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Final

import asyncpg
import msgspec

from csomatch.db import licences as lic_db
from csomatch.db.audit import AuditActor, record_event
from csomatch.db.licences import Licence, NewLicence, Renewal
from csomatch.db.outbox import NewEvent, emit
from csomatch.domain import Principal
from csomatch.domain.vocabulary import LICENCE_EXPIRING_DAYS, LicenceState
from csomatch.errors import Conflict, Forbidden, InvalidInput, NotFound, StaleVersion
from csomatch.i18n import _
from csomatch.registry.organizations import managed_organization
from csomatch.registry.taxonomy import list_terms

__all__ = [
    "OPERATOR",
    "OPERATOR_ACTOR",
    "Licence",
    "LicenceView",
    "NewLicence",
    "Renewal",
    "add_licence",
    "change_status",
    "days_until_expiry",
    "jurisdiction_licences",
    "one_licence",
    "organization_licences",
    "renew_licence",
    "send_reminders",
    "state_of",
]

#: Who acts at the command line (``csomatch licence ...``): the operator, region-wide.
OPERATOR: Final = Principal(id=uuid.UUID(int=0), role="admin", jurisdiction="MARRI")
#: How the audit log names the operator at the command line (no token).
OPERATOR_ACTOR: Final = AuditActor(token_id=None, role="cli", jurisdiction="MARRI")

#: status -> (the statuses it may be reached from, the audit action, the event type).
_MOVES: Final[dict[str, tuple[frozenset[str], str, str]]] = {
    "suspended": (frozenset({"active"}), "licence.suspend", "licence.suspended"),
    "revoked": (frozenset({"active", "suspended"}), "licence.revoke", "licence.revoked"),
    "active": (frozenset({"suspended"}), "licence.reinstate", "licence.reinstated"),
}


class LicenceView(msgspec.Struct, frozen=True, kw_only=True):
    """A licence with its state on a day and the days until it ends."""

    licence: Licence
    state: LicenceState
    days_until_expiry: int | None


def days_until_expiry(lic: Licence, today: dt.date) -> int | None:
    """Days from ``today`` to the licence's last valid day (negative once past; None: no end)."""
    return None if lic.valid_to is None else (lic.valid_to - today).days


def state_of(lic: Licence, today: dt.date) -> LicenceState:
    """The licence's state on ``today``: its status first, then its dates."""
    if lic.status == "revoked":
        return "revoked"
    if lic.status == "suspended":
        return "suspended"
    if today < lic.valid_from:
        return "not_yet_valid"
    left = days_until_expiry(lic, today)
    if left is None:
        return "valid"
    if left < 0:
        return "expired"
    return "expiring" if left <= LICENCE_EXPIRING_DAYS else "valid"


def view(lic: Licence, today: dt.date) -> LicenceView:
    """The licence as it stands on ``today``."""
    return LicenceView(
        licence=lic, state=state_of(lic, today), days_until_expiry=days_until_expiry(lic, today)
    )


def actor_of(principal: Principal) -> AuditActor:
    """The audit log's view of a caller.

    The same as ``referrals.access.actor_of``, which this package cannot import: referrals
    import the registry.
    """
    return AuditActor(
        token_id=principal.id,
        role=principal.role,
        jurisdiction=principal.jurisdiction,
        organization_id=principal.organization_id,
        agency=principal.agency,
    )


async def organization_licences(
    conn: asyncpg.Connection, principal: Principal, org_id: uuid.UUID, *, today: dt.date
) -> list[LicenceView]:
    """An organisation's licences (providers: their own), the soonest to end first."""
    await managed_organization(conn, principal, org_id)
    return [view(lic, today) for lic in await lic_db.organization_licences(conn, org_id)]


async def one_licence(
    conn: asyncpg.Connection,
    principal: Principal,
    org_id: uuid.UUID,
    licence_id: uuid.UUID,
    *,
    today: dt.date,
) -> LicenceView:
    """One licence of an organisation the caller may read, else NotFound."""
    await managed_organization(conn, principal, org_id)
    lic = await lic_db.get_licence(conn, licence_id)
    if lic is None or lic.organization_id != org_id:
        raise NotFound(
            _(
                "no licence {licence_id} of organisation {org_id}",
                licence_id=licence_id,
                org_id=org_id,
            )
        )
    return view(lic, today)


async def jurisdiction_licences(
    conn: asyncpg.Connection,
    principal: Principal,
    *,
    participant: str | None,
    expiring_within: int | None,
    today: dt.date,
    limit: int = 1000,
) -> list[LicenceView]:
    """The licences of the caller's jurisdiction, the soonest to end first (coordinators).

    ``expiring_within``: only those not revoked that end within that many days, or have
    ended already. A region-wide token may narrow the list to one ``participant``.
    """
    if not principal.is_coordinating():
        raise Forbidden(_("the {role} role does not oversee licences", role=principal.role))
    if participant is not None and not principal.covers(participant):
        raise Forbidden(
            _(
                "a {jurisdiction} token sees the licences of {jurisdiction} only, not "
                "of {participant}",
                jurisdiction=principal.jurisdiction,
                participant=participant,
            )
        )
    scope = participant or principal.participant()
    ending_by = None if expiring_within is None else today + dt.timedelta(days=expiring_within)
    found = await lic_db.jurisdiction_licences(
        conn, participant=scope, ending_by=ending_by, limit=limit
    )
    return [view(lic, today) for lic in found]


def _must_manage(principal: Principal) -> None:
    if not principal.is_coordinating():
        raise Forbidden(
            _(
                "the {role} role may read licences, not change them; ask a coordinator",
                role=principal.role,
            )
        )


async def _check_codes(conn: asyncpg.Connection, codes: list[str]) -> None:
    """InvalidInput naming ``$.service_codes[i]`` for the first code not in the taxonomy."""
    known = {t.code for t in await list_terms(conn) if t.parent_code is not None}
    for i, code in enumerate(codes):
        if code not in known:
            raise InvalidInput(
                _(
                    "{code} is no service code of the taxonomy; GET /api/v1/taxonomy lists them",
                    code=repr(code),
                ),
                field=f"$.service_codes[{i}]",
            )
    if len(set(codes)) != len(codes):
        raise InvalidInput(_("list each service code once"), field="$.service_codes")


def _check_dates(valid_from: dt.date, valid_to: dt.date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise InvalidInput(
            _(
                "valid_to {valid_to} is before valid_from {valid_from}; a licence ends "
                "on or after the day it starts",
                valid_to=valid_to,
                valid_from=valid_from,
            ),
            field="$.valid_to",
        )


async def _announce(
    conn: asyncpg.Connection, lic: Licence, event_type: str, state: str | None
) -> int:
    """Write a ``licence.*`` event for the organisation and its participant's coordinators."""
    return await emit(
        conn,
        NewEvent(
            event_type=event_type,
            object_type="licence",
            object_id=lic.id,
            state=state,
            organization_ids=[lic.organization_id],
            jurisdictions=[lic.participant_code],
        ),
    )


async def _audit(
    conn: asyncpg.Connection, actor: AuditActor, action: str, lic_id: uuid.UUID
) -> None:
    await record_event(
        conn, actor=actor, action=action, object_type="licence", object_id=str(lic_id),
        outcome="ok",
    )  # fmt: skip


async def add_licence(
    conn: asyncpg.Connection,
    principal: Principal,
    new: NewLicence,
    *,
    today: dt.date,
    actor: AuditActor | None = None,
) -> LicenceView:
    """Add an active licence to an organisation of the caller's jurisdiction."""
    _must_manage(principal)
    await managed_organization(conn, principal, new.organization_id)
    await _check_codes(conn, new.service_codes)
    _check_dates(new.valid_from, new.valid_to)
    await lic_db.insert_licence(conn, new)
    lic = await _reread(conn, new.id)
    await _audit(conn, actor or actor_of(principal), "licence.add", lic.id)
    await _announce(conn, lic, "licence.added", "active")
    return view(lic, today)


async def _reread(conn: asyncpg.Connection, licence_id: uuid.UUID) -> Licence:
    lic = await lic_db.get_licence(conn, licence_id)
    if lic is None:  # pragma: no cover - read back in the transaction that wrote it
        raise NotFound(_("no licence {licence_id}", licence_id=licence_id))
    return lic


async def _managed_licence(
    conn: asyncpg.Connection,
    principal: Principal,
    org_id: uuid.UUID | None,
    licence_id: uuid.UUID,
    if_match: int | None,
) -> Licence:
    """The licence, locked, if the caller manages it (else NotFound) and at ``if_match``."""
    _must_manage(principal)
    lic = await lic_db.get_licence(conn, licence_id, for_update=True)
    if (
        lic is None
        or (org_id is not None and lic.organization_id != org_id)
        or not principal.may_manage(lic.organization_id, lic.participant_code)
    ):
        raise NotFound(
            _("no licence {licence_id}", licence_id=licence_id)
            if org_id is None
            else _("no licence {licence_id} of {org_id}", licence_id=licence_id, org_id=org_id)
        )
    if if_match is not None and lic.version != if_match:
        raise StaleVersion(
            _(
                "the licence changed since you read it (version {version} now, not "
                "{if_match}); GET it again and re-apply your change",
                version=lic.version,
                if_match=if_match,
            ),
            field="header.If-Match",
        )
    return lic


async def renew_licence(
    conn: asyncpg.Connection,
    principal: Principal,
    licence_id: uuid.UUID,
    renewal: Renewal,
    *,
    org_id: uuid.UUID | None,
    if_match: int | None,
    today: dt.date,
    actor: AuditActor | None = None,
) -> LicenceView:
    """Give a licence a new end (and new evidence or verification); not a revoked one.

    A suspended licence stays suspended: reinstate it as well when the authority lifts the
    suspension.
    """
    lic = await _managed_licence(conn, principal, org_id, licence_id, if_match)
    if lic.status == "revoked":
        raise Conflict(_("a revoked licence cannot be renewed; add a new licence"), field="$")
    _check_dates(lic.valid_from, renewal.valid_to)
    if not await lic_db.renew_licence(conn, licence_id, renewal, lic.version):
        raise StaleVersion(
            _("the licence changed meanwhile; GET it again"), field="header.If-Match"
        )
    renewed = await _reread(conn, licence_id)
    await _audit(conn, actor or actor_of(principal), "licence.renew", licence_id)
    await _announce(conn, renewed, "licence.renewed", renewed.status)
    return view(renewed, today)


async def change_status(
    conn: asyncpg.Connection,
    principal: Principal,
    licence_id: uuid.UUID,
    *,
    to: str,
    reason: str | None,
    org_id: uuid.UUID | None,
    if_match: int | None,
    today: dt.date,
    actor: AuditActor | None = None,
) -> LicenceView:
    """Suspend (``suspended``), revoke (``revoked``) or reinstate (``active``) a licence.

    A suspension or revocation takes a reason code; the matcher stops counting the licence
    in the same transaction. Reinstating is for a suspended licence only: a revoked one is
    final.
    """
    sources, action, event_type = _MOVES[to]
    lic = await _managed_licence(conn, principal, org_id, licence_id, if_match)
    if lic.status not in sources:
        allowed = " or ".join(sorted(sources))
        verb = {"suspended": "suspended", "revoked": "revoked"}.get(to, "reinstated")
        raise Conflict(
            _(
                "the licence is {status}; only a licence that is {allowed} can be {verb}",
                status=lic.status,
                allowed=allowed,
                verb=verb,
            ),
            field="$",
        )
    if to != "active" and reason is None:
        raise InvalidInput(_("give the reason code"), field="$.reason")
    kept = None if to == "active" else reason
    if not await lic_db.set_status(
        conn, licence_id, status=to, reason=kept, expected_version=lic.version
    ):
        raise StaleVersion(
            _("the licence changed meanwhile; GET it again"), field="header.If-Match"
        )
    changed = await _reread(conn, licence_id)
    await _audit(conn, actor or actor_of(principal), action, licence_id)
    await _announce(conn, changed, event_type, to)
    return view(changed, today)


class ReminderReport(msgspec.Struct, frozen=True, kw_only=True):
    """What one reminder sweep sent."""

    expiring: int
    expired: int


async def send_reminders(
    conn: asyncpg.Connection, *, now: dt.datetime, batch: int = 200
) -> ReminderReport:
    """Announce every licence reminder due at ``now`` (UTC day), each once, a transaction each.

    ``licence.expiring`` (state ``ninety_days``, ``thirty_days``, ``seven_days``) 90, 30
    and 7 days before an active licence's last valid day, ``licence.expired`` (state
    ``expired``) from the day after it. A renewal gives the licence a new end, and its
    reminders are sent again.
    """
    today = now.astimezone(dt.UTC).date()
    expiring = expired = 0
    while True:
        due = await lic_db.due_reminders(conn, today, batch)
        for item in due:
            async with conn.transaction():
                if not await lic_db.record_reminder(conn, item):
                    continue
                lic = await _reread(conn, item.licence_id)
                is_expired = item.kind == "expired"
                event_type = "licence.expired" if is_expired else "licence.expiring"
                event_id = await _announce(conn, lic, event_type, item.kind)
                await lic_db.set_reminder_event(conn, item, event_id)
            expired += is_expired
            expiring += not is_expired
        if len(due) < batch:
            return ReminderReport(expiring=expiring, expired=expired)
