"""A provider can always say the truth: a report of fewer places than are held is stored, the
newest holds beyond it become at risk and everyone concerned is told; while live holds exceed
available the database takes no new hold and neither accepts nor confirms an at-risk one;
a hold stops being at risk when places free up."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.db import holds as hold_db
from csomatch.db.errors import CONSTRAINT_MESSAGES
from csomatch.db.pool import Pool, create_pool
from csomatch.errors import InvalidInput
from csomatch.notifications.dispatch import RetryPolicy, dispatch_once
from csomatch.settings import Settings
from tests.api.hold_factories import (
    FORMULA,
    Client,
    capacity,
    hold,
    matched_referral,
    post_ok,
    report,
    sql,
    sweep_now,
    time_out_offer,
)
from tests.api.referral_factories import idem, service_with_free_places, token
from tests.api.test_registry_api import OTHER_ORG, SHELTER_ORG
from tests.api.webhook_receiver import Receiver, receiver


@pytest.fixture
async def api(demo_db: str) -> AsyncIterator[Client]:
    """The app, with webhooks to a local receiver allowed and no background dispatcher."""
    settings = Settings(
        database_url=demo_db, pool_min_size=1, pool_max_size=4, webhook_allow_http=True,
        webhook_allow_private=True, dispatch_interval_s=0,
    )  # fmt: skip
    async with AsyncTestClient(app=create_app(settings, demo_db)) as test_client:
        yield test_client


@dataclass
class Full:
    """A service of 3 places with 3 holds of 1 place, oldest first: a, b, c."""

    service_id: uuid.UUID
    org_id: uuid.UUID
    officer: dict[str, str]
    provider: dict[str, str]
    referrals: list[str]
    offers: list[str]


async def _full(api: Client, db: str) -> Full:
    service_id, org_id = await service_with_free_places(db, 3)
    officer = await token(db, "officer", agency="RS police")
    provider = await token(db, "provider", org=org_id)
    referrals, offers = [], []
    for _ in range(3):
        ref_id = await matched_referral(api, officer)
        referrals.append(ref_id)
        offers.append((await hold(api, officer, ref_id, service_id))["id"])
    # Distinct creation times, oldest first, whatever the clock's resolution.
    for age, offer in zip((30, 20, 10), offers, strict=True):
        await sql(
            db, "UPDATE referral_hold SET created_at = now() - make_interval(mins => $2)"
            " WHERE id = $1", uuid.UUID(offer), age,
        )  # fmt: skip
    return Full(service_id, org_id, officer, provider, referrals, offers)


async def _report(api: Client, f: Full, available: int) -> dict[str, object]:
    etag, _ = await capacity(api, f.provider, f.service_id)
    answer = await report(api, f.provider, f.service_id, etag, available=available, maximum=3)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def _at_risk(api: Client, f: Full) -> list[bool]:
    """Each referral's offer at risk or not, as the referrer sees it (oldest first)."""
    flags = []
    for ref_id in f.referrals:
        ref = (await api.get(f"/api/v1/referrals/{ref_id}", headers=f.officer)).json()
        flags.append(ref["offers"][-1]["at_risk"])
    return flags


def _a_sentence(detail: str) -> None:
    """What a person reads: a sentence saying what to do, no formula, no rule's name."""
    assert not FORMULA & set(detail), detail
    assert "capacity_" not in detail, detail
    assert "hold_" not in detail, detail
    assert detail[0].isupper(), detail
    assert detail.endswith("."), detail


async def test_a_report_below_the_held_places_is_stored_and_the_newest_holds_are_at_risk(
    api: Client, demo_db: str
) -> None:
    f = await _full(api, demo_db)
    assert await _at_risk(api, f) == [False, False, False]

    stored = await _report(api, f, 1)

    assert (stored["available"], stored["held"], stored["free"]) == (1, 3, 0)
    assert await _at_risk(api, f) == [False, True, True]
    inbox = (await api.get("/api/v1/offers", headers=f.provider)).json()["offers"]
    assert {o["id"]: o["at_risk"] for o in inbox} == dict(
        zip(f.offers, [False, True, True], strict=True)
    )
    # The shelter filled up: it can say so, with every place still held.
    assert (await _report(api, f, 0))["available"] == 0
    assert await _at_risk(api, f) == [True, True, True]
    # Search never shows a negative number of free places.
    [row] = await sql(
        demo_db, "SELECT free FROM service_search WHERE service_id = $1", f.service_id
    )
    assert row["free"] == 0


