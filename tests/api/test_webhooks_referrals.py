"""A referral's life, driven through the referral API, reaches webhooks, the event feed and
the access log: ids and states only, each to whom it concerns."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.db.pool import Pool, create_pool
from csomatch.notifications.dispatch import RetryPolicy, dispatch_once
from csomatch.settings import Settings
from tests.api.referral_factories import referral_body, service_with_free_places, token
from tests.api.test_registry_api import OTHER_ORG, SHELTER_ORG, Client
from tests.api.webhook_receiver import Receiver, receiver


@pytest.fixture
async def api(demo_db: str) -> AsyncIterator[Client]:
    settings = Settings(
        database_url=demo_db, pool_min_size=1, pool_max_size=4, webhook_allow_http=True,
        webhook_allow_private=True,
        dispatch_interval_s=0,
    )  # fmt: skip
    async with AsyncTestClient(app=create_app(settings, demo_db)) as test_client:
        yield test_client


@pytest.fixture
async def pool(demo_db: str) -> AsyncIterator[Pool]:
    p = await create_pool(demo_db, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


def _idem() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def _subscribe(api: Client, headers: dict[str, str], recv: Receiver, path: str) -> None:
    response = await api.post(
        "/api/v1/webhooks", json={"url": recv.base_url + path, "event_types": ["*"]},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    recv.secrets[path] = response.json()["secret"]


async def _ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_referral_offered_and_accepted_is_announced_to_whom_it_concerns(
    api: Client, demo_db: str, pool: Pool
) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 3)
    officer = await token(demo_db, "officer", agency="Fictional Police Unit")
    provider = await token(demo_db, "provider", org=org_id)
    coord = await token(demo_db, "coordinator")
    with receiver() as recv:
        await _subscribe(api, provider, recv, "/provider")
        await _subscribe(api, coord, recv, "/coordinator")
        other_org = SHELTER_ORG if org_id != SHELTER_ORG else OTHER_ORG
        await _subscribe(api, await token(demo_db, "provider", org=other_org), recv, "/other")
        feed_start = (await api.get("/api/v1/events", headers=provider)).json()["next_after"]

        ref = await _ok(
            await api.post("/api/v1/referrals", json=referral_body(), headers=officer | _idem())
        )
        path = f"/api/v1/referrals/{ref['id']}"
        await _ok(
            await api.post(
                f"{path}/transitions", json={"to": "submitted"}, headers=officer | _idem()
            )
        )
        await _ok(await api.post(f"{path}/suggestions", headers=officer | _idem()))
        hold = await _ok(
            await api.post(
                f"{path}/holds", json={"service_id": str(service_id)}, headers=officer | _idem()
            )
        )
        await _ok(await api.post(f"/api/v1/offers/{hold['id']}/accept", headers=provider | _idem()))

        async with httpx.AsyncClient() as http:
            report = await dispatch_once(
                pool, http, RetryPolicy(allow_private=True), now=dt.datetime.now(dt.UTC)
            )
        assert report.attempted == report.delivered > 0

        def seen(path: str) -> list[tuple[str, str, str]]:
            events = [r.payload["event"] for r in recv.at(path)]
            return sorted((e["type"], e["object_type"], e["object_id"]) for e in events)

        ours = {ref["id"], hold["id"]}
        provider_saw = seen("/provider")
        assert {t for t, _, _ in provider_saw} >= {"referral.offered", "hold.held", "hold.accepted"}
        assert "referral.draft" not in {t for t, _, _ in provider_saw}  # not offered to it yet
        assert {i for _, _, i in provider_saw} == ours
        coordinator_saw = seen("/coordinator")
        assert {"referral.draft", "referral.submitted", "referral.matched"} <= {
            t for t, _, _ in coordinator_saw
        }
        assert recv.at("/other") == []
        assert all(r.signature_ok for r in recv.received)
        for r in recv.received:  # ids, types and states only
            for value in ("female", "25-59", "RS-792680", "verbal", "Fictional Police"):
                assert value.encode() not in r.body

        feed = (await api.get(f"/api/v1/events?after={feed_start}", headers=provider)).json()
        assert sorted((e["type"], e["object_type"], e["object_id"]) for e in feed["events"]) == (
            provider_saw
        )

    log = (await api.get(f"{path}/access-log", headers=coord)).json()
    kinds = {(e["object_type"], e["action"]) for e in log["events"]}
    assert ("referral", "referral.create") in kinds
    assert ("hold", "offer.accept") in kinds or ("hold", "hold.create") in kinds
