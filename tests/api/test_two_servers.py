"""Two server processes on one database, together: a capacity change through one is in the
other's search at once (its search index follows NOTIFY), concurrent holds through both never
overbook; and ``serve --workers 2`` forks two workers and replaces one that dies."""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import msgspec
import psutil
import pytest

from csomatch.db.tokens import find_token
from csomatch.referrals import intake, lifecycle
from csomatch.referrals.model import ReferralIn
from csomatch.registry.tokens import principal_from as principal_of
from tests.api.referral_factories import referral_body, service_with_free_places, token
from tests.serving import Served, server_env, serving

pytestmark = pytest.mark.slow


@pytest.fixture
def two_servers(demo_db: str, tmp_path: Path) -> Iterator[tuple[Served, Served]]:
    """Two ``csomatch serve`` processes on the test's demo database."""
    env = server_env(tmp_path, CSOMATCH_DATABASE_URL=demo_db, CSOMATCH_POOL_MAX_SIZE="20")
    with serving(env, tmp_path / "a.log") as a, serving(env, tmp_path / "b.log") as b:
        yield a, b


async def _area_of(db_url: str, service_id: uuid.UUID) -> str:
    conn = await asyncpg.connect(db_url)
    try:
        area: str = await conn.fetchval(
            "SELECT l.area_code FROM service s JOIN location l ON l.id = s.location_id"
            " WHERE s.id = $1",
            service_id,
        )
    finally:
        await conn.close()
    return area


async def test_a_capacity_change_through_one_server_is_in_the_others_search_at_once(
    two_servers: tuple[Served, Served], demo_db: str
) -> None:
    a, b = two_servers
    coordinator = await token(demo_db, "coordinator")
    service_id, _ = await service_with_free_places(demo_db, 5)
    area = await _area_of(demo_db, service_id)
    search = f"/api/v1/services/search?area={area}&code=ACC.EMERG&available=true&limit=100"
    async with (
        httpx.AsyncClient(base_url=a.base, headers=coordinator, timeout=30) as via_a,
        httpx.AsyncClient(base_url=b.base, headers=coordinator, timeout=30) as via_b,
    ):
        # Both indexes are loaded (a first search through each).
        for http in (via_a, via_b):
            assert (await http.get(search)).status_code == 200
        for writer, reader, available in [
            (via_a, via_b, 0), (via_b, via_a, 3), (via_a, via_b, 1), (via_b, via_a, 0),
        ]:  # fmt: skip
            path = f"/api/v1/services/{service_id}/capacity"
            etag = (await writer.get(path)).headers["etag"]
            put = await writer.put(
                path,
                json={"unit": "bed", "maximum": 5, "available": available},
                headers={"If-Match": etag},
            )
            assert put.status_code == 200, put.text
            # No wait: the other process answers with the change committed before it.
            found = await reader.get(search)
            assert found.status_code == 200, found.text
            free = {h["service"]["id"]: h["free_places"] for h in found.json()["hits"]}
            if available == 0:
                assert str(service_id) not in free
            else:
                assert free[str(service_id)] == available


async def _matched_referrals(db_url: str, officer: dict[str, str], n: int) -> list[str]:
    """``n`` matched referrals of the officer, made with the use cases on one connection."""
    conn = await asyncpg.connect(db_url)
    try:
        record = await find_token(conn, officer["Authorization"].removeprefix("Bearer "))
        assert record is not None
        principal = principal_of(record)
        data = msgspec.convert(referral_body(), ReferralIn)
        ids = []
        for _ in range(n):
            async with conn.transaction():
                rid = await intake.create_referral(
                    conn, principal, data, now=dt.datetime.now(dt.UTC)
                )
                head = await intake.submit(conn, principal, rid)
                await lifecycle.move(conn, principal, head, "matched")
            ids.append(str(rid))
        return ids
    finally:
        await conn.close()


async def test_concurrent_holds_through_two_servers_never_overbook(
    two_servers: tuple[Served, Served], demo_db: str
) -> None:
    free, n = 3, 40
    officer = await token(demo_db, "officer", agency="RS police")
    service_id, _ = await service_with_free_places(demo_db, free)
    referrals = await _matched_referrals(demo_db, officer, n)
    async with (
        httpx.AsyncClient(base_url=two_servers[0].base, headers=officer, timeout=60) as via_a,
        httpx.AsyncClient(base_url=two_servers[1].base, headers=officer, timeout=60) as via_b,
    ):
        answers = await asyncio.gather(
            *(
                (via_a if i % 2 else via_b).post(
                    f"/api/v1/referrals/{rid}/holds",
                    json={"service_id": str(service_id), "places": 1},
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                )
                for i, rid in enumerate(referrals)
            )
        )
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == free, codes
    assert codes.count(409) == n - free, [a.text for a in answers if a.status_code != 409][:3]
    conn = await asyncpg.connect(demo_db)
    try:
        row = await conn.fetchrow(
            "SELECT c.available, c.held, live_held_places(c.service_id) AS live"
            " FROM service_capacity c WHERE c.service_id = $1",
            service_id,
        )
    finally:
        await conn.close()
    assert (row["available"], row["held"], row["live"]) == (free, free, free)


def _workers(served: Served, count: int, within_s: float = 60) -> list[int]:
    """The supervisor's worker pids, once there are ``count`` of them."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        pids = sorted(c.pid for c in psutil.Process(served.proc.pid).children())
        if len(pids) == count:
            return pids
        time.sleep(0.2)
    pytest.fail(f"not {count} workers: {served.log_text()[-2000:]}")


def test_serve_with_two_workers_replaces_one_that_dies(demo_db: str, tmp_path: Path) -> None:
    env = server_env(tmp_path, CSOMATCH_DATABASE_URL=demo_db, CSOMATCH_WORKERS="1")
    # The flag wins over CSOMATCH_WORKERS.
    with serving(env, tmp_path / "serve.log", "--workers", "2") as served:
        first = _workers(served, 2)
        psutil.Process(first[0]).send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            now = _workers(served, 2)
            if first[0] not in now:
                break
            time.sleep(0.2)
        assert first[0] not in now
        assert first[1] in now
        served.wait_for("/readyz", 200, within_s=60)
        for _ in range(10):  # both workers answer
            assert served.status("/healthz") == 200
        # Without their supervisor the workers stop by themselves, and say so (their log
        # records reach stderr: no logging thread was lost in the fork).
        served.proc.send_signal(signal.SIGKILL)
        served.proc.wait(timeout=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(_alive(p) for p in now):
            time.sleep(0.2)
        assert not any(_alive(p) for p in now)
        assert served.log_text().count("the supervisor") == 2, served.log_text()[-2000:]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