async def test_groups_are_at_risk_newest_first_by_places(api: Client, demo_db: str) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 5)
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    offers = []
    for places in (1, 2, 2):
        ref_id = await matched_referral(api, officer)
        offers.append((await hold(api, officer, ref_id, service_id, places))["id"])
    for age, offer in zip((30, 20, 10), offers, strict=True):
        await sql(
            demo_db, "UPDATE referral_hold SET created_at = now() - make_interval(mins => $2)"
            " WHERE id = $1", uuid.UUID(offer), age,
        )  # fmt: skip
    etag, _ = await capacity(api, provider, service_id)
    assert (await report(api, provider, service_id, etag, available=3)).status_code == 200
    inbox = (await api.get("/api/v1/offers", headers=provider)).json()["offers"]
    # 1 + 2 places fit in 3; the newest group of 2 is beyond them.
    assert {o["id"]: o["at_risk"] for o in inbox} == dict(
        zip(offers, [False, False, True], strict=True)
    )


async def test_while_holds_exceed_available_new_holds_and_at_risk_answers_are_refused(
    api: Client, demo_db: str
) -> None:
    f = await _full(api, demo_db)
    await post_ok(api, f"/api/v1/offers/{f.offers[2]}/accept", f.provider)  # c, accepted
    await _report(api, f, 1)
    assert await _at_risk(api, f) == [False, True, True]

    newcomer = await matched_referral(api, f.officer)
    refused = await api.post(
        f"/api/v1/referrals/{newcomer}/holds", json={"service_id": str(f.service_id)},
        headers=f.officer | idem(),
    )  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["free_places"] == 0
    assert "Choose another service" in refused.json()["detail"]
    _a_sentence(refused.json()["detail"])

    at_risk = await api.post(f"/api/v1/offers/{f.offers[1]}/accept", headers=f.provider | idem())
    assert at_risk.status_code == 409
    assert "report your free places again" in at_risk.json()["detail"]
    _a_sentence(at_risk.json()["detail"])

    not_confirmed = await api.post(
        f"/api/v1/referrals/{f.referrals[2]}/transitions", json={"to": "confirmed"},
        headers=f.officer | idem(),
    )  # fmt: skip
    assert not_confirmed.status_code == 409
    assert "Ask the provider" in not_confirmed.json()["detail"]
    _a_sentence(not_confirmed.json()["detail"])

    # The hold within the reported places proceeds as usual.
    await post_ok(api, f"/api/v1/offers/{f.offers[0]}/accept", f.provider)
    placed = await post_ok(
        api, f"/api/v1/referrals/{f.referrals[0]}/transitions", f.officer, {"to": "confirmed"}
    )
    assert placed["state"] == "confirmed"
    _, cap = await capacity(api, f.provider, f.service_id)
    assert (cap["available"], cap["held"], cap["free"]) == (0, 2, 0)
    assert await _at_risk(api, f) == [False, True, True]  # a is confirmed; b, c still beyond


async def test_the_database_refuses_them_even_bypassing_the_use_cases(
    api: Client, demo_db: str
) -> None:
    f = await _full(api, demo_db)
    await post_ok(api, f"/api/v1/offers/{f.offers[2]}/accept", f.provider)
    await _report(api, f, 1)
    newcomer = uuid.UUID(await matched_referral(api, f.officer))
    conn = await asyncpg.connect(demo_db)
    try:
        with pytest.raises(asyncpg.CheckViolationError) as new_hold:
            await conn.execute(
                "INSERT INTO referral_hold (id, referral_id, service_id, organization_id,"
                " places, expires_at) VALUES ($1, $2, $3, $4, 1, now() + interval '1 hour')",
                uuid.uuid4(), newcomer, f.service_id, f.org_id,
            )  # fmt: skip
        assert new_hold.value.constraint_name == "hold_exceeds_free"
        with pytest.raises(asyncpg.CheckViolationError) as accept:
            await conn.execute(
                "UPDATE referral_hold SET status = 'accepted',"
                " confirm_by = now() + interval '1 day' WHERE id = $1",
                uuid.UUID(f.offers[1]),
            )
        assert accept.value.constraint_name == "hold_at_risk"
        with pytest.raises(asyncpg.CheckViolationError) as confirm:
            await conn.execute(
                "UPDATE referral_hold SET status = 'confirmed' WHERE id = $1",
                uuid.UUID(f.offers[2]),
            )
        assert confirm.value.constraint_name == "hold_at_risk"
        # The hold within the reported places is accepted, bypassing the use case too.
        await conn.execute(
            "UPDATE referral_hold SET status = 'accepted', confirm_by = now() + interval '1 day'"
            " WHERE id = $1",
            uuid.UUID(f.offers[0]),
        )
        # Through db/, the refusal becomes a sentence naming the field.
        with pytest.raises(InvalidInput) as translated:
            await hold_db.insert_hold(
                conn,
                hold_db.NewHold(
                    id=uuid.uuid4(), referral_id=newcomer, service_id=f.service_id,
                    organization_id=f.org_id, places=1,
                    expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
                ),
            )  # fmt: skip
        assert translated.value.field == "$.places"
        _a_sentence(translated.value.detail)
        statuses = await conn.fetch(
            "SELECT status FROM referral_hold WHERE service_id = $1 ORDER BY created_at",
            f.service_id,
        )
    finally:
        await conn.close()
    assert [s["status"] for s in statuses] == ["accepted", "held", "accepted"]


