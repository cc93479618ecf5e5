"""Referrals: their aggregate facts, needs, profile (the part retention deletes) and state."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from csomatch.db.errors import translated


class StoredNeed(msgspec.Struct, frozen=True, kw_only=True):
    """One need of a referral, with its own state (its offer and placement)."""

    idx: int
    taxonomy_code: str
    priority: str
    state: str = "suggested"
    #: How a closed need ended (none when its referral was cancelled).
    outcome: str | None = None
    #: Why an unmet need was not met (a code).
    unmet_reason: str | None = None


class StoredProfile(msgspec.Struct, frozen=True, kw_only=True):
    """The person's situation: needs-relevant facts only, deleted at the end of retention."""

    age_band: str
    age_uncertain: bool
    gender: str
    languages: list[str]
    interpreter_needed: bool
    preferred_areas: list[str]
    excluded_areas: list[str]
    min_distance_km: int
    risk_level: str
    accessibility: list[str]
    group_adults: int
    group_children_age_bands: list[str]
    nationality: str | None
    #: A parent or carer is placed with the child (counted in group_adults).
    accompanied: bool = False
    #: A child's referral only: appointed, requested or none.
    guardian_status: str | None = None
    consent_given: bool | None
    consent_method: str | None
    consent_scope: list[str]
    consent_at: dt.datetime | None
    override_reason: str | None
    override_scope: list[str]
    override_requested_by: uuid.UUID | None
    override_approved_by: uuid.UUID | None
    override_approved_at: dt.datetime | None
    #: The second person who signed off a child's placement, and when (None: not yet).
    child_sign_off_by: uuid.UUID | None = None
    child_sign_off_at: dt.datetime | None = None


class ReferralHead(msgspec.Struct, frozen=True, kw_only=True):
    """The aggregate facts of a referral (what is left after retention) and its state."""

    id: uuid.UUID
    jurisdiction: str
    receiving_participant: str
    transnational: bool
    agency: str | None
    created_by: uuid.UUID | None
    creator_organization_id: uuid.UUID | None
    state: str
    outcome: str | None
    urgency: str
    needed_by: dt.datetime | None
    current_area: str
    next_service_id: uuid.UUID | None
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None
    closed_at: dt.datetime | None
    version: int
    #: Why a cancelled referral was cancelled (a code).
    cancel_reason: str | None = None
    #: Why the receiving side of a transnational referral last declined it (a code), and when.
    receiving_decline_reason: str | None = None
    receiving_declined_at: dt.datetime | None = None


class StoredReferral(msgspec.Struct, frozen=True, kw_only=True):
    """A referral with its needs and, until retention deletes it, its profile."""

    head: ReferralHead
    needs: list[StoredNeed]
    profile: StoredProfile | None


class NewReferral(msgspec.Struct, frozen=True, kw_only=True):
    """Values of a referral to insert (as a draft)."""

    id: uuid.UUID
    jurisdiction: str
    receiving_participant: str
    agency: str | None
    created_by: uuid.UUID | None
    creator_organization_id: uuid.UUID | None
    urgency: str
    needed_by: dt.datetime | None
    current_area: str
    needs: list[tuple[str, str]]
    profile: StoredProfile


class ReferralScope(msgspec.Struct, frozen=True, kw_only=True):
    """Which referrals a caller may see (every set condition must hold; None = any)."""

    #: referral.jurisdiction or, for a transnational one, its receiving participant
    jurisdiction: str | None = None
    #: referral.jurisdiction only (an officer sees their own participant's referrals)
    referring_jurisdiction: str | None = None
    agency: str | None = None
    created_by: uuid.UUID | None = None


_HEAD = (
    "r.id, r.jurisdiction, r.receiving_participant, r.transnational, r.agency, r.created_by,"
    " r.creator_organization_id, r.state, r.outcome, r.urgency, r.needed_by, r.current_area,"
    " r.next_service_id, r.created_at, r.updated_at, r.submitted_at, r.closed_at, r.version,"
    " r.cancel_reason, r.receiving_decline_reason, r.receiving_declined_at"
)
_NEED = "idx, taxonomy_code, priority, state, outcome, unmet_reason"
_PROFILE = (
    "age_band, age_uncertain, gender, languages, interpreter_needed, preferred_areas,"
    " excluded_areas, min_distance_km, risk_level, accessibility, group_adults,"
    " group_children_age_bands, nationality, consent_given, consent_method, consent_scope,"
    " consent_at, override_reason, override_scope, override_requested_by,"
    " override_approved_by, override_approved_at, accompanied, guardian_status,"
    " child_sign_off_by, child_sign_off_at"
)
_SCOPE = (
    " ($1::text IS NULL OR r.jurisdiction = $1 OR r.receiving_participant = $1)"
    " AND ($2::text IS NULL OR r.jurisdiction = $2)"
    " AND ($3::text IS NULL OR r.agency = $3)"
    " AND ($4::uuid IS NULL OR r.created_by = $4)"
)


