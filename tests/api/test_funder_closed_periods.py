"""Funders see closed periods only: two looks around one new referral show no difference.

A funder reads everything it may (gap cells as JSON and CSV, by month and by quarter, a cell's
evidence, outcome figures, a what-if run and an allocation); then an officer creates and
submits a referral, runs the matcher on it, a matcher request finds no provider and a search
finds nothing (every kind of demand signal, all in the current month); the funder reads again
and every answer is byte for byte the same. Coordinators of the jurisdiction keep the open
period.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.gaps.periods import last_closed, period_of
from tests.api.referral_factories import referral_body, token
from tests.api.test_gaps_api import _biggest_funder

Client = AsyncTestClient  # type: ignore[type-arg]


async def _signals(db: str) -> int:
    conn = await asyncpg.connect(db)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM demand_signal"))
    finally:
        await conn.close()


async def test_two_looks_by_a_funder_around_one_new_referral_are_identical(
    client: Client, demo_db: str
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    closed_month = last_closed(today, "month").label
    open_month = period_of(today, "month").label
    funder = await token(demo_db, "funder")
    biggest = await _biggest_funder(demo_db, "RS")
    service = await client.get(
        "/api/v1/services?participant=RS&code=ACC.EMERG&limit=1", headers=funder
    )
    service_id = service.json()["services"][0]["id"]

    async def look() -> list[tuple[str, int, str]]:
        answers = []
        for method, path, body in (
            ("GET", "/api/v1/gaps", None),
            ("GET", "/api/v1/gaps?area=ALL&min_severity=1", None),
            ("GET", "/api/v1/gaps?granularity=quarter&periods=4", None),
            ("GET", "/api/v1/gaps?format=csv", None),
            ("GET", "/api/v1/gaps.csv?periods=3", None),
            ("GET", f"/api/v1/gaps/RS:ALL:ACC.EMERG:{closed_month}", None),
            ("GET", f"/api/v1/gaps/RS:RS-792680:ACC.EMERG:{closed_month}", None),
            ("GET", "/api/v1/outcomes", None),
            ("POST", "/api/v1/gaps/what-if", {"remove_funder": biggest}),
            ("POST", "/api/v1/gaps/what-if",
             {"add_budget": {"service_id": service_id, "amount": 50000, "unit_cost": 5000}}),
            ("POST", "/api/v1/gaps/allocate", {"budget": 100000, "currency": "EUR"}),
        ):  # fmt: skip
            response = await client.request(method, path, json=body, headers=funder)
            assert response.status_code == 200, (path, response.text)
            answers.append((path, response.status_code, response.text))
        return answers

    before = await look()
    signals = await _signals(demo_db)

    # one new referral and the demand it leaves, all in the open month
    officer = await token(demo_db, "officer", agency="RS police")
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    ref = await client.post("/api/v1/referrals", json=referral_body(), headers=officer | idem)
    assert ref.status_code == 201, ref.text
    path = f"/api/v1/referrals/{ref.json()['id']}"
    for step, body in ((f"{path}/transitions", {"to": "submitted"}), (f"{path}/suggestions", None)):
        key = {"Idempotency-Key": str(uuid.uuid4())}
        moved = await client.post(step, json=body, headers=officer | key)
        assert moved.status_code == 200, moved.text
    nowhere = {
        "needs": [{"code": "REINT.EMPLOY", "priority": "must"}], "urgency": "planned",
        "age_band": "25-59", "gender": "male", "languages": ["ar"], "current_area": "RS-792680",
        "excluded_areas": ["RS-792680"], "min_distance_km": 900, "jurisdiction": "RS",
    }  # fmt: skip
    unmet = await client.post("/api/v1/match/suggestions", json=nowhere, headers=officer)
    assert unmet.status_code == 200, unmet.text
    empty = await client.get(
        "/api/v1/services/search?lat=42.0&lon=21.5&radius_km=1&code=LEGAL.AID", headers=officer
    )
    assert empty.json()["hits"] == []
    for _ in range(100):  # the empty search is recorded after its answer
        if await _signals(demo_db) >= signals + 3:
            break
        await asyncio.sleep(0.05)
    assert await _signals(demo_db) >= signals + 3  # needs, unmet, empty search

    after = await look()
    for (path, _, first), (_, _, second) in zip(before, after, strict=True):
        assert first == second, path

    # the open month is not the funder's to see, by any route
    assert (
        await client.get(f"/api/v1/gaps?period={open_month}", headers=funder)
    ).status_code == 403
    refused = await client.get("/api/v1/gaps?closed=false", headers=funder)
    assert (refused.status_code, refused.json()["field"]) == (403, "query.closed")
    cell = f"/api/v1/gaps/RS:ALL:ACC.EMERG:{open_month}"
    assert (await client.get(cell, headers=funder)).status_code == 404
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    late = await client.get(f"/api/v1/outcomes?until={tomorrow}", headers=funder)
    assert (late.status_code, late.json()["field"]) == (403, "query.until")
    periods = {
        c["period"] for c in (await client.get("/api/v1/gaps", headers=funder)).json()["cells"]
    }
    assert closed_month in periods
    assert open_month not in periods

    # a coordinator of the jurisdiction keeps the open period
    coordinator = await token(demo_db, "coordinator")
    mine = await client.get(f"/api/v1/gaps?period={open_month}", headers=coordinator)
    assert mine.status_code == 200, mine.text
    assert (await client.get(cell, headers=coordinator)).status_code == 200
    default = (await client.get("/api/v1/gaps", headers=coordinator)).json()["cells"]
    assert open_month in {c["period"] for c in default}
    closed = (await client.get("/api/v1/gaps?closed=true", headers=coordinator)).json()["cells"]
    assert open_month not in {c["period"] for c in closed}
