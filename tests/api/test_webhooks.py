"""Webhooks end to end: registration over HTTP, signed deliveries to a real local receiver,
retries with backoff, the delivery log, several dispatchers, the server's background task."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.db import outbox
from csomatch.db.pool import Pool, create_pool
from csomatch.notifications.dispatch import DispatchReport, RetryPolicy, dispatch_once
from csomatch.notifications.targets import address_problem
from csomatch.settings import Settings
from tests.api.conftest import make_token
from tests.api.test_registry_api import OTHER_ORG, SHELTER_ORG, Client
from tests.api.webhook_receiver import Receiver, receiver

POLICY = RetryPolicy(
    max_attempts=3, backoff_s=10, backoff_max_s=15, timeout_s=5, allow_private=True
)


def _settings(db: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db, "pool_min_size": 1, "pool_max_size": 4,
        "webhook_allow_http": True, "webhook_allow_private": True, "dispatch_interval_s": 0,
    }  # fmt: skip
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def api(demo_db: str) -> AsyncIterator[Client]:
    """The app allowing http:// webhooks, without its background dispatcher."""
    async with AsyncTestClient(app=create_app(_settings(demo_db), demo_db)) as test_client:
        yield test_client


@pytest.fixture
async def pool(demo_db: str) -> AsyncIterator[Pool]:
    p = await create_pool(demo_db, min_size=1, max_size=4)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


async def _subscribe(
    api: Client, headers: dict[str, str], recv: Receiver, path: str, types: list[str]
) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/webhooks", json={"url": recv.base_url + path, "event_types": types},
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    recv.secrets[path] = body["secret"]
    return body


async def _emit(db: str, event_type: str, *, orgs: list[uuid.UUID], jurs: list[str]) -> int:
    conn = await asyncpg.connect(db)
    try:
        return await outbox.emit(
            conn,
            outbox.NewEvent(
                event_type=event_type, object_type="referral", object_id=uuid.uuid4(),
                state=event_type.split(".")[1], organization_ids=orgs, jurisdictions=jurs,
            ),
        )  # fmt: skip
    finally:
        await conn.close()


async def _drain(pool: Pool, http: httpx.AsyncClient, now: dt.datetime) -> DispatchReport:
    return await dispatch_once(pool, http, POLICY, now=now)


async def test_a_provider_registers_a_webhook_and_sees_its_secret_once(
    api: Client, demo_db: str
) -> None:
    provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
    created = await api.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.org/csomatch", "event_types": ["referral.*"]},
        headers=provider,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert body["organization_id"] == str(SHELTER_ORG)
    assert body["jurisdiction"] is None
    listed = await api.get("/api/v1/webhooks", headers=provider)
    assert [s["id"] for s in listed.json()] == [body["id"]]
    assert "secret" not in listed.json()[0]
    one = await api.get(f"/api/v1/webhooks/{body['id']}", headers=provider)
    assert one.status_code == 200
    assert "secret" not in one.json()


async def test_others_webhooks_are_not_found_and_officers_own_none(
    api: Client, demo_db: str
) -> None:
    mine = await make_token(demo_db, "provider", org=SHELTER_ORG)
    theirs = await make_token(demo_db, "provider", org=OTHER_ORG)
    coord_al = await make_token(demo_db, "coordinator", jurisdiction="AL")
    created = await api.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example.org/x", "event_types": ["*"]},
        headers=mine,
    )
    sub = created.json()["id"]
    for headers in (theirs, coord_al):
        assert (await api.get(f"/api/v1/webhooks/{sub}", headers=headers)).status_code == 404
        assert (await api.delete(f"/api/v1/webhooks/{sub}", headers=headers)).status_code == 404
        deliveries = await api.get(f"/api/v1/webhooks/{sub}/deliveries", headers=headers)
        assert deliveries.status_code == 404
        assert (await api.get("/api/v1/webhooks", headers=headers)).json() == []
    for role in ("officer", "funder"):
        headers = await make_token(demo_db, role)
        assert (await api.get("/api/v1/webhooks", headers=headers)).status_code == 403
    assert (await api.delete(f"/api/v1/webhooks/{sub}", headers=mine)).status_code == 204
    assert (await api.get(f"/api/v1/webhooks/{sub}", headers=mine)).json()["active"] is False


