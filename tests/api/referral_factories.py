"""Plain factories for referral API tests: bodies, tokens with agencies, fresh capacity."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg

from csomatch.db.tokens import create_token

BELGRADE = "RS-792680"


def referral_body(**overrides: Any) -> dict[str, Any]:
    """A synthetic referral: needs and constraints only."""
    body: dict[str, Any] = {
        "needs": [{"code": "ACC.EMERG", "priority": "must"}],
        "urgency": "emergency",
        "age_band": "25-59",
        "gender": "female",
        "languages": ["sr"],
        "current_area": BELGRADE,
        "jurisdiction": "RS",
        "consent": {
            "given": True,
            "method": "verbal",
            "scope": ["referral"],
            "at": dt.datetime.now(dt.UTC).isoformat(),
        },
    }
    body.update(overrides)
    return body


def idem() -> dict[str, str]:
    """A fresh Idempotency-Key header."""
    return {"Idempotency-Key": str(uuid.uuid4())}


async def token(
    db_url: str,
    role: str,
    jurisdiction: str = "RS",
    *,
    org: uuid.UUID | None = None,
    agency: str | None = None,
) -> dict[str, str]:
    """Authorization headers of a new token."""
    conn = await asyncpg.connect(db_url)
    try:
        secret, _ = await create_token(
            conn, role=role, jurisdiction=jurisdiction, organization_id=org, label="test",
            agency=agency,
        )  # fmt: skip
    finally:
        await conn.close()
    return {"Authorization": f"Bearer {secret}"}


async def service_with_free_places(
    db_url: str,
    free: int,
    *,
    participant: str = "RS",
    code: str = "ACC.EMERG",
    nth: int = 0,
) -> tuple[uuid.UUID, uuid.UUID]:
    """(service id, organisation id) of a demo service accepting referrals, set to ``free``
    fresh free places with no holds (the ``nth`` such service); it accepts adults speaking
    Serbian, English or Albanian, needs no licence (holds run the matcher's hard rules) and
    works across borders."""
    conn = await asyncpg.connect(db_url)
    try:
        row = await conn.fetchrow(
            "SELECT s.id, s.organization_id FROM service s JOIN location l ON l.id = s.location_id"
            " JOIN area a ON a.code = l.area_code"
            " WHERE a.participant_code = $1 AND s.taxonomy_code = $2"
            " ORDER BY s.id LIMIT 1 OFFSET $3",
            participant,
            code,
            nth,
        )
        await conn.execute(
            "UPDATE service SET accepting_referrals = true, genders = ARRAY['female', 'male'],"
            " age_bands = ARRAY['18-24', '25-59'], languages = ARRAY['sr', 'en', 'sq'],"
            " child_only = false, security_level = 'high', cross_border = true,"
            " licence_required = false"
            " WHERE id = $1",
            row["id"],
        )
        await conn.execute(
            "INSERT INTO service_capacity (service_id, unit, maximum, available, updated_at)"
            " VALUES ($1, 'bed', $2, $2, now()) ON CONFLICT (service_id) DO UPDATE"
            " SET maximum = $2, available = $2, updated_at = now()",
            row["id"],
            free,
        )
    finally:
        await conn.close()
    return row["id"], row["organization_id"]
