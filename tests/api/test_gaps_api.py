"""The funder API of the gap analysis: scoped, aggregate-only, CSV with HXL, evidence."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.gaps.periods import period_of
from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
COUNTS = ("needs", "unmet", "unmet_capacity", "declines", "searches")


async def test_a_funder_sees_its_jurisdiction_in_aggregates_only(
    client: Client, demo_db: str
) -> None:
    headers = await make_token(demo_db, "funder", "RS")
    response = await client.get("/api/v1/gaps?granularity=quarter&periods=2", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == ["RS"]
    cells = body["cells"]
    assert cells
    assert {c["participant_code"] for c in cells} == {"RS"}
    assert [c["severity"] for c in cells] == sorted((c["severity"] for c in cells), reverse=True)
    for cell in cells:
        for name in COUNTS:
            value = cell[name]
            # a published count is 0 or at least 5; anything else is hidden (null)
            assert value is None or value == 0 or value >= 5, (cell["key"], name, value)
            assert (value is None) == (name in cell["suppressed"])
    # sentences name services: the taxonomy's "Assisted voluntary return / transnational
    # referral" is a service's name, not a referral
    text = response.text.replace("transnational referral", "")
    for private in ("address", "latitude", "longitude", "referral", "dedup"):
        assert private not in text
    flagged = [c for c in cells if c["flags"]]
    assert flagged
    assert all(f["why"].endswith(".") for c in flagged for f in c["flags"])

    other = await client.get("/api/v1/gaps?participant=AL", headers=headers)
    assert other.status_code == 403
    assert other.json()["field"] == "query.participant"


async def test_filters_csv_and_roles(client: Client, demo_db: str) -> None:
    marri = await make_token(demo_db, "funder", "MARRI")
    this_quarter = period_of(dt.datetime.now(dt.UTC).date(), "quarter")
    last = period_of(this_quarter.start - dt.timedelta(days=1), "quarter").label
    response = await client.get(
        f"/api/v1/gaps.csv?period={last}&flag=uncovered&area=ALL", headers=marri
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["cell", "participant", "area"]
    assert rows[1][:3] == ["#meta+id", "#country+code", "#adm2+code"]
    same = await client.get(
        f"/api/v1/gaps?period={last}&flag=uncovered&area=ALL&format=csv", headers=marri
    )
    assert same.text == response.text
    assert len(rows) > 2
    for row in rows[2:]:
        assert row[2] == "ALL"
        assert "uncovered" in row[rows[0].index("flags")].split()
        # each row says why in a sentence of words, and who pays
        assert row[rows[0].index("sentence")].endswith(".")
    assert rows[1][rows[0].index("sentence")] == "#description+severity"
    assert rows[1][rows[0].index("public_share")] == "#value+funding+public+pct"

    officer = await make_token(demo_db, "officer", "RS")
    assert (await client.get("/api/v1/gaps", headers=officer)).status_code == 403
    bad = await client.get("/api/v1/gaps?flag=nope", headers=marri)
    assert bad.status_code == 400


async def test_a_cell_comes_with_its_evidence_and_others_are_not_found(
    client: Client, demo_db: str
) -> None:
    headers = await make_token(demo_db, "coordinator", "RS")
    listing = await client.get("/api/v1/gaps?area=ALL&periods=1", headers=headers)
    cell = next(c for c in listing.json()["cells"] if c["services"] > 0 and c["funders"])
    response = await client.get(f"/api/v1/gaps/{cell['key']}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cell"] == cell
    assert len(body["services"]) == cell["services"]
    assert body["grants"]
    # the list's public share of the money is the evidence's (docs/funding.md, "Who pays")
    assert cell["public_share"] is not None
    assert abs(cell["public_share"] - body["financing"]["public_share"]) < 1e-3
    assert "address" not in response.text
    assert "latitude" not in response.text

    assert body["area_name"] is None  # a participant-wide cell has no area
    by_area = await client.get("/api/v1/gaps?area=RS-792680&periods=1", headers=headers)
    belgrade = by_area.json()["cells"][0]
    named = (await client.get(f"/api/v1/gaps/{belgrade['key']}", headers=headers)).json()
    assert named["area_name"] == "Belgrade"

    foreign = cell["key"].replace("RS:", "AL:", 1)
    assert (await client.get(f"/api/v1/gaps/{foreign}", headers=headers)).status_code == 404
    assert (await client.get("/api/v1/gaps/RS:nowhere", headers=headers)).status_code == 404


async def test_the_cli_prints_an_aligned_table_and_csv(demo_db: str) -> None:
    env = {**os.environ, "CSOMATCH_DATABASE_URL": demo_db}
    run = [sys.executable, "-m", "csomatch", "gaps", "--participant", "RS", "--area", "ALL"]
    out = subprocess.run(
        [*run, "--periods", "1", "--why"], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    header = lines[0]
    assert header.split()[:4] == ["SEV", "PERIOD", "AREA", "SERVICE"]
    rows = [line for line in lines[1:-1] if not line.startswith("      ")]
    assert rows
    # columns are aligned: every row has its area where the header has AREA
    col = header.index("AREA")
    assert all(row[col : col + 3] == "ALL" for row in rows)
    assert any(line.startswith("      ") and ": " in line for line in lines)  # --why
    assert lines[-1].startswith(f"{len(rows)} cells")

    as_csv = subprocess.run(
        [*run, "--periods", "1", "--csv"], env=env, capture_output=True, text=True, timeout=120
    )
    assert as_csv.stdout.splitlines()[1].startswith("#meta+id,")
    bad = subprocess.run(
        [*run, "--period", "2026-13"], env=env, capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2
    assert "2026-13" in bad.stderr


async def _biggest_funder(demo_db: str, participant: str) -> str:
    conn = await asyncpg.connect(demo_db)
    try:
        ref = await conn.fetchval(
            "SELECT fr.ref FROM funding f JOIN funder fr ON fr.id = f.funder_id"
            " JOIN funding_service fs ON fs.funding_id = f.id"
            " JOIN service s ON s.id = fs.service_id"
            " JOIN organization o ON o.id = s.organization_id"
            " WHERE o.participant_code = $1 AND f.status IN ('committed', 'disbursed')"
            " AND f.period_start <= current_date AND f.period_end >= current_date"
            " GROUP BY fr.ref ORDER BY count(*) DESC, fr.ref LIMIT 1",
            participant,
        )
    finally:
        await conn.close()
    assert isinstance(ref, str)
    return ref


async def test_what_if_a_funder_leaves_and_where_a_budget_goes(
    client: Client, demo_db: str
) -> None:
    headers = await make_token(demo_db, "funder", "RS")
    funder = await _biggest_funder(demo_db, "RS")
    response = await client.post(
        "/api/v1/gaps/what-if", json={"remove_funder": funder}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["participants"] == ["RS"]
    assert body["capacity_change"] < 0
    base, scen = body["baseline"], body["scenario"]
    assert base["needs"] == scen["needs"] > 0
    assert base["placed"] + base["unmet"] == base["needs"]
    assert scen["unmet"] >= base["unmet"]
    assert body["unmet_change"] == scen["unmet"] - base["unmet"]
    assert all(":" in a for a in body["areas_left_without_provider"])

    both = await client.post(
        "/api/v1/gaps/what-if",
        json={
            "remove_funder": funder,
            "add_budget": {"service_id": str(uuid.uuid4()), "amount": 5},
        },
        headers=headers,
    )
    assert both.status_code == 422
    unknown = await client.post(
        "/api/v1/gaps/what-if", json={"remove_funder": "NOPE"}, headers=headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "$.remove_funder"

    plan = await client.post(
        "/api/v1/gaps/allocate", json={"budget": 150000, "currency": "EUR"}, headers=headers
    )
    assert plan.status_code == 200, plan.text
    proposal = plan.json()
    assert proposal["status"] in ("optimal", "feasible"), proposal
    assert 0 < proposal["spent"] <= 150000, {k: v for k, v in proposal.items() if k != "purchases"}
    assert sum(p["cost"] for p in proposal["purchases"]) == proposal["spent"]
    assert 0 < proposal["covered"] <= proposal["unmet_before"]
    assert "address" not in plan.text
    assert "latitude" not in plan.text

    bought = proposal["purchases"][0]
    more = await client.post(
        "/api/v1/gaps/what-if",
        json={"add_budget": {"service_id": bought["service_id"], "amount": 50000}},
        headers=headers,
    )
    assert more.status_code == 200, more.text
    added = more.json()
    assert added["capacity_change"] > 0
    assert added["unmet_change"] <= 0
    assert added["areas_left_without_provider"] == []
    missing = await client.post(
        "/api/v1/gaps/what-if",
        json={"add_budget": {"service_id": str(uuid.uuid4()), "amount": 50000}},
        headers=headers,
    )
    assert missing.status_code == 404