async def test_bad_subscriptions_are_rejected_naming_the_field(
    client: Client, demo_db: str
) -> None:
    coord = await make_token(demo_db, "coordinator")
    cases: list[tuple[dict[str, Any], int, str]] = [
        # the default server settings accept https only
        ({"url": "http://hooks.example.org/x", "event_types": ["*"]}, 422, "$.url"),
        ({"url": "https://u:p@hooks.example.org/x", "event_types": ["*"]}, 422, "$.url"),
        ({"url": "https://hooks.example.org/x", "event_types": []}, 400, "event_types"),
        ({"url": "https://hooks.example.org/x", "event_types": ["Referral!"]}, 400, "event_types"),
        ({"url": "https://hooks.example.org/x", "event_types": ["*"], "name": "x"}, 400, "name"),
        # this machine, private networks and cloud metadata are not public endpoints
        ({"url": "https://127.0.0.1/x", "event_types": ["*"]}, 422, "$.url"),
        ({"url": "https://localhost:8443/x", "event_types": ["*"]}, 422, "$.url"),
        ({"url": "https://10.1.2.3/x", "event_types": ["*"]}, 422, "$.url"),
        ({"url": "https://169.254.169.254/latest", "event_types": ["*"]}, 422, "$.url"),
        ({"url": "https://[::ffff:192.168.0.1]/x", "event_types": ["*"]}, 422, "$.url"),
        ({"url": "https://[fd00::1]/x", "event_types": ["*"]}, 422, "$.url"),
    ]
    for body, status, field in cases:
        response = await client.post("/api/v1/webhooks", json=body, headers=coord)
        assert response.status_code == status, (body, response.text)
        problem = response.json()
        assert field in problem.get("field", "") + problem["detail"], problem
    assert (await client.get("/api/v1/webhooks", headers=coord)).json() == []


async def test_signed_deliveries_carry_ids_and_states_only_to_who_may_see_them(
    api: Client, demo_db: str, pool: Pool, http: httpx.AsyncClient
) -> None:
    with receiver() as recv:
        provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
        prov_sub = await _subscribe(api, provider, recv, "/provider", ["referral.*"])
        rs = await _subscribe(api, await make_token(demo_db, "coordinator"), recv, "/rs", ["*"])
        al = await make_token(demo_db, "admin", jurisdiction="AL")
        await _subscribe(api, al, recv, "/al", ["referral.submitted"])
        e1 = await _emit(demo_db, "referral.offered", orgs=[SHELTER_ORG], jurs=["RS"])
        e2 = await _emit(demo_db, "referral.offered", orgs=[OTHER_ORG], jurs=["RS"])
        e3 = await _emit(demo_db, "hold.expired", orgs=[SHELTER_ORG], jurs=["RS"])
        e4 = await _emit(demo_db, "referral.submitted", orgs=[], jurs=["AL"])
        e5 = await _emit(demo_db, "referral.accepted", orgs=[], jurs=["AL"])

        report = await _drain(pool, http, dt.datetime.now(dt.UTC))
        assert report == DispatchReport(published=5, deliveries_created=5, attempted=5, delivered=5)
        got = {p: sorted(r.payload["event"]["id"] for r in recv.at(p)) for p in recv.secrets}
        assert got == {"/provider": [e1], "/rs": [e1, e2, e3], "/al": [e4]}
        assert e5 not in got["/al"]
        assert all(r.signature_ok for r in recv.received)
        first = recv.at("/provider")[0]
        assert set(first.payload) == {"delivery_id", "subscription_id", "attempt", "event"}
        assert set(first.payload["event"]) == {
            "id", "type", "object_type", "object_id", "state", "occurred_at"
        }  # fmt: skip
        assert first.payload["event"]["state"] == "offered"
        assert first.payload["subscription_id"] == prov_sub["id"]
        assert first.headers["X-Csomatch-Event"] == "referral.offered"
        assert first.headers["X-Csomatch-Delivery"] == first.payload["delivery_id"]

        # each event goes to each subscription once
        assert await _drain(pool, http, dt.datetime.now(dt.UTC)) == DispatchReport()
        assert len(recv.received) == 5

        log = await api.get(f"/api/v1/webhooks/{rs['id']}/deliveries", headers=al)
        assert log.status_code == 404
        coord = await make_token(demo_db, "coordinator")
        log = await api.get(f"/api/v1/webhooks/{rs['id']}/deliveries", headers=coord)
        assert [d["event_id"] for d in log.json()] == [e3, e2, e1]
        assert {d["status"] for d in log.json()} == {"delivered"}
        [attempt] = log.json()[0]["attempt_log"]
        assert (attempt["attempt"], attempt["status_code"], attempt["error"]) == (1, 200, None)