async def insert_referral(conn: asyncpg.Connection, new: NewReferral) -> None:
    """Insert a draft referral with its needs and profile (the caller owns the transaction)."""
    p = new.profile
    async with translated():
        await conn.execute(
            "INSERT INTO referral (id, jurisdiction, receiving_participant, agency, created_by,"
            " creator_organization_id, urgency, needed_by, current_area)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            new.id, new.jurisdiction, new.receiving_participant, new.agency, new.created_by,
            new.creator_organization_id, new.urgency, new.needed_by, new.current_area,
        )  # fmt: skip
        await conn.executemany(
            "INSERT INTO referral_need (referral_id, idx, taxonomy_code, priority)"
            " VALUES ($1, $2, $3, $4)",
            [(new.id, i, code, prio) for i, (code, prio) in enumerate(new.needs)],
        )
        await conn.execute(
            "INSERT INTO referral_profile (referral_id, " + _PROFILE + ") VALUES ($1, $2, $3,"
            " $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,"
            " $21, $22, $23, $24, $25, $26, $27)",
            new.id, p.age_band, p.age_uncertain, p.gender, p.languages, p.interpreter_needed,
            p.preferred_areas, p.excluded_areas, p.min_distance_km, p.risk_level,
            p.accessibility, p.group_adults, p.group_children_age_bands, p.nationality,
            p.consent_given, p.consent_method, p.consent_scope, p.consent_at,
            p.override_reason, p.override_scope, p.override_requested_by,
            p.override_approved_by, p.override_approved_at, p.accompanied, p.guardian_status,
            p.child_sign_off_by, p.child_sign_off_at,
        )  # fmt: skip


async def get_head(
    conn: asyncpg.Connection, referral_id: uuid.UUID, *, for_update: bool = False
) -> ReferralHead | None:
    """The aggregate facts and state of one referral; ``for_update`` locks its row."""
    sql = "SELECT " + _HEAD + " FROM referral r WHERE r.id = $1"
    async with translated():
        row = await conn.fetchrow(sql + (" FOR UPDATE" if for_update else ""), referral_id)
    return None if row is None else msgspec.convert(row, ReferralHead, from_attributes=True)


async def get_referral(conn: asyncpg.Connection, referral_id: uuid.UUID) -> StoredReferral | None:
    """One referral with its needs and profile."""
    head = await get_head(conn, referral_id)
    if head is None:
        return None
    async with translated():
        needs = await conn.fetch(
            "SELECT " + _NEED + " FROM referral_need WHERE referral_id = $1 ORDER BY idx",
            referral_id,
        )
        profile = await conn.fetchrow(
            "SELECT " + _PROFILE + " FROM referral_profile WHERE referral_id = $1", referral_id
        )
    return StoredReferral(
        head=head,
        needs=msgspec.convert(needs, list[StoredNeed], from_attributes=True),
        profile=None
        if profile is None
        else msgspec.convert(profile, StoredProfile, from_attributes=True),
    )


async def needs_of(
    conn: asyncpg.Connection, referral_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[StoredNeed]]:
    """The needs of several referrals in one query, by referral (in need order)."""
    async with translated():
        rows = await conn.fetch(
            "SELECT referral_id, " + _NEED + " FROM referral_need"
            " WHERE referral_id = ANY($1::uuid[]) ORDER BY referral_id, idx",
            list(referral_ids),
        )
    found: dict[uuid.UUID, list[StoredNeed]] = {r: [] for r in referral_ids}
    for row in rows:
        found[row["referral_id"]].append(msgspec.convert(row, StoredNeed, from_attributes=True))
    return found


async def get_referrals(
    conn: asyncpg.Connection, referral_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, StoredReferral]:
    """Several referrals with their needs and profiles in three queries, by id.

    An unknown id is left out.
    """
    ids = list(dict.fromkeys(referral_ids))
    async with translated():
        heads = await conn.fetch(
            "SELECT " + _HEAD + " FROM referral r WHERE r.id = ANY($1::uuid[])", ids
        )
        profiles = await conn.fetch(
            "SELECT referral_id, " + _PROFILE + " FROM referral_profile"
            " WHERE referral_id = ANY($1::uuid[])",
            ids,
        )
    needs = await needs_of(conn, ids)
    by_id = {row["referral_id"]: row for row in profiles}
    found = {}
    for row in heads:
        head = msgspec.convert(row, ReferralHead, from_attributes=True)
        profile = by_id.get(head.id)
        found[head.id] = StoredReferral(
            head=head,
            needs=needs[head.id],
            profile=None
            if profile is None
            else msgspec.convert(profile, StoredProfile, from_attributes=True),
        )
    return found


