"""A fair acceptance record: which ends of an offer lower a provider's ranking, and the
provider's own record over closed quarters (``/organizations/{id}/acceptance-record``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import asyncpg
import pytest

from csomatch.db.track_records import record_offer_outcome
from csomatch.domain.acceptance import counted
from csomatch.referrals.acceptance import quarter_start
from tests.api.hold_factories import (
    Client,
    hold,
    matched_referral,
    post_ok,
    sql,
    sweep_now,
    time_out_offer,
)
from tests.api.referral_factories import referral_body, service_with_free_places, token

SUGGEST = "/api/v1/match/suggestions"


async def _record(db_url: str, service_id: uuid.UUID) -> tuple[int, int]:
    rows = await sql(
        db_url, "SELECT offers, accepted FROM service_track_record WHERE service_id = $1",
        service_id,
    )  # fmt: skip
    return (rows[0]["offers"], rows[0]["accepted"]) if rows else (0, 0)


async def _outcomes(db_url: str, service_id: uuid.UUID) -> dict[str, int]:
    rows = await sql(
        db_url, "SELECT outcome, n FROM offer_outcome_count WHERE service_id = $1", service_id
    )
    return {r["outcome"]: r["n"] for r in rows}


@pytest.mark.parametrize(
    ("reason", "counts"),
    [
        ("person_declined", False),
        ("safety", False),
        ("not_eligible", False),
        ("no_capacity", True),
        ("other", True),
    ],
)
async def test_a_decline_counts_by_its_reason(
    client: Client, demo_db: str, reason: str, counts: bool
) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 2)
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    offer = await hold(client, officer, await matched_referral(client, officer), service_id)
    await post_ok(client, f"/api/v1/offers/{offer['id']}/decline", provider, {"reason": reason})
    assert await _record(demo_db, service_id) == ((1, 0) if counts else (0, 0))
    # Every end is on the provider's record, counted or not.
    assert await _outcomes(demo_db, service_id) == {reason: 1}


async def test_an_offer_left_to_expire_counts_against_its_provider(
    client: Client, demo_db: str
) -> None:
    service_id, _ = await service_with_free_places(demo_db, 2)
    officer = await token(demo_db, "officer", agency="RS police")
    offer = await hold(client, officer, await matched_referral(client, officer), service_id)
    await time_out_offer(demo_db, offer["id"])
    assert (await sweep_now(demo_db)).expired_offers == 1
    assert await _record(demo_db, service_id) == (1, 0)
    assert await _outcomes(demo_db, service_id) == {"expired_unanswered": 1}


async def test_an_accepted_offer_that_expired_unconfirmed_stays_accepted(
    client: Client, demo_db: str
) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 2)
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    offer = await hold(client, officer, await matched_referral(client, officer), service_id)
    await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    await sql(
        demo_db, "UPDATE referral_hold SET confirm_by = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(offer["id"]),
    )  # fmt: skip
    assert (await sweep_now(demo_db)).expired_offers == 1
    assert await _record(demo_db, service_id) == (1, 1)
    assert await _outcomes(demo_db, service_id) == {"accepted": 1}


def _suggested(body: dict[str, Any], service_id: uuid.UUID) -> dict[str, Any] | None:
    found: list[dict[str, Any]] = [
        s for s in body["needs"][0]["suggestions"] if s["service_id"] == str(service_id)
    ]
    return found[0] if found else None


async def test_a_person_declined_decline_leaves_the_ranking_as_it_was(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    needs = [{"code": "PSY.COUNSEL", "priority": "must"}]
    profile = {k: v for k, v in referral_body(needs=needs).items() if k != "consent"}

    async def suggest() -> dict[str, Any]:
        answer = await client.post(SUGGEST, json=profile, headers=officer)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    # The best counselling service in the referral's jurisdiction, with places to hold.
    top = next(s for s in (await suggest())["needs"][0]["suggestions"] if s["participant"] == "RS")
    service_id = uuid.UUID(top["service_id"])
    await sql(
        demo_db,
        "INSERT INTO service_capacity (service_id, unit, maximum, available, updated_at)"
        " VALUES ($1, 'place', 20, 20, now()) ON CONFLICT (service_id) DO UPDATE"
        " SET maximum = 20, available = 20, updated_at = now()",
        service_id,
    )
    before = _suggested(await suggest(), service_id)
    assert before is not None
    [org] = await sql(demo_db, "SELECT organization_id FROM service WHERE id = $1", service_id)
    provider = await token(demo_db, "provider", org=org["organization_id"])

    async def decline(reason: str) -> dict[str, Any] | None:
        ref_id = await matched_referral(client, officer, needs=needs)
        offer = await hold(client, officer, ref_id, service_id)
        await post_ok(client, f"/api/v1/offers/{offer['id']}/decline", provider, {"reason": reason})
        return _suggested(await suggest(), service_id)

    after = await decline("person_declined")
    assert after is not None
    assert after["parts"]["acceptance"] == before["parts"]["acceptance"] == 0
    assert after["total"] == before["total"]
    # An unexplained decline does cost it: it ranks lower now, or not among the first.
    worse = await decline("other")
    assert worse is None or worse["parts"]["acceptance"] > 0


async def _org_of(db_url: str, participant: str = "RS") -> tuple[uuid.UUID, uuid.UUID]:
    [row] = await sql(
        db_url,
        "SELECT s.id, s.organization_id FROM service s JOIN organization o"
        " ON o.id = s.organization_id WHERE o.participant_code = $1 ORDER BY s.id LIMIT 1",
        participant,
    )
    return row["id"], row["organization_id"]


async def _ends(
    db_url: str, service_id: uuid.UUID, org_id: uuid.UUID, quarter: dt.date, **n: int
) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        for outcome, times in n.items():
            for _ in range(times):
                await record_offer_outcome(
                    conn, service_id, org_id, outcome,  # type: ignore[arg-type]
                    counts=counted(outcome), quarter=quarter,  # type: ignore[arg-type]
                )  # fmt: skip
    finally:
        await conn.close()


async def test_the_record_shows_closed_quarters_with_five_offers_or_more(
    client: Client, demo_db: str
) -> None:
    service_id, org_id = await _org_of(demo_db)
    this_quarter = quarter_start(dt.datetime.now(dt.UTC).date())
    last = quarter_start(this_quarter - dt.timedelta(days=1))
    before_last = quarter_start(last - dt.timedelta(days=1))
    await _ends(demo_db, service_id, org_id, this_quarter, accepted=9)  # still open
    await _ends(
        demo_db, service_id, org_id, last,
        accepted=2, person_declined=2, other=1, expired_unanswered=1,
    )  # fmt: skip
    await _ends(demo_db, service_id, org_id, before_last, accepted=3, safety=1)  # 4: too few
    provider = await token(demo_db, "provider", org=org_id)
    answer = await client.get(f"/api/v1/organizations/{org_id}/acceptance-record", headers=provider)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["not_counted"] == ["not_eligible", "safety", "person_declined"]
    assert body["min_offers_per_quarter"] == 5
    quarters = body["quarters"]
    assert len(quarters) == 8
    assert quarters[0]["starts"] == last.isoformat()  # the open quarter is not shown
    shown = quarters[0]
    assert shown["too_few_offers"] is False
    assert (shown["offers"], shown["counted_offers"], shown["accepted"]) == (6, 4, 2)
    assert shown["acceptance_rate"] == 0.5
    assert shown["outcomes"]["person_declined"] == 2
    hidden = quarters[1]
    assert hidden["starts"] == before_last.isoformat()
    assert hidden["too_few_offers"] is True
    assert hidden["offers"] is None
    assert hidden["outcomes"] is None
    assert all(q["too_few_offers"] for q in quarters[2:])


async def test_who_may_read_an_acceptance_record(client: Client, demo_db: str) -> None:
    _, org_id = await _org_of(demo_db, "RS")
    _, other_org = await _org_of(demo_db, "AL")
    path = f"/api/v1/organizations/{org_id}/acceptance-record"
    for headers, status in [
        (await token(demo_db, "provider", org=org_id), 200),
        (await token(demo_db, "coordinator", "RS"), 200),
        (await token(demo_db, "admin", "MARRI"), 200),
        (await token(demo_db, "provider", "AL", org=other_org), 404),
        (await token(demo_db, "coordinator", "AL"), 404),
        (await token(demo_db, "officer", agency="RS police"), 403),
        (await token(demo_db, "funder"), 403),
    ]:
        answer = await client.get(path, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