async def test_a_failing_receiver_is_retried_with_backoff_then_given_up(
    api: Client, demo_db: str, pool: Pool, http: httpx.AsyncClient
) -> None:
    with receiver(lambda path, n: 503) as recv:
        coord = await make_token(demo_db, "coordinator")
        sub = await _subscribe(api, coord, recv, "/down", ["*"])
        await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"])
        t0 = dt.datetime.now(dt.UTC)
        second = dt.timedelta(seconds=1)
        schedule = [
            (t0, 1, "retrying"),  # fails; next in 10 s
            (t0 + 9 * second, 0, None),  # not yet due
            (t0 + 10 * second, 1, "retrying"),  # fails; next in 20 s, capped at 15 s
            (t0 + 24 * second, 0, None),
            (t0 + 25 * second, 1, "failed"),  # the third and last attempt
            (t0 + 10_000 * second, 0, None),
        ]
        for at, attempted, outcome in schedule:
            report = await _drain(pool, http, at)
            assert report.attempted == attempted, at - t0
            if outcome is not None:
                assert getattr(report, outcome) == 1
        assert [r.payload["attempt"] for r in recv.received] == [1, 2, 3]
        assert len({r.payload["delivery_id"] for r in recv.received}) == 1
        assert all(r.signature_ok for r in recv.received)

        [delivery] = (
            await api.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=coord)
        ).json()
        assert (delivery["status"], delivery["attempts"]) == ("failed", 3)
        assert delivery["next_attempt_at"] is None
        assert [(a["attempt"], a["status_code"], a["error"]) for a in delivery["attempt_log"]] == [
            (1, 503, "HTTP 503"),
            (2, 503, "HTTP 503"),
            (3, 503, "HTTP 503"),
        ]
        failed = await api.get(
            f"/api/v1/webhooks/{sub['id']}/deliveries?status=failed", headers=coord
        )
        assert len(failed.json()) == 1


async def test_a_receiver_that_recovers_gets_the_event(
    api: Client, demo_db: str, pool: Pool, http: httpx.AsyncClient
) -> None:
    with receiver(lambda path, n: 500 if n < 2 else 204) as recv:
        coord = await make_token(demo_db, "coordinator")
        sub = await _subscribe(api, coord, recv, "/flaky", ["referral.*"])
        await _emit(demo_db, "referral.accepted", orgs=[], jurs=["RS"])
        t0 = dt.datetime.now(dt.UTC)
        assert (await _drain(pool, http, t0)).retrying == 1
        assert (await _drain(pool, http, t0 + dt.timedelta(seconds=10))).delivered == 1
        [delivery] = (
            await api.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=coord)
        ).json()
        assert (delivery["status"], delivery["attempts"]) == ("delivered", 2)
        assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 204]


