"""The database keeps a child's referral as the API does: a guardian's status, a whole sign-off."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from tests.integration.test_signals import NIS, registry


async def _referral(conn: asyncpg.Connection) -> uuid.UUID:
    await registry(conn)
    ref = uuid.uuid4()
    await conn.execute(
        "INSERT INTO referral (id, jurisdiction, receiving_participant, urgency, current_area)"
        " VALUES ($1, 'RS', 'RS', 'urgent', $2)",
        ref, NIS.code,
    )  # fmt: skip
    return ref


_PROFILE = (
    "INSERT INTO referral_profile (referral_id, age_band, age_uncertain, gender, languages,"
    " guardian_status) VALUES ($1, $2, $3, 'female', '{sr}', $4)"
)


@pytest.mark.parametrize(("band", "uncertain"), [("14-17", False), ("18-24", True)])
async def test_a_childs_profile_needs_the_guardians_status(
    conn: asyncpg.Connection, band: str, uncertain: bool
) -> None:
    ref = await _referral(conn)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(_PROFILE, ref, band, uncertain, None)
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(_PROFILE, ref, band, uncertain, "unknown")
    await conn.execute(_PROFILE, ref, band, uncertain, "requested")


async def test_an_adult_needs_none_and_a_sign_off_has_its_time(conn: asyncpg.Connection) -> None:
    ref = await _referral(conn)
    await conn.execute(_PROFILE, ref, "25-59", False, None)
    token = uuid.uuid4()
    await conn.execute(
        "INSERT INTO api_token (id, token_hash, role, jurisdiction, guardianship_authority)"
        " VALUES ($1, $2, 'officer', 'RS', true)",
        token, b"\x03" * 32,
    )  # fmt: skip
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "UPDATE referral_profile SET child_sign_off_by = $2 WHERE referral_id = $1",
            ref, token,
        )  # fmt: skip