def test_every_capacity_and_hold_refusal_reads_as_a_sentence() -> None:
    for name in (
        "capacity_counts", "capacity_within_maximum", "hold_exceeds_free", "hold_at_risk",
        "hold_confirm_in_time", "hold_accepted_has_deadline", "hold_needs_capacity",
    ):  # fmt: skip
        field, message = CONSTRAINT_MESSAGES[name]
        assert field.startswith("$"), name
        assert not FORMULA & set(message), name
        assert name not in message


async def test_a_hold_stops_being_at_risk_when_places_free_up(api: Client, demo_db: str) -> None:
    f = await _full(api, demo_db)
    await _report(api, f, 1)
    assert await _at_risk(api, f) == [False, True, True]

    # Another hold released: a is cancelled, so b fits in the place reported.
    await post_ok(
        api,
        f"/api/v1/referrals/{f.referrals[0]}/transitions",
        f.officer,
        {"to": "cancelled", "reason": "placed_elsewhere"},
    )
    assert await _at_risk(api, f) == [False, False, True]
    await post_ok(api, f"/api/v1/offers/{f.offers[1]}/accept", f.provider)  # b proceeds

    # Another hold expired and swept: nothing left beyond the place.
    await time_out_offer(demo_db, f.offers[2])
    assert (await sweep_now(demo_db)).expired_offers == 1
    _, cap = await capacity(api, f.provider, f.service_id)
    assert (cap["available"], cap["held"]) == (1, 1)

    # The provider reports lower, then higher again: the hold is at risk, then it is not.
    await _report(api, f, 0)
    assert (await _at_risk(api, f))[1] is True
    await _report(api, f, 2)
    assert (await _at_risk(api, f))[1] is False
    # New holds are taken again.
    newcomer = await matched_referral(api, f.officer)
    assert (await hold(api, f.officer, newcomer, f.service_id))["at_risk"] is False
    kinds = await sql(
        demo_db,
        "SELECT event_type, object_id FROM outbox_event"
        " WHERE event_type LIKE 'hold.at_risk%' ORDER BY id",
    )
    b, c = uuid.UUID(f.offers[1]), uuid.UUID(f.offers[2])
    assert [(k["event_type"], k["object_id"]) for k in kinds] == [
        ("hold.at_risk", c), ("hold.at_risk", b),  # newest first
        ("hold.at_risk_cleared", b),  # a released
        ("hold.at_risk", b),  # the report of 0
        ("hold.at_risk_cleared", b),  # the report of 2
    ]  # fmt: skip


async def _subscribe(api: Client, headers: dict[str, str], recv: Receiver, path: str) -> None:
    answer = await api.post(
        "/api/v1/webhooks", json={"url": recv.base_url + path, "event_types": ["hold.*"]},
        headers=headers | idem(),
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    recv.secrets[path] = answer.json()["secret"]


async def test_referrers_see_it_at_once_and_provider_and_coordinators_get_a_webhook(
    api: Client, demo_db: str
) -> None:
    f = await _full(api, demo_db)
    coordinator = await token(demo_db, "coordinator")
    elsewhere = await token(demo_db, "coordinator", "AL")
    other_org = SHELTER_ORG if f.org_id != SHELTER_ORG else OTHER_ORG
    feed_start = (await api.get("/api/v1/events", headers=f.officer)).json()["next_after"]
    pool: Pool = await create_pool(demo_db, min_size=1, max_size=2)
    try:
        with receiver() as recv:
            await _subscribe(api, f.provider, recv, "/provider")
            await _subscribe(api, coordinator, recv, "/coordinator")
            await _subscribe(api, elsewhere, recv, "/elsewhere")
            await _subscribe(api, await token(demo_db, "provider", org=other_org), recv, "/other")

            await _report(api, f, 1)

            async with httpx.AsyncClient() as http:
                sent = await dispatch_once(
                    pool, http, RetryPolicy(allow_private=True), now=dt.datetime.now(dt.UTC)
                )
            assert sent.attempted == sent.delivered > 0

            def seen(path: str) -> set[tuple[str, str, str]]:
                events = [r.payload["event"] for r in recv.at(path)]
                return {(e["type"], e["object_id"], e["state"]) for e in events}

            expected = {("hold.at_risk", f.offers[i], "at_risk") for i in (1, 2)}
            assert seen("/provider") == expected
            assert seen("/coordinator") == expected
            assert recv.at("/elsewhere") == []
            assert recv.at("/other") == []
            assert all(r.signature_ok for r in recv.received)
    finally:
        await pool.close()
    # The referrer's event feed has it at once, and its page reads the offer as at risk.
    feed = (await api.get(f"/api/v1/events?after={feed_start}", headers=f.officer)).json()
    assert {(e["type"], e["object_id"]) for e in feed["events"]} >= {
        ("hold.at_risk", f.offers[1]), ("hold.at_risk", f.offers[2]),
    }  # fmt: skip
    assert await _at_risk(api, f) == [False, True, True]
