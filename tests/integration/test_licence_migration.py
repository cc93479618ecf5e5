"""The licence-states migration keeps every existing licence active, and the database keeps
the licence rules: a reason for a suspension, a revoked licence final, one reminder each."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest
from tests.conftest import fresh_database

from csomatch.db.migrate import available_migrations, migrate

ORG, LIC = uuid.uuid4(), uuid.uuid4()


def _is_this_migration(sql: str) -> bool:
    # Found by what it does, not by its number (numbers are assigned when branches merge).
    return "CREATE TRIGGER licence_revoked_final" in sql


async def test_existing_licences_stay_active_and_the_rules_hold(pg_server_url: str) -> None:
    assert any(_is_this_migration(m.sql) for m in available_migrations()), "migration not found"
    async with fresh_database(pg_server_url, "template0") as url:
        conn = await asyncpg.connect(url)
        try:
            await migrate(conn, before=lambda m: _is_this_migration(m.sql))
            await conn.execute(
                "INSERT INTO participant (code, name) VALUES ('RS', 'Serbia')"
                " ON CONFLICT DO NOTHING"
            )
            await conn.execute(
                "INSERT INTO organization (id, participant_code, name, kind)"
                " VALUES ($1, 'RS', 'Fictional Licensed Society', 'cso')",
                ORG,
            )
            await conn.execute(
                "INSERT INTO licence (id, organization_id, authority, number, service_codes,"
                " valid_from, valid_to) VALUES ($1, $2, 'Ministry', 'RS-1', '{ACC.EMERG}',"
                " '2024-01-01', '2029-12-31')",
                LIC,
                ORG,
            )
            await migrate(conn)
            row = await conn.fetchrow(
                "SELECT status, status_reason, version, evidence_ref FROM licence WHERE id = $1",
                LIC,
            )
            assert dict(row) == {
                "status": "active", "status_reason": None, "version": 1, "evidence_ref": None
            }  # fmt: skip

            with pytest.raises(asyncpg.CheckViolationError, match="licence_status_reason"):
                await conn.execute(
                    "UPDATE licence SET status = 'suspended', suspended_at = now() WHERE id = $1",
                    LIC,
                )
            await conn.execute(
                "UPDATE licence SET status = 'revoked', status_reason = 'closed',"
                " revoked_at = now() WHERE id = $1",
                LIC,
            )
            with pytest.raises(asyncpg.CheckViolationError) as refused:
                await conn.execute("UPDATE licence SET valid_to = '2031-12-31' WHERE id = $1", LIC)
            assert refused.value.constraint_name == "licence_revoked_final"

            insert = "INSERT INTO licence_reminder (licence_id, valid_to, kind) VALUES ($1, $2, $3)"
            await conn.execute(insert, LIC, dt.date(2029, 12, 31), "thirty_days")
            with pytest.raises(asyncpg.UniqueViolationError):
                await conn.execute(insert, LIC, dt.date(2029, 12, 31), "thirty_days")
            await conn.execute(insert, LIC, dt.date(2030, 12, 31), "thirty_days")  # renewed
        finally:
            await conn.close()
