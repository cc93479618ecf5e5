"""The migration that splits ``accepts_children`` maps every stored service as the issue says.

Accommodation (ACC.*): serves_unaccompanied_minors = child_only, accepts_accompanied_children
= accepts_children AND NOT child_only. Every other code: serves_unaccompanied_minors =
accepts_children AND a child age band, accepts_accompanied_children = accepts_families. A
database as it was before the migration holds one service per combination; after it, each
has the mapped values, the search table copies them and its triggers keep them current.
"""

from __future__ import annotations

import itertools
import uuid

import asyncpg
import pytest
from tests.conftest import fresh_database
from tests.integration.test_signals import NIS, registry

from csomatch.db import areas as area_db
from csomatch.db.migrate import available_migrations, migrate
from csomatch.domain import TaxonomyTerm

ORG, LOC = uuid.uuid4(), uuid.uuid4()
CHILD = {"0-5", "6-13", "14-17"}


def _is_this_migration(sql: str) -> bool:
    # Found by what it does, not by its number (numbers are assigned when branches merge).
    return "ADD COLUMN accepts_accompanied_children" in sql


async def _before_the_migration(conn: asyncpg.Connection) -> None:
    assert any(_is_this_migration(m.sql) for m in available_migrations()), "migration not found"
    await migrate(conn, before=lambda m: _is_this_migration(m.sql))


# (code, age bands, accepts_children, child_only, accepts_families); child_only needs
# accepts_children before the migration (its CHECK).
COMBINATIONS = [
    (code, bands, children, child_only, families)
    for code, bands in (
        ("ACC.EMERG", ("14-17", "25-59")),
        ("ACC.CHILD", ("6-13", "14-17")),
        ("PSY.COUNSEL", ("14-17", "25-59")),
        ("LEGAL.AID", ("25-59",)),
    )
    for children, child_only, families in itertools.product((False, True), repeat=3)
    if children or not child_only
]


def expected(
    code: str, bands: tuple[str, ...], children: bool, child_only: bool, families: bool
) -> tuple[bool, bool]:
    """(accepts_accompanied_children, serves_unaccompanied_minors) as the issue maps them."""
    if code.startswith("ACC."):
        return children and not child_only, child_only
    return families, children and bool(CHILD & set(bands))


async def test_every_combination_maps_and_the_search_table_follows(pg_server_url: str) -> None:
    async with fresh_database(pg_server_url, "template0") as url:
        conn = await asyncpg.connect(url)
        try:
            await _before_the_migration(conn)
            await registry(conn)
            await area_db.upsert_taxonomy(
                conn,
                [
                    TaxonomyTerm(
                        code="ACC.CHILD", parent_code="ACC", name="Child", accommodation=True
                    ),
                    TaxonomyTerm(
                        code="PSY", parent_code=None, name="Psychosocial", accommodation=False
                    ),
                    TaxonomyTerm(
                        code="PSY.COUNSEL",
                        parent_code="PSY",
                        name="Counselling",
                        accommodation=False,
                    ),
                    TaxonomyTerm(code="LEGAL", parent_code=None, name="Legal", accommodation=False),
                    TaxonomyTerm(
                        code="LEGAL.AID", parent_code="LEGAL", name="Legal aid", accommodation=False
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
            ids = {}
            for combo in COMBINATIONS:
                code, bands, children, child_only, families = combo
                ids[combo] = sid = uuid.uuid4()
                await conn.execute(
                    "INSERT INTO service (id, organization_id, location_id, taxonomy_code, name,"
                    " genders, age_bands, accepts_children, child_only, accepts_families,"
                    " max_group_size)"
                    " VALUES ($1, $2, $3, $4, 'Service', '{female}', $5, $6, $7, $8, 4)",
                    sid, ORG, LOC, code, list(bands), children, child_only, families,
                )  # fmt: skip
            await migrate(conn)
            for combo, sid in ids.items():
                row = await conn.fetchrow(
                    "SELECT s.accepts_accompanied_children, s.serves_unaccompanied_minors,"
                    " s.child_only, ss.accepts_accompanied_children AS ss_acc,"
                    " ss.serves_unaccompanied_minors AS ss_unacc"
                    " FROM service s JOIN service_search ss ON ss.service_id = s.id"
                    " WHERE s.id = $1",
                    sid,
                )
                want = expected(*combo)
                got = (row["accepts_accompanied_children"], row["serves_unaccompanied_minors"])
                assert got == want, combo
                assert (row["ss_acc"], row["ss_unacc"]) == want, combo
                assert row["child_only"] == combo[3]
            gone = await conn.fetchval(
                "SELECT count(*) FROM information_schema.columns"
                " WHERE column_name = 'accepts_children'"
            )
            assert gone == 0

            # The triggers copy the new fields on a change, and on a new service.
            sid = ids[COMBINATIONS[0]]
            await conn.execute(
                "UPDATE service SET serves_unaccompanied_minors = true,"
                " accepts_accompanied_children = true WHERE id = $1",
                sid,
            )
            row = await conn.fetchrow(
                "SELECT accepts_accompanied_children, serves_unaccompanied_minors"
                " FROM service_search WHERE service_id = $1",
                sid,
            )
            assert tuple(row) == (True, True)
            new = uuid.uuid4()
            await conn.execute(
                "INSERT INTO service (id, organization_id, location_id, taxonomy_code, name,"
                " genders, age_bands, serves_unaccompanied_minors, child_only)"
                " VALUES ($1, $2, $3, 'ACC.CHILD', 'Child centre', '{female}', '{14-17}',"
                " true, true)",
                new, ORG, LOC,
            )  # fmt: skip
            assert await conn.fetchval(
                "SELECT serves_unaccompanied_minors FROM service_search WHERE service_id = $1",
                new,
            )
            # A child-only service serves children, alone or accompanied.
            with pytest.raises(asyncpg.CheckViolationError):
                await conn.execute(
                    "UPDATE service SET serves_unaccompanied_minors = false WHERE id = $1", new
                )
        finally:
            await conn.close()
