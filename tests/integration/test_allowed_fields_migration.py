"""The migration that tightens allowed fields keeps what was stored before it, tidied.

A database as it was before the migration (made by applying the earlier ones) holds what an
earlier version let in: a language code with a newline or in capitals, a fraction of a
kilometre, an idempotency key in clear. After it: codes tidied, kilometres rounded up (a
minimum distance is never shortened), keys hashed and still found, and the database itself
refuses what the API refuses in shape.
"""

from __future__ import annotations

import hashlib
import uuid

import asyncpg
import pytest
from tests.conftest import fresh_database
from tests.integration.test_signals import NIS, registry

from csomatch.db import idempotency as idem_db
from csomatch.db.migrate import available_migrations, migrate

ORG, LOC, SVC, REF, TOKEN = (uuid.uuid4() for _ in range(5))


def _is_this_migration(sql: str) -> bool:
    # Found by what it does, not by its number (numbers are assigned when branches merge).
    return "CREATE FUNCTION language_codes_well_formed" in sql


async def _before_the_migration(conn: asyncpg.Connection) -> None:
    assert any(_is_this_migration(m.sql) for m in available_migrations()), "migration not found"
    await migrate(conn, before=lambda m: _is_this_migration(m.sql))


async def _legacy_rows(conn: asyncpg.Connection) -> None:
    await registry(conn)
    await conn.execute(
        "INSERT INTO organization (id, participant_code, name, kind)"
        " VALUES ($1, 'RS', 'Org', 'cso')",
        ORG,
    )
    await conn.execute(
        "INSERT INTO location (id, organization_id, name, area_code, latitude, longitude)"
        " VALUES ($1, $2, 'Site', $3, 43.3, 21.9)",
        LOC, ORG, NIS.code,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO service (id, organization_id, location_id, taxonomy_code, name, genders,"
        " age_bands, languages) VALUES ($1, $2, $3, 'ACC.EMERG', 'Shelter', '{female}',"
        " '{25-59}', $4)",
        SVC, ORG, LOC, ["SR", "sr\n", "ar", "Ivan Petrović"],
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO referral (id, jurisdiction, receiving_participant, urgency, current_area)"
        " VALUES ($1, 'RS', 'RS', 'urgent', $2)",
        REF, NIS.code,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO referral_profile (referral_id, age_band, gender, languages, min_distance_km)"
        " VALUES ($1, '25-59', 'female', $2, 2.5)",
        REF, ["12345"],
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO api_token (id, token_hash, role, jurisdiction)"
        " VALUES ($1, $2, 'officer', 'RS')",
        TOKEN, b"\x02" * 32,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO idempotency_key (token_id, idem_key, fingerprint, status, body)"
        " VALUES ($1, 'case-42-before-upgrade', $2, 201, '{}')",
        TOKEN, b"\x00" * 32,
    )  # fmt: skip


async def test_stored_fields_are_tidied_and_keys_hashed(pg_server_url: str) -> None:
    async with fresh_database(pg_server_url, "template0") as url:
        conn = await asyncpg.connect(url)
        try:
            await _before_the_migration(conn)
            await _legacy_rows(conn)
            await migrate(conn)
            languages = await conn.fetchval("SELECT languages FROM service WHERE id = $1", SVC)
            assert languages == ["sr", "ar"]
            profile = await conn.fetchrow(
                "SELECT languages, min_distance_km FROM referral_profile WHERE referral_id = $1",
                REF,
            )
            assert profile["languages"] == ["und"]
            assert profile["min_distance_km"] == 3
            found = await idem_db.find_answer(conn, TOKEN, "case-42-before-upgrade")
            assert found is not None
            assert found.status == 201
            stored = await conn.fetchval("SELECT key_hash FROM idempotency_key")
            assert stored == hashlib.sha256(b"case-42-before-upgrade").digest()

            for bad in (["sr\n"], ["Ivan"], ["s"]):
                with pytest.raises(asyncpg.CheckViolationError):
                    await conn.execute("UPDATE service SET languages = $2 WHERE id = $1", SVC, bad)
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute(
                    "UPDATE referral_profile SET group_children_age_bands = $1",
                    ["0-5"] * 11,
                )
            # Whole kilometres by type: the column holds no fraction at all.
            kind = await conn.fetchval(
                "SELECT data_type FROM information_schema.columns"
                " WHERE table_name = 'referral_profile' AND column_name = 'min_distance_km'"
            )
            assert kind == "integer"
        finally:
            await conn.close()
