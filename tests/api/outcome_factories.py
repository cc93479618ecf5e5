"""Referrals with chosen dates, written as rows (through the lifecycle trigger), for the
retention and outcome tests: what happened and when is the point of those tests."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import msgspec

BELGRADE = "RS-792680"
NIS = "RS-787657"


class Offer(msgspec.Struct, frozen=True, kw_only=True):
    """A hold on a service, made ``after`` the submission, answered (or not) later."""

    service_id: uuid.UUID
    after: dt.timedelta
    status: str  # confirmed (accepted), declined, expired, held
    answered_after: dt.timedelta | None = None
    reason: str | None = None


async def service_of(conn: asyncpg.Connection, code: str, participant: str = "RS") -> uuid.UUID:
    """A demo service of this code with a capacity record."""
    service_id: uuid.UUID = await conn.fetchval(
        "SELECT s.id FROM service s JOIN service_capacity c ON c.service_id = s.id"
        " JOIN organization o ON o.id = s.organization_id"
        " WHERE s.taxonomy_code = $1 AND o.participant_code = $2 ORDER BY s.id LIMIT 1",
        code,
        participant,
    )
    assert service_id is not None, code
    # room for the offers a test leaves open (held places count against capacity)
    await conn.execute(
        "UPDATE service_capacity SET maximum = 20, available = 20 WHERE service_id = $1",
        service_id,
    )
    return service_id


async def make_referral(
    conn: asyncpg.Connection,
    *,
    submitted_at: dt.datetime,
    area: str = BELGRADE,
    offers: tuple[Offer, ...] = (),
    closed: tuple[str, dt.datetime] | None = None,
    code: str = "ACC.EMERG",
) -> uuid.UUID:
    """A submitted referral with its offers; with ``closed``, closed with that outcome then."""
    rid = uuid.uuid4()
    await conn.execute(
        "INSERT INTO referral (id, jurisdiction, receiving_participant, agency, urgency,"
        " current_area) VALUES ($1, 'RS', 'RS', 'Fictional Police Unit', 'urgent', $2)",
        rid,
        area,
    )
    await conn.execute(
        "INSERT INTO referral_need (referral_id, idx, taxonomy_code, priority)"
        " VALUES ($1, 0, $2, 'must')",
        rid,
        code,
    )
    await conn.execute(
        "INSERT INTO referral_profile (referral_id, age_band, gender, languages, risk_level,"
        " consent_given, consent_method, consent_scope, consent_at)"
        " VALUES ($1, '25-59', 'female', '{sr,ar}', 'high', true, 'verbal', '{referral}', $2)",
        rid,
        submitted_at,
    )
    await conn.execute(
        "UPDATE referral SET state = 'submitted', submitted_at = $2 WHERE id = $1",
        rid,
        submitted_at,
    )
    for offer in offers:
        org = await conn.fetchval(
            "SELECT organization_id FROM service WHERE id = $1", offer.service_id
        )
        created = submitted_at + offer.after
        answered = None if offer.answered_after is None else submitted_at + offer.answered_after
        await conn.execute(
            "INSERT INTO referral_hold (id, referral_id, service_id, organization_id, places,"
            " status, created_at, expires_at, answered_at, decline_reason, answered_by_role)"
            " VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10)",
            uuid.uuid4(), rid, offer.service_id, org, offer.status, created,
            created + dt.timedelta(hours=24) if offer.status != "held" else
            dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
            answered, offer.reason, "provider" if answered else None,
        )  # fmt: skip
    if closed is not None:
        outcome, at = closed
        for state in ("matched", "closed"):
            await conn.execute(
                "UPDATE referral SET state = $2, outcome = CASE WHEN $2 = 'closed' THEN $3"
                " END WHERE id = $1",
                rid,
                state,
                outcome,
            )
        await conn.execute("UPDATE referral SET closed_at = $2 WHERE id = $1", rid, at)
    return rid