async def test_an_unreachable_receiver_logs_the_transport_error(
    api: Client, demo_db: str, pool: Pool, http: httpx.AsyncClient
) -> None:
    with receiver() as recv:
        closed_url = recv.base_url
    coord = await make_token(demo_db, "coordinator")
    created = await api.post(
        "/api/v1/webhooks", json={"url": closed_url + "/gone", "event_types": ["*"]},
        headers=coord,
    )  # fmt: skip
    await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"])
    assert (await _drain(pool, http, dt.datetime.now(dt.UTC))).retrying == 1
    [delivery] = (
        await api.get(f"/api/v1/webhooks/{created.json()['id']}/deliveries", headers=coord)
    ).json()
    [attempt] = delivery["attempt_log"]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("ConnectError")


def test_public_and_private_addresses() -> None:
    for private in ("127.0.0.1", "10.0.0.8", "172.16.5.5", "192.168.1.1", "169.254.169.254",
                    "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fd12::1", "::ffff:10.0.0.1",  # noqa: S104
                    "224.0.0.1", "::7f00:1", "64:ff9b::7f00:1", "2002:7f00:1::"):  # fmt: skip
        assert address_problem(ipaddress.ip_address(private)) is not None, private
    for public in ("8.8.8.8", "2001:4860:4860::8888", "193.2.1.66", "64:ff9b::808:808"):
        assert address_problem(ipaddress.ip_address(public)) is None, public


async def test_several_dispatchers_deliver_each_event_once(
    api: Client, demo_db: str, http: httpx.AsyncClient
) -> None:
    with receiver() as recv:
        await _subscribe(api, await make_token(demo_db, "coordinator"), recv, "/all", ["*"])
        events = set()
        pools = [await create_pool(demo_db, min_size=1, max_size=3) for _ in range(3)]
        try:

            async def dispatcher(p: Pool) -> None:
                idle = 0
                while idle < 3:  # stop after three rounds without work
                    report = await dispatch_once(p, http, POLICY)
                    idle = idle + 1 if report.attempted == report.published == 0 else 0

            async def writer() -> None:
                for _ in range(40):
                    events.add(await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"]))

            await asyncio.gather(writer(), *(dispatcher(p) for p in pools))
            await asyncio.gather(*(dispatcher(p) for p in pools))
            # An attempt that failed on the way (a slow machine's timeout) is retried after
            # its backoff: retry now until nothing is pending, so the count is final.
            retry_now = RetryPolicy(
                max_attempts=10, backoff_s=0, backoff_max_s=0, timeout_s=5, allow_private=True
            )
            for _ in range(50):
                async with pools[0].acquire() as conn:
                    pending = await conn.fetchval(
                        "SELECT count(*) FROM webhook_delivery WHERE status = 'pending'"
                    )
                if not pending:
                    break
                await asyncio.sleep(0.2)
                await dispatch_once(pools[0], http, retry_now)
        finally:
            for p in pools:
                await p.close()
        delivered = [r.payload["event"]["id"] for r in recv.received]
        assert sorted(delivered) == sorted(events)
        assert len(events) == 40


async def test_the_server_delivers_in_the_background(demo_db: str) -> None:
    settings = _settings(demo_db, dispatch_interval_s=0.05)
    with receiver() as recv:
        async with AsyncTestClient(app=create_app(settings, demo_db)) as api:
            coord = await make_token(demo_db, "coordinator")
            await _subscribe(api, coord, recv, "/live", ["referral.*"])
            event_id = await _emit(demo_db, "referral.confirmed", orgs=[], jurs=["RS"])
            for _ in range(600):  # up to 30 s
                if recv.received:
                    break
                await asyncio.sleep(0.05)
        [got] = recv.received
        assert got.signature_ok
        assert got.payload["event"]["id"] == event_id
