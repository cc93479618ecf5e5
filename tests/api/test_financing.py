"""Who pays (issue 15, item 4): an organisation's funding mix and runway, the equity view.

The grants and placements are written by the test itself (ministry against donor money, CSO
against state placements) so that every figure asserted is worked out by hand.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.db.financing import GrantMoney
from csomatch.gaps.financing import equity_rows, funding_mix
from csomatch.gaps.periods import last_closed, period_of
from tests.api.referral_factories import token

Client = AsyncTestClient  # type: ignore[type-arg]
TODAY = dt.datetime.now(dt.UTC).date()


def _grant(kind: str, eur: float, start: dt.date, end: dt.date, ref: str = "") -> GrantMoney:
    return GrantMoney(
        funder_ref=ref or kind.upper(), funder_name=f"{kind} funder", funder_kind=kind,
        amount_eur=eur, period_start=start, period_end=end,
    )  # fmt: skip


def test_public_and_donor_money_dependence_and_runway_are_worked_out_from_the_grants() -> None:
    ref = dt.date(2026, 3, 1)
    year = (dt.date(2026, 1, 1), dt.date(2026, 12, 31))  # 365 days: EUR a year = amount
    mix = funding_mix(
        [
            _grant("ministry", 120_000, *year),
            _grant("donor", 40_000, *year),
            # adjacent: the run goes on to 2027-06-30; a later grant after a gap does not count
            _grant("foundation", 10_000, dt.date(2027, 1, 1), dt.date(2027, 6, 30)),
            _grant("municipality", 10_000, dt.date(2027, 8, 1), dt.date(2027, 12, 31)),
        ],
        ref,
    )
    assert mix.public_eur_per_year == 120_000
    assert mix.donor_eur_per_year == 40_000
    assert mix.public_share == 0.75
    assert mix.top_share == 0.75
    assert mix.funders[0].ref == "MINISTRY"
    assert mix.funders[0].public
    assert mix.hhi == 0.625  # 0.75² + 0.25²
    assert mix.funded_through == dt.date(2027, 6, 30)
    assert mix.runway_days == (dt.date(2027, 6, 30) - ref).days
    assert mix.runway_months == round(mix.runway_days / 30.44, 1)
    empty = funding_mix([], ref)
    assert empty.public_share is None
    assert empty.runway_days is None
    assert empty.funders == []


def test_small_case_counts_are_hidden_with_whatever_would_reveal_them() -> None:
    cases = {("ACC.EMERG", "cso"): 3, ("ACC.EMERG", "state"): 20, ("PSY.COUNS", "cso"): 12,
             ("PSY.COUNS", "state"): 30}  # fmt: skip
    money = {("ACC.EMERG", "cso"): 9_000.0, ("ACC.EMERG", "state"): 100_000.0}
    rows = {r.taxonomy_code: r for r in equity_rows("RS", cases, money)}
    emerg = rows["ACC.EMERG"]
    assert emerg.cases_cso is None
    assert "cases_cso" in emerg.suppressed
    # the row total 23 and the state count 20 would give 3 back: one of them is hidden too
    assert emerg.cases_total is None or emerg.cases_state is None
    assert emerg.unit_cost_cso is None
    assert emerg.cso_case_share is None
    assert emerg.cso_public_share == round(9_000 / 109_000, 4)
    counsel = rows["PSY.COUNS"]
    # complementary suppression also hides a count of the other code's column
    hidden = [counsel.cases_cso, counsel.cases_state, counsel.cases_total].count(None)
    assert hidden >= 1


async def _org_with_service(
    conn: asyncpg.Connection, participant: str, kind: str
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT o.id AS org_id, o.name, s.id AS service_id, s.taxonomy_code"
        " FROM organization o JOIN service s ON s.organization_id = o.id"
        " WHERE o.participant_code = $1 AND o.kind = $2 ORDER BY o.name, s.name LIMIT 1",
        participant,
        kind,
    )
    assert row is not None
    return row


async def _funder(conn: asyncpg.Connection, ref: str, kind: str) -> uuid.UUID:
    funder_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO funder (id, ref, name, kind) VALUES ($1, $2, $3, $4)",
        funder_id, ref, f"Test {kind} {ref}", kind,
    )  # fmt: skip
    return funder_id


async def _grant_row(
    conn: asyncpg.Connection, funder_id: uuid.UUID, org_id: uuid.UUID, service_id: uuid.UUID,
    eur: int, start: dt.date, end: dt.date,
) -> None:  # fmt: skip
    grant_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO funding (id, funder_id, recipient_organization_id, recipient_name, amount,"
        " currency, period_start, period_end, status, source, external_id)"
        " VALUES ($1, $2, $3, 'test recipient', $4, 'EUR', $5, $6, 'committed', 'api', $7)",
        grant_id, funder_id, org_id, eur, start, end, f"test:{grant_id}",
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO funding_service (funding_id, service_id) VALUES ($1, $2)", grant_id, service_id
    )


async def test_a_cso_reads_its_own_runway_and_no_one_elses(client: Client, demo_db: str) -> None:
    conn = await asyncpg.connect(demo_db)
    try:
        cso = await _org_with_service(conn, "RS", "cso")
        other = await _org_with_service(conn, "RS", "state")
        await conn.execute(
            "DELETE FROM funding WHERE recipient_organization_id = $1", cso["org_id"]
        )
        await conn.execute(
            "DELETE FROM funding_service WHERE service_id IN"
            " (SELECT id FROM service WHERE organization_id = $1)",
            cso["org_id"],
        )
        start, end = TODAY - dt.timedelta(days=100), TODAY + dt.timedelta(days=264)
        ministry = await _funder(conn, "TEST-MIN", "ministry")
        donor = await _funder(conn, "TEST-DONOR", "donor")
        await _grant_row(conn, ministry, cso["org_id"], cso["service_id"], 30_000, start, end)
        await _grant_row(conn, donor, cso["org_id"], cso["service_id"], 90_000, start, end)
    finally:
        await conn.close()
    path = f"/api/v1/organizations/{cso['org_id']}/funding"

    own = await token(demo_db, "provider", org=cso["org_id"])
    response = await client.get(path, headers=own)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "cso"
    mix = body["funding"]
    assert mix["public_eur_per_year"] == 30_000
    assert mix["donor_eur_per_year"] == 90_000
    assert mix["public_share"] == 0.25
    assert mix["top_share"] == 0.75
    assert mix["funders"][0]["ref"] == "TEST-DONOR"
    assert not mix["funders"][0]["public"]
    assert mix["runway_days"] == 264
    assert mix["funded_through"] == end.isoformat()
    served = {s["service_id"]: s for s in body["services"]}
    mine = served[str(cso["service_id"])]
    assert mine["cell"].startswith("RS:")
    # the cell it served last month (a closed period): its provider may open it, and no other
    last_month = period_of(period_of(TODAY, "month").start - dt.timedelta(days=1), "month")
    assert mine["cell"].endswith(last_month.label)
    assert mine["funding"]["public_share"] == 0.25
    cell = await client.get(f"/api/v1/gaps/{mine['cell']}", headers=own)
    assert cell.status_code == 200, cell.text
    assert cell.json()["cell"]["key"] == mine["cell"]
    # its evidence lists its own services and grants only (no ledger of others)
    listed = {s["service_id"] for s in cell.json()["services"]}
    assert str(cso["service_id"]) in listed
    assert listed <= set(served)
    # a cell of a code none of its services serves: 404, like a cell that does not exist
    codes = {s["taxonomy_code"] for s in body["services"]}
    code = next(c for c in ("LEGAL.AID", "MED.EMERG", "DOC.ID", "RET.VOLUNTARY") if c not in codes)
    other_cell = f"RS:ALL:{code}:{last_month.label}"
    assert (await client.get(f"/api/v1/gaps/{other_cell}", headers=own)).status_code == 404
    this_month = mine["cell"].rsplit(":", 1)[0] + ":" + period_of(TODAY, "month").label
    assert (await client.get(f"/api/v1/gaps/{this_month}", headers=own)).status_code == 404
    assert (await client.get("/api/v1/gaps", headers=own)).status_code == 403

    # another organisation's provider, a coordinator of another participant: 404; an officer 403
    stranger = await token(demo_db, "provider", org=other["org_id"])
    assert (await client.get(path, headers=stranger)).status_code == 404
    elsewhere = await token(demo_db, "coordinator", "AL")
    assert (await client.get(path, headers=elsewhere)).status_code == 404
    officer = await token(demo_db, "officer", agency="RS police")
    assert (await client.get(path, headers=officer)).status_code == 403
    for role, jurisdiction in (("coordinator", "RS"), ("funder", "MARRI"), ("admin", "MARRI")):
        headers = await token(demo_db, role, jurisdiction)
        assert (await client.get(path, headers=headers)).status_code == 200, role
    unknown = f"/api/v1/organizations/{uuid.uuid4()}/funding"
    assert (await client.get(unknown, headers=own)).status_code == 404


async def test_equity_view_sets_cso_cases_against_their_share_of_public_money(
    client: Client, demo_db: str
) -> None:
    month = dt.date(2021, 3, 1)  # long closed, no demo grant or placement then
    conn = await asyncpg.connect(demo_db)
    try:
        cso = await _org_with_service(conn, "RS", "cso")
        state = await conn.fetchrow(
            "SELECT o.id AS org_id, s.id AS service_id FROM organization o"
            " JOIN service s ON s.organization_id = o.id"
            " JOIN location l ON l.id = s.location_id JOIN area a ON a.code = l.area_code"
            " WHERE o.kind = 'state' AND a.participant_code = 'RS' AND s.taxonomy_code = $1"
            " LIMIT 1",
            cso["taxonomy_code"],
        )
        assert state is not None, "the demo has a state service of the CSO's code"
        ministry = await _funder(conn, "TEST-MIN", "ministry")
        donor = await _funder(conn, "TEST-DONOR", "donor")
        year = (dt.date(2021, 1, 1), dt.date(2021, 12, 31))
        await _grant_row(conn, ministry, cso["org_id"], cso["service_id"], 36_500, *year)
        await _grant_row(conn, ministry, state["org_id"], state["service_id"], 109_500, *year)
        await _grant_row(conn, donor, cso["org_id"], cso["service_id"], 365_000, *year)
        await conn.executemany(
            "INSERT INTO placement_count (service_id, month, n) VALUES ($1, $2, $3)",
            [(cso["service_id"], month, 10), (state["service_id"], month, 10)],
        )
    finally:
        await conn.close()
    code = cso["taxonomy_code"]
    coordinator = await token(demo_db, "coordinator", "RS")
    response = await client.get(
        f"/api/v1/gaps/financing?participant=RS&code={code}&period=2021-03", headers=coordinator
    )
    assert response.status_code == 200, response.text
    (row,) = response.json()["rows"]
    assert row["cases_cso"] == 10
    assert row["cases_state"] == 10
    assert row["cases_total"] == 20
    assert row["cso_case_share"] == 0.5
    # March: 31 of 365 days of the public grants (the donor's money is not public)
    assert row["public_eur_cso"] == 3_100
    assert row["public_eur_state"] == 9_300
    assert row["cso_public_share"] == 0.25
    assert row["unit_cost_cso"] == 310
    assert row["unit_cost_state"] == 930

    # funders see closed periods only; a token of another participant sees only its own
    funder = await token(demo_db, "funder", "RS")
    assert (await client.get("/api/v1/gaps/financing", headers=funder)).status_code == 200
    open_month = period_of(TODAY, "month").label
    refused = await client.get(f"/api/v1/gaps/financing?period={open_month}", headers=funder)
    assert refused.status_code == 403
    assert refused.json()["detail"]
    other = await client.get("/api/v1/gaps/financing?participant=AL", headers=funder)
    assert other.status_code == 403
    default = await client.get("/api/v1/gaps/financing", headers=coordinator)
    assert default.json()["period"] == last_closed(TODAY, "month").label


async def test_cell_evidence_says_who_pays(client: Client, demo_db: str) -> None:
    coordinator = await token(demo_db, "coordinator", "RS")
    closed = last_closed(TODAY, "month").label
    response = await client.get(f"/api/v1/gaps/RS:ALL:ACC.EMERG:{closed}", headers=coordinator)
    assert response.status_code == 200, response.text
    financing = response.json()["financing"]
    total = financing["public_eur_per_year"] + financing["donor_eur_per_year"]
    assert total > 0
    assert abs(sum(f["share"] for f in financing["funders"]) - 1) < 0.01
    assert financing["public_share"] == round(financing["public_eur_per_year"] / total, 4)


async def test_a_confirmed_hold_counts_one_placement_in_its_month(demo_db: str) -> None:
    conn = await asyncpg.connect(demo_db)
    try:
        cso = await _org_with_service(conn, "RS", "cso")
        area = await conn.fetchval("SELECT code FROM area WHERE participant_code = 'RS' LIMIT 1")
        referral_id, hold_id = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO referral (id, jurisdiction, receiving_participant, urgency, current_area)"
            " VALUES ($1, 'RS', 'RS', 'planned', $2)",
            referral_id, area,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO referral_need (referral_id, idx, taxonomy_code, priority)"
            " VALUES ($1, 0, $2, 'must')",
            referral_id, cso["taxonomy_code"],
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO referral_hold (id, referral_id, service_id, organization_id, places,"
            " expires_at) VALUES ($1, $2, $3, $4, 1, now() + interval '1 hour')",
            hold_id, referral_id, cso["service_id"], cso["org_id"],
        )  # fmt: skip
        count = "SELECT coalesce(sum(n), 0) FROM placement_count WHERE service_id = $1"
        assert await conn.fetchval(count, cso["service_id"]) == 0
        await conn.execute(
            "UPDATE referral_hold SET status = 'accepted', confirm_by = now() + interval '1 day'"
            " WHERE id = $1",
            hold_id,
        )
        await conn.execute("UPDATE referral_hold SET status = 'confirmed' WHERE id = $1", hold_id)
        await conn.execute("UPDATE referral_hold SET places = 1 WHERE id = $1", hold_id)
        month = await conn.fetchval(
            "SELECT month FROM placement_count WHERE service_id = $1", cso["service_id"]
        )
        assert await conn.fetchval(count, cso["service_id"]) == 1
        assert month == period_of(TODAY, "month").start
    finally:
        await conn.close()


def test_the_cli_prints_the_equity_view(demo_db: str, tmp_path: Path) -> None:
    env = {**os.environ, "CSOMATCH_DATABASE_URL": demo_db, "CSOMATCH_HOME": str(tmp_path),
           "CSOMATCH_LOG_LEVEL": "warning"}  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "csomatch", "funding", "equity", "--participant", "RS", "--csv"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    header, tags, *rows = run.stdout.splitlines()
    assert header.startswith("participant,code,cases_cso")
    assert tags.startswith("#country+code")
    assert all(row.startswith("RS,") for row in rows)
    bad = subprocess.run(
        [sys.executable, "-m", "csomatch", "funding", "equity", "--period", "2026-13"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "2026-13" in bad.stderr