async def list_heads(
    conn: asyncpg.Connection,
    scope: ReferralScope,
    *,
    state: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ReferralHead], int]:
    """A page of referrals the scope allows, newest first, and how many there are."""
    async with translated():
        rows = await conn.fetch(
            "SELECT " + _HEAD + ", count(*) OVER () AS total FROM referral r WHERE" + _SCOPE
            + " AND ($5::text IS NULL OR r.state = $5)"
            " ORDER BY r.created_at DESC, r.id LIMIT $6 OFFSET $7",
            scope.jurisdiction, scope.referring_jurisdiction, scope.agency, scope.created_by,
            state, limit, offset,
        )  # fmt: skip
    total = int(rows[0]["total"]) if rows else 0
    return msgspec.convert(rows, list[ReferralHead], from_attributes=True), total


async def in_scope(conn: asyncpg.Connection, referral_id: uuid.UUID, scope: ReferralScope) -> bool:
    """Whether the scope allows this referral."""
    async with translated():
        found = await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM referral r WHERE r.id = $5 AND" + _SCOPE + ")",
            scope.jurisdiction, scope.referring_jurisdiction, scope.agency, scope.created_by,
            referral_id,
        )  # fmt: skip
    return bool(found)


async def set_state(
    conn: asyncpg.Connection,
    referral_id: uuid.UUID,
    to_state: str,
    outcome: str | None = None,
    cancel_reason: str | None = None,
) -> ReferralHead:
    """Move a referral to ``to_state``; the database refuses a transition it does not allow."""
    async with translated():
        row = await conn.fetchrow(
            "UPDATE referral r SET state = $2, outcome = coalesce($3, r.outcome),"
            " cancel_reason = coalesce($4, r.cancel_reason),"
            " next_service_id = CASE WHEN $2 IN ('offered', 'closed', 'cancelled')"
            "   THEN NULL ELSE r.next_service_id END"
            " WHERE r.id = $1 RETURNING " + _HEAD,
            referral_id,
            to_state,
            outcome,
            cancel_reason,
        )
    return msgspec.convert(row, ReferralHead, from_attributes=True)


async def return_to_submitted(
    conn: asyncpg.Connection, referral_id: uuid.UUID, reason: str
) -> ReferralHead:
    """The receiving side declined a transnational referral: it is submitted again (a reason)."""
    async with translated():
        row = await conn.fetchrow(
            "UPDATE referral r SET state = 'submitted', receiving_decline_reason = $2,"
            " receiving_declined_at = now(), next_service_id = NULL"
            " WHERE r.id = $1 RETURNING " + _HEAD,
            referral_id,
            reason,
        )
    return msgspec.convert(row, ReferralHead, from_attributes=True)


async def set_need_state(
    conn: asyncpg.Connection,
    referral_id: uuid.UUID,
    idx: int,
    state: str,
    *,
    outcome: str | None = None,
    unmet_reason: str | None = None,
) -> None:
    """Set one need's state (with a closed need's outcome or an unmet need's reason)."""
    async with translated():
        await conn.execute(
            "UPDATE referral_need SET state = $3, outcome = $4, unmet_reason = $5,"
            " updated_at = now() WHERE referral_id = $1 AND idx = $2",
            referral_id,
            idx,
            state,
            outcome,
            unmet_reason,
        )


async def set_next_service(
    conn: asyncpg.Connection, referral_id: uuid.UUID, service_id: uuid.UUID | None
) -> None:
    """Remember the matcher's best next service for a referral (an id only)."""
    async with translated():
        await conn.execute(
            "UPDATE referral SET next_service_id = $2 WHERE id = $1", referral_id, service_id
        )


async def approve_override(
    conn: asyncpg.Connection, referral_id: uuid.UUID, approver: uuid.UUID, at: dt.datetime
) -> bool:
    """Record a coordinator's approval of a requested consent override; False if none."""
    async with translated():
        status = await conn.execute(
            "UPDATE referral_profile SET override_approved_by = $2, override_approved_at = $3"
            " WHERE referral_id = $1 AND override_reason IS NOT NULL"
            " AND override_approved_at IS NULL",
            referral_id,
            approver,
            at,
        )
    return bool(status.endswith(" 1"))


async def sign_off_child(
    conn: asyncpg.Connection, referral_id: uuid.UUID, signer: uuid.UUID, at: dt.datetime
) -> bool:
    """Record the second person's sign-off of a child's placement; False if already signed."""
    async with translated():
        status = await conn.execute(
            "UPDATE referral_profile SET child_sign_off_by = $2, child_sign_off_at = $3"
            " WHERE referral_id = $1 AND child_sign_off_at IS NULL",
            referral_id,
            signer,
            at,
        )
    return bool(status.endswith(" 1"))


async def state_changes(
    conn: asyncpg.Connection, referral_id: uuid.UUID
) -> list[tuple[str | None, str, dt.datetime]]:
    """The referral's state changes, oldest first: (from, to, when)."""
    async with translated():
        rows = await conn.fetch(
            "SELECT from_state, to_state, at FROM referral_state_change WHERE referral_id = $1"
            " ORDER BY id",
            referral_id,
        )
    return [(r["from_state"], r["to_state"], r["at"]) for r in rows]
