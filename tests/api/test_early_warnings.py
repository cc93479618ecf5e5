"""The early warning over a real database: a known answer, the roles, and the events."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.gaps.early_warnings import announce_crossings, window
from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
#: Synthetic arrivals of Montenegro's emergency accommodation in the window, per group.
ARRIVALS = {"women": 30, "men": 15}


async def _set_up(db: str, free_each: int) -> tuple[dt.date, dt.date]:
    """ME's ACC.EMERG: only the synthetic arrivals, and ``free_each`` free places a service."""
    since, until = window(dt.datetime.now(dt.UTC).date())
    span = (until - since).days
    conn = await asyncpg.connect(db)
    try:
        async with conn.transaction():
            await conn.execute(
                "DELETE FROM demand_signal WHERE participant_code = 'ME'"
                " AND taxonomy_code = 'ACC.EMERG'"
            )
            at, group = [], []
            for g, n in ARRIVALS.items():
                for i in range(n):  # spread over the window, every one inside it
                    at.append(dt.datetime.combine(since, dt.time(12), dt.UTC)
                              + dt.timedelta(days=span * i / n))  # fmt: skip
                    group.append(g)
            await conn.execute(
                "INSERT INTO demand_signal (occurred_at, kind, source, participant_code,"
                " taxonomy_code, population_group)"
                " SELECT t, 'need', 'referral', 'ME', 'ACC.EMERG', g"
                " FROM unnest($1::timestamptz[], $2::text[]) AS x(t, g)",
                at,
                group,
            )
            await conn.execute(
                "UPDATE service_capacity c SET maximum = greatest(c.maximum, $1),"
                " available = $1, held = 0, updated_at = now()"
                " FROM service s JOIN location l ON l.id = s.location_id"
                " JOIN area a ON a.code = l.area_code"
                " WHERE c.service_id = s.id AND a.participant_code = 'ME'"
                " AND s.taxonomy_code = 'ACC.EMERG'",
                free_each,
            )
    finally:
        await conn.close()
    return since, until


def _row(body: dict[str, object], group: str) -> dict[str, object]:
    rows = [w for w in body["warnings"] if w["group"] == group]  # type: ignore[attr-defined]
    assert len(rows) == 1, rows
    return rows[0]  # type: ignore[no-any-return]


async def test_days_until_full_is_free_places_over_the_arrival_rate(
    client: Client, demo_db: str
) -> None:
    since, until = await _set_up(demo_db, free_each=1)
    span = (until - since).days
    headers = await make_token(demo_db, "coordinator", "ME")
    r = await client.get("/api/v1/early-warnings?code=ACC.EMERG", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == ["ME"]
    assert body["window_months"] == 3
    everyone = _row(body, "all")
    assert everyone["arrivals"] == 45
    assert everyone["window_start"] == since.isoformat()
    assert everyone["window_end"] == (until - dt.timedelta(days=1)).isoformat()
    assert everyone["stale_services"] == 0
    free = everyone["free"]
    assert free == everyone["services"] > 0  # one free place in each service
    assert everyone["rate_per_day"] == pytest.approx(45 / span)
    assert everyone["days"] == pytest.approx(free * span / 45)
    assert everyone["low"] < everyone["days"] < everyone["high"]
    assert everyone["threshold_days"] == 14
    assert everyone["below"] is (everyone["days"] < 14)
    women = _row(body, "women")
    assert women["arrivals"] == 30
    assert women["days"] == pytest.approx(women["free"] * span / 30)
    # one group alone: the demo's Montenegro has no emergency place for men, so men
    # arriving there find it full now
    men = await client.get("/api/v1/early-warnings?code=ACC.EMERG&group=men", headers=headers)
    assert [w["group"] for w in men.json()["warnings"]] == ["men"]
    alone = men.json()["warnings"][0]
    assert alone["arrivals"] == 15
    assert (alone["services"], alone["free"], alone["days"], alone["below"]) == (0, 0, 0, True)


async def test_roles_scope_and_bad_input(client: Client, demo_db: str) -> None:
    await _set_up(demo_db, free_each=1)
    other = await make_token(demo_db, "coordinator", "RS")
    seen = await client.get("/api/v1/early-warnings", headers=other)
    assert seen.status_code == 200
    assert {w["participant"] for w in seen.json()["warnings"]} == {"RS"}
    asked = await client.get("/api/v1/early-warnings?participant=ME", headers=other)
    assert asked.status_code == 403
    officer = await make_token(demo_db, "officer", "ME")
    assert (await client.get("/api/v1/early-warnings", headers=officer)).status_code == 403
    bad = await client.get("/api/v1/early-warnings?group=martians", headers=other)
    assert bad.status_code == 400
    assert "group" in bad.text
    funder = await make_token(demo_db, "funder", "ME")
    rows = (await client.get("/api/v1/early-warnings", headers=funder)).json()["warnings"]
    assert rows
    for w in rows:
        n = w["arrivals"]
        assert n is None or n == 0 or n >= 5, w
        if w["suppressed"]:
            assert n is None
            assert w["days"] is None
            assert w["rate_per_day"] is None
            assert not w["below"]
    assert any(w["suppressed"] for w in rows)  # the demo's small groups are withheld
    assert (
        _row({"warnings": [w for w in rows if w["code"] == "ACC.EMERG"]}, "all")["arrivals"] == 45
    )


async def _events(db: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db)
    try:
        return await conn.fetch(
            "SELECT event_type, object_id, state, jurisdictions, organization_ids"
            " FROM outbox_event WHERE object_type = 'early_warning' ORDER BY id"
        )
    finally:
        await conn.close()


async def _sweep(db: str) -> tuple[int, int]:
    conn = await asyncpg.connect(db)
    try:
        report = await announce_crossings(
            conn, now=dt.datetime.now(dt.UTC), stale_hours=72, thresholds={"ACC.EMERG": 14.0}
        )
    finally:
        await conn.close()
    return report.below, report.cleared


async def test_a_crossing_is_announced_once_and_its_clearing_once(
    client: Client, demo_db: str
) -> None:
    await _set_up(demo_db, free_each=0)  # full: 0 days for every group with a service
    below, cleared = await _sweep(demo_db)
    assert below >= 2
    assert cleared == 0
    events = await _events(demo_db)
    assert len(events) == below
    assert {e["event_type"] for e in events} == {"early_warning.below"}
    assert all(e["jurisdictions"] == ["ME"] and e["organization_ids"] == [] for e in events)
    assert await _sweep(demo_db) == (0, 0)  # still below: nothing new
    assert len(await _events(demo_db)) == below
    headers = await make_token(demo_db, "coordinator", "ME")
    body = (await client.get("/api/v1/early-warnings?code=ACC.EMERG", headers=headers)).json()
    everyone = _row(body, "all")
    assert everyone["below"]
    assert everyone["days"] == 0
    assert everyone["warning_id"] in {str(e["object_id"]) for e in events}
    await _set_up(demo_db, free_each=200)  # places freed: far above 14 days
    assert await _sweep(demo_db) == (0, below)
    again = await _events(demo_db)
    assert [e["event_type"] for e in again[below:]] == ["early_warning.cleared"] * below
    assert await _sweep(demo_db) == (0, 0)
