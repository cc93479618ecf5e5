"""The event feed of web pages: polling and server-sent events, each caller seeing only what
it may (a provider its organisation's events, others their jurisdiction's)."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.db import outbox
from csomatch.settings import Settings
from tests.api.conftest import make_token
from tests.api.referral_factories import idem, referral_body, service_with_free_places, token
from tests.api.test_registry_api import OTHER_ORG, SHELTER_ORG, Client


def _settings(db: str) -> Settings:
    return Settings(
        database_url=db, pool_min_size=1, pool_max_size=4, dispatch_interval_s=0,
        events_poll_s=0.05,
    )  # fmt: skip


@pytest.fixture
async def api(demo_db: str) -> AsyncIterator[Client]:
    """The app without its background dispatcher: the feed publishes what it needs."""
    async with AsyncTestClient(app=create_app(_settings(demo_db), demo_db)) as test_client:
        yield test_client


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


async def _ids(api: Client, headers: dict[str, str], after: int = 0) -> list[int]:
    response = await api.get(f"/api/v1/events?after={after}", headers=headers)
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["events"]]


async def test_each_caller_sees_only_the_events_it_may(api: Client, demo_db: str) -> None:
    mine = await _emit(demo_db, "referral.offered", orgs=[SHELTER_ORG], jurs=["RS"])
    theirs = await _emit(demo_db, "referral.offered", orgs=[OTHER_ORG], jurs=["RS"])
    albanian = await _emit(demo_db, "referral.submitted", orgs=[], jurs=["AL"])
    cross = await _emit(demo_db, "referral.submitted", orgs=[], jurs=["RS", "AL"])
    provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
    assert await _ids(api, provider) == [mine]
    # an officer hears only of referrals it may read; these name no referral at all
    assert await _ids(api, await make_token(demo_db, "officer")) == []
    assert await _ids(api, await make_token(demo_db, "coordinator")) == [mine, theirs, cross]
    al = await make_token(demo_db, "coordinator", jurisdiction="AL")
    assert await _ids(api, al) == [albanian, cross]
    regional = await make_token(demo_db, "admin", jurisdiction="MARRI")
    assert await _ids(api, regional) == [mine, theirs, albanian, cross]
    funder = await make_token(demo_db, "funder")
    assert (await api.get("/api/v1/events", headers=funder)).status_code == 403
    assert (await api.get("/api/v1/events")).status_code == 401


async def _post(api: Client, path: str, headers: dict[str, str], body: Any = None) -> Any:
    answer = await api.post(path, json=body, headers=headers | idem())
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def test_an_officer_hears_only_of_the_referrals_it_may_read(
    api: Client, demo_db: str
) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 3)
    police = await token(demo_db, "officer", agency="RS police")
    social = await token(demo_db, "officer", agency="RS social work")
    colleague = await token(demo_db, "officer", agency="RS police")
    start = (await api.get("/api/v1/events", headers=police)).json()["next_after"]
    referral_of: dict[str, str] = {}
    holds: dict[str, str] = {}
    for name, officer in (("police", police), ("social", social)):
        ref = await _post(api, "/api/v1/referrals", officer, referral_body())
        path = f"/api/v1/referrals/{ref['id']}"
        await _post(api, f"{path}/transitions", officer, {"to": "submitted"})
        await _post(api, f"{path}/suggestions", officer)
        hold = await _post(api, f"{path}/holds", officer, {"service_id": str(service_id)})
        referral_of[name], holds[name] = ref["id"], hold["id"]

    async def heard(headers: dict[str, str]) -> set[str]:
        page = await api.get(f"/api/v1/events?after={start}&limit=500", headers=headers)
        assert page.status_code == 200, page.text
        return {e["object_id"] for e in page.json()["events"]}

    mine = {referral_of["police"], holds["police"]}
    assert await heard(police) == mine
    assert await heard(colleague) == mine  # the same agency reads the same referrals
    assert await heard(social) == {referral_of["social"], holds["social"]}
    for name, officer in (("police", police), ("social", social)):
        other = referral_of["social" if name == "police" else "police"]
        assert (await api.get(f"/api/v1/referrals/{other}", headers=officer)).status_code == 404
    coordinator = await token(demo_db, "coordinator")
    assert await heard(coordinator) == set(referral_of.values()) | set(holds.values())
    # without an agency, an officer reads (and hears of) only the referrals it created
    lone = await token(demo_db, "officer")
    assert await heard(lone) == set()
    provider = await token(demo_db, "provider", org=org_id)
    assert await heard(provider) >= set(holds.values())


async def test_events_carry_ids_types_and_states_only(api: Client, demo_db: str) -> None:
    await _emit(demo_db, "referral.accepted", orgs=[SHELTER_ORG], jurs=["RS"])
    coord = await make_token(demo_db, "coordinator")
    [event] = (await api.get("/api/v1/events?after=0", headers=coord)).json()["events"]
    assert set(event) == {"seq", "id", "type", "object_type", "object_id", "state", "occurred_at"}
    assert (event["type"], event["state"]) == ("referral.accepted", "accepted")


async def test_polling_from_now_then_with_next_after_misses_nothing(
    api: Client, demo_db: str
) -> None:
    coord = await make_token(demo_db, "coordinator")
    await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"])
    start = (await api.get("/api/v1/events", headers=coord)).json()
    assert start["events"] == []  # no position given: from now on
    new = [await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"]) for _ in range(5)]
    await _emit(demo_db, "referral.offered", orgs=[], jurs=["AL"])  # not for RS
    seen: list[int] = []
    after = start["next_after"]
    for _ in range(10):
        page = (await api.get(f"/api/v1/events?after={after}&limit=2", headers=coord)).json()
        seen += [e["id"] for e in page["events"]]
        if page["next_after"] == after:
            break
        after = page["next_after"]
    assert seen == new
    assert (await api.get("/api/v1/events?after=-1", headers=coord)).status_code == 400


async def test_an_event_that_commits_late_is_not_skipped(api: Client, demo_db: str) -> None:
    coord = await make_token(demo_db, "coordinator")
    slow = await asyncpg.connect(demo_db)
    try:
        tx = slow.transaction()
        await tx.start()
        late = await outbox.emit(
            slow,
            outbox.NewEvent(event_type="referral.offered", object_type="referral",
                            object_id=uuid.uuid4(), jurisdictions=["RS"]),
        )  # fmt: skip
        early = await _emit(demo_db, "referral.offered", orgs=[], jurs=["RS"])
        assert late < early  # a lower id, committed later
        page = (await api.get("/api/v1/events?after=0", headers=coord)).json()
        assert [e["id"] for e in page["events"]] == [early]
        await tx.commit()
    finally:
        await slow.close()
    later = (await api.get(f"/api/v1/events?after={page['next_after']}", headers=coord)).json()
    assert [e["id"] for e in later["events"]] == [late]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def live_base(demo_db: str) -> AsyncIterator[str]:
    """The app served by uvicorn on a local port (streams need a real server)."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(_settings(demo_db), demo_db), host="127.0.0.1", port=port,
            log_level="warning", lifespan="on",
        )
    )  # fmt: skip
    task = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def _read_events(lines: AsyncIterator[str], count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    async for line in lines:
        if line.startswith(("id:", "event:", "data:")):
            key, _, value = line.partition(":")
            current[key] = value.strip()
        elif line == "" and "data" in current:
            current["data"] = json.loads(current["data"])
            events.append(current)
            current = {}
            if len(events) == count:
                break
    return events


async def test_the_stream_delivers_what_the_caller_may_see_and_resumes(
    live_base: str, demo_db: str
) -> None:
    provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
    async with httpx.AsyncClient(base_url=live_base, timeout=30) as http:
        async with http.stream("GET", "/api/v1/events/stream", headers=provider) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            first = await _emit(demo_db, "referral.offered", orgs=[SHELTER_ORG], jurs=["RS"])
            await _emit(demo_db, "referral.offered", orgs=[OTHER_ORG], jurs=["RS"])
            second = await _emit(demo_db, "hold.expired", orgs=[SHELTER_ORG], jurs=["RS"])
            got = await asyncio.wait_for(_read_events(lines, 2), timeout=30)
        assert [e["data"]["id"] for e in got] == [first, second]
        assert [e["event"] for e in got] == ["referral.offered", "hold.expired"]
        assert got[0]["id"] == str(got[0]["data"]["seq"])

        # a reconnecting page sends the last id it saw and gets what came after
        resume = {**provider, "Last-Event-ID": got[0]["id"]}
        async with http.stream("GET", "/api/v1/events/stream", headers=resume) as response:
            [again] = await asyncio.wait_for(_read_events(response.aiter_lines(), 1), 30)
        assert again["data"]["id"] == second

        unauthenticated = await http.get("/api/v1/events/stream")
        assert unauthenticated.status_code == 401
        funder = await make_token(demo_db, "funder")
        assert (await http.get("/api/v1/events/stream", headers=funder)).status_code == 403
        bad = await http.get(
            "/api/v1/events/stream", headers={**provider, "Last-Event-ID": "yesterday"}
        )
        assert bad.status_code == 422
