"""The care-plan migration maps every existing referral to per-need states.

A database as it was before the migration holds referrals of one open offer each: offered,
in service, closed as placed (with a second need never offered), cancelled. After it every
hold names the need its service meets, and each need has the state of its newest offer, or
is finished with its referral.
"""

from __future__ import annotations

import uuid

import asyncpg
from tests.conftest import fresh_database
from tests.integration.test_signals import NIS, registry

from csomatch.db import areas as area_db
from csomatch.db.migrate import available_migrations, migrate
from csomatch.domain import TaxonomyTerm

ORG, LOC, SVC = (uuid.uuid4() for _ in range(3))


def _is_this_migration(sql: str) -> bool:
    # Found by what it does, not by its number (numbers are assigned when branches merge).
    return "CREATE UNIQUE INDEX referral_hold_one_open_per_need" in sql


async def _before_the_migration(conn: asyncpg.Connection) -> None:
    assert any(_is_this_migration(m.sql) for m in available_migrations()), "migration not found"
    await migrate(conn, before=lambda m: _is_this_migration(m.sql))


async def _referral(
    conn: asyncpg.Connection,
    state: str,
    codes: list[str],
    hold: str | None,
    outcome: str | None = None,
) -> uuid.UUID:
    """A referral stored in ``state`` (triggers off, as if it had lived its life)."""
    rid = uuid.uuid4()
    await conn.execute(
        "INSERT INTO referral (id, jurisdiction, receiving_participant, urgency, current_area,"
        " state, outcome) VALUES ($1, 'RS', 'RS', 'urgent', $2, $3, $4)",
        rid, NIS.code, state, outcome,
    )  # fmt: skip
    for i, code in enumerate(codes):
        await conn.execute(
            "INSERT INTO referral_need (referral_id, idx, taxonomy_code, priority)"
            " VALUES ($1, $2, $3, 'must')",
            rid, i, code,
        )  # fmt: skip
    if hold is not None:
        await conn.execute(
            "INSERT INTO referral_hold (id, referral_id, service_id, organization_id, places,"
            " status, expires_at, confirm_by, decline_reason) VALUES ($1, $2, $3, $4, 1, $5,"
            " now() + interval '1 hour', now() + interval '1 day',"
            " CASE WHEN $5 = 'declined' THEN 'no_capacity' END)",
            uuid.uuid4(), rid, SVC, ORG, hold,
        )  # fmt: skip
    return rid


async def test_existing_referrals_get_per_need_states(pg_server_url: str) -> None:
    async with fresh_database(pg_server_url, "template0") as url:
        conn = await asyncpg.connect(url)
        try:
            await _before_the_migration(conn)
            await registry(conn)
            await area_db.upsert_taxonomy(
                conn,
                [
                    TaxonomyTerm(code="LEGAL", parent_code=None, name="Legal", accommodation=False),
                    TaxonomyTerm(
                        code="LEGAL.AID", parent_code="LEGAL", name="Aid", accommodation=False
                    ),
                ],
            )
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
                "INSERT INTO service (id, organization_id, location_id, taxonomy_code, name,"
                " genders, age_bands, languages) VALUES ($1, $2, $3, 'ACC.EMERG', 'Shelter',"
                " '{female}', '{25-59}', '{sr}')",
                SVC, ORG, LOC,
            )  # fmt: skip
            await conn.execute("SET session_replication_role = replica")
            offered = await _referral(conn, "offered", ["LEGAL.AID", "ACC.EMERG"], "held")
            serving = await _referral(conn, "in_service", ["ACC.EMERG"], "confirmed")
            placed = await _referral(
                conn, "closed", ["LEGAL.AID", "ACC.EMERG"], "confirmed", outcome="placed"
            )
            gave_up = await _referral(
                conn, "closed", ["ACC.EMERG"], "declined", outcome="no_capacity"
            )
            cancelled = await _referral(conn, "cancelled", ["ACC.EMERG"], "released")
            await conn.execute("SET session_replication_role = DEFAULT")

            await migrate(conn)

            async def needs(rid: uuid.UUID) -> list[tuple[str, str | None, str | None]]:
                rows = await conn.fetch(
                    "SELECT state, outcome, unmet_reason FROM referral_need"
                    " WHERE referral_id = $1 ORDER BY idx",
                    rid,
                )
                return [(r["state"], r["outcome"], r["unmet_reason"]) for r in rows]

            assert await needs(offered) == [("suggested", None, None), ("offered", None, None)]
            assert await needs(serving) == [("in_service", None, None)]
            assert await needs(placed) == [
                ("unmet", None, "not_pursued"), ("closed", "placed", None),
            ]  # fmt: skip
            assert await needs(gave_up) == [("closed", "no_capacity", None)]
            assert await needs(cancelled) == [("closed", None, None)]
            # every hold names the need its service meets
            found = await conn.fetch(
                "SELECT referral_id, need_idx FROM referral_hold ORDER BY referral_id"
            )
            by_ref = {r["referral_id"]: r["need_idx"] for r in found}
            assert by_ref[offered] == 1
            assert by_ref[placed] == 1
            assert by_ref[serving] == 0
        finally:
            await conn.close()
