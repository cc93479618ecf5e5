"""Catchments on a real PostgreSQL: only an eligible service within reach covers a town."""

from __future__ import annotations

import uuid

import asyncpg
from tests.integration.test_gaps_cells import BELGRADE, NIS, NOW, _service, _signals, _world

from csomatch.db import areas as area_db
from csomatch.domain import TaxonomyTerm
from csomatch.gaps.analysis import GapQuery, list_cells


async def _cells(conn: asyncpg.Connection) -> dict[tuple[str, str], list[str]]:
    cells = await list_cells(
        conn, GapQuery(participants=["RS"], period="2026-11"), now=NOW, stale_hours=72
    )
    return {(c.area_code, c.taxonomy_code): [f.code for f in c.flags] for c in cells}


async def test_a_national_shelter_covers_nis_only_while_its_licence_is_in_force(
    conn: asyncpg.Connection,
) -> None:
    await _world(conn)
    await area_db.upsert_taxonomy(
        conn,
        [TaxonomyTerm(code="ACC.SECURE", parent_code="ACC", name="Secure", accommodation=True)],
    )
    shelter = await _service(conn, BELGRADE, code="ACC.SECURE", maximum=8)
    await _service(conn, BELGRADE, code="LEGAL.AID", maximum=8)
    await _signals(conn, NIS, "ACC.SECURE", need=6)
    await _signals(conn, NIS, "LEGAL.AID", need=6)
    # Belgrade's shelter is national: it covers Niš, 200 km away; legal aid (100 km) does not
    flags = await _cells(conn)
    assert "uncovered" not in flags[(NIS.code, "ACC.SECURE")]
    assert "uncovered" in flags[(NIS.code, "LEGAL.AID")]

    # a shelter that needs a licence and holds none in force is not eligible
    org = await conn.fetchval(
        "UPDATE service SET licence_required = true WHERE id = $1 RETURNING organization_id",
        shelter,
    )
    flags = await _cells(conn)
    assert "uncovered" in flags[(NIS.code, "ACC.SECURE")]
    assert "uncovered" in flags[("ALL", "ACC.SECURE")]
    licence = uuid.uuid4()
    await conn.execute(
        "INSERT INTO licence (id, organization_id, authority, number, service_codes, valid_from)"
        " VALUES ($1, $2, 'Ministry', 'L-1', '{ACC.SECURE}', '2026-01-01')",
        licence,
        org,
    )
    assert "uncovered" not in (await _cells(conn))[(NIS.code, "ACC.SECURE")]
    await conn.execute(
        "UPDATE licence SET status = 'suspended', status_reason = 'inspection_failed',"
        " suspended_at = now()"
        " WHERE id = $1",
        licence,
    )
    assert "uncovered" in (await _cells(conn))[(NIS.code, "ACC.SECURE")]
