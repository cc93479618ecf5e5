"""Outcome figures: time to offer and to acceptance, acceptance rate, decline reasons, by
service code and area; coordinators see their jurisdiction, funders small counts hidden."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from csomatch.gaps.periods import open_since
from tests.api.conftest import make_token
from tests.api.outcome_factories import BELGRADE, NIS, Offer, make_referral, service_of
from tests.api.test_registry_api import SHELTER_ORG, Client

HOUR = dt.timedelta(hours=1)
#: In the last closed month (funders see closed months only), whatever today's date.
SUBMITTED = open_since(dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=10)


def percentile_cont(values: list[float], p: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    ordered = sorted(values)
    pos = p * (len(ordered) - 1)
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@pytest.fixture
async def conn(demo_db: str) -> AsyncIterator[asyncpg.Connection]:
    c = await asyncpg.connect(demo_db)
    try:
        yield c
    finally:
        await c.close()


async def _scenario(conn: asyncpg.Connection) -> None:
    """Six shelter referrals in Belgrade, two legal-aid referrals in Niš."""
    shelter = await service_of(conn, "ACC.EMERG")
    legal = await service_of(conn, "LEGAL.AID")

    def offer(after_h: float, status: str, answered_h: float | None = None,
              reason: str | None = None, service: Any = shelter) -> Offer:  # fmt: skip
        return Offer(
            service_id=service, after=after_h * HOUR, status=status, reason=reason,
            answered_after=None if answered_h is None else answered_h * HOUR,
        )  # fmt: skip

    belgrade = [
        (offer(1, "confirmed", 2),),
        (offer(2, "declined", 3, "no_capacity"), offer(4, "confirmed", 6)),
        (offer(3, "expired"),),
        (offer(4, "confirmed", 5),),
        (offer(10, "declined", 11, "safety"),),
        (offer(0.5, "held"),),
    ]
    for offers in belgrade:
        await make_referral(conn, submitted_at=SUBMITTED, area=BELGRADE, offers=offers)
    for _ in range(2):
        await make_referral(
            conn, submitted_at=SUBMITTED, area=NIS, code="LEGAL.AID",
            offers=(offer(5, "confirmed", 8, service=legal),),
        )  # fmt: skip


def _cell(report: dict[str, Any], area: str, code: str) -> dict[str, Any]:
    [cell] = [c for c in report["cells"] if (c["area"], c["code"]) == (area, code)]
    return cell


async def test_a_coordinator_sees_times_rates_and_reasons_per_service_and_area(
    client: Client, conn: asyncpg.Connection, demo_db: str
) -> None:
    await _scenario(conn)
    coord = await make_token(demo_db, "coordinator")
    response = await client.get("/api/v1/outcomes", headers=coord)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["small_counts_hidden"] is False
    shelter = _cell(report, BELGRADE, "ACC.EMERG")
    assert shelter["participant"] == "RS"
    assert (shelter["referrals"], shelter["offers"]) == (6, 7)
    assert (shelter["accepted"], shelter["declined"], shelter["expired"]) == (3, 2, 1)
    assert shelter["still_open"] == 1
    assert shelter["acceptance_rate"] == 0.5  # 3 of 6 answered or lapsed offers
    assert shelter["decline_reasons"] == {
        "no_capacity": 1, "not_eligible": 0, "safety": 1, "person_declined": 0, "other": 0,
    }  # fmt: skip
    first_offers = [1, 2, 3, 4, 10, 0.5]
    assert shelter["time_to_offer"] == {
        "n": 6,
        "median_hours": round(percentile_cont(first_offers, 0.5), 2),
        "p90_hours": round(percentile_cont(first_offers, 0.9), 2),
    }
    acceptances = [2, 6, 5]
    assert shelter["time_to_acceptance"] == {
        "n": 3,
        "median_hours": 5.0,
        "p90_hours": round(percentile_cont(acceptances, 0.9), 2),
    }
    legal = _cell(report, NIS, "LEGAL.AID")
    assert (legal["referrals"], legal["accepted"], legal["acceptance_rate"]) == (2, 2, 1.0)
    assert legal["time_to_offer"]["median_hours"] == 5.0
    total = report["total"]
    assert (total["referrals"], total["offers"], total["accepted"]) == (8, 9, 5)
    assert total["time_to_offer"]["n"] == 8

    only_legal = (await client.get("/api/v1/outcomes?code=LEGAL.AID", headers=coord)).json()
    assert [(c["area"], c["code"]) for c in only_legal["cells"]] == [(NIS, "LEGAL.AID")]
    long_ago = await client.get("/api/v1/outcomes?since=2020-01-01&until=2020-02-01", headers=coord)
    assert long_ago.json()["cells"] == []
    assert long_ago.json()["total"]["offers"] == 0


async def test_others_see_their_own_jurisdiction_or_nothing(
    client: Client, conn: asyncpg.Connection, demo_db: str
) -> None:
    await _scenario(conn)
    albania = await make_token(demo_db, "coordinator", jurisdiction="AL")
    report = (await client.get("/api/v1/outcomes", headers=albania)).json()
    assert (report["cells"], report["total"]["referrals"]) == ([], 0)
    regional = await make_token(demo_db, "admin", jurisdiction="MARRI")
    assert (await client.get("/api/v1/outcomes", headers=regional)).json()["total"][
        "referrals"
    ] == 8
    for role, org in (("officer", None), ("provider", SHELTER_ORG)):
        headers = await make_token(demo_db, role, org=org)
        assert (await client.get("/api/v1/outcomes", headers=headers)).status_code == 403
    coord = await make_token(demo_db, "coordinator")
    backwards = await client.get(
        "/api/v1/outcomes?since=2026-02-01&until=2026-01-01", headers=coord
    )
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "query.until"
    # the default period (a year before until) never runs before year 1
    ancient = await client.get("/api/v1/outcomes?until=0001-03-01", headers=coord)
    assert ancient.status_code == 200, ancient.text
    assert ancient.json()["since"].startswith("0001-01-01")


def _counts(cell: dict[str, Any]) -> list[int | None]:
    return [
        cell[k] for k in ("referrals", "offers", "accepted", "declined", "expired", "still_open")
    ] + list(cell["decline_reasons"].values()) + [
        cell["time_to_offer"]["n"], cell["time_to_acceptance"]["n"]
    ]  # fmt: skip


async def test_a_funder_never_sees_a_count_from_1_to_4(
    client: Client, conn: asyncpg.Connection, demo_db: str
) -> None:
    await _scenario(conn)
    funder = await make_token(demo_db, "funder")
    report = (await client.get("/api/v1/outcomes", headers=funder)).json()
    assert report["small_counts_hidden"] is True
    for cell in [*report["cells"], report["total"]]:
        assert not any(n is not None and 0 < n < 5 for n in _counts(cell)), cell
    legal = _cell(report, NIS, "LEGAL.AID")
    assert legal["suppressed"] is True
    assert legal["acceptance_rate"] is None
    assert legal["time_to_offer"]["median_hours"] is None
    shelter = _cell(report, BELGRADE, "ACC.EMERG")
    # the hidden cell cannot be worked out from the total and the visible cell
    assert shelter["referrals"] is None or report["total"]["referrals"] is None
    if not shelter["suppressed"]:
        assert shelter["referrals"] == 6
        assert shelter["accepted"] is None  # 3
        assert shelter["acceptance_rate"] == 0.5  # over 6 answered offers
        assert shelter["time_to_offer"]["n"] == 6
        assert shelter["time_to_acceptance"] == {
            "n": None, "median_hours": None, "p90_hours": None
        }  # fmt: skip
