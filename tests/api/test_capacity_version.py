"""The capacity's version (the ETag of GET/PUT .../capacity) changes whenever the number
changes, through every path: a report, a hold, an answer, a confirmation, a release, an
expiry. A provider's PUT carrying an ETag read before any of them answers 412. ``updated_at``
stays the time of the last report: a hold is not a report."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import pytest

from tests.api.hold_factories import (
    Client,
    capacity,
    hold,
    lapse_confirmation,
    matched_referral,
    post_ok,
    report,
    sweep_now,
    time_out_offer,
)
from tests.api.referral_factories import service_with_free_places, token


@dataclass
class Scene:
    """One service with 3 free places, its provider, an officer and a matched referral."""

    client: Client
    db: str
    service_id: uuid.UUID
    provider: dict[str, str]
    officer: dict[str, str]
    referral_id: str
    offer_id: str = ""


async def _scene(client: Client, db: str) -> Scene:
    service_id, org_id = await service_with_free_places(db, 3)
    officer = await token(db, "officer", agency="RS police")
    provider = await token(db, "provider", org=org_id)
    return Scene(
        client=client, db=db, service_id=service_id, provider=provider, officer=officer,
        referral_id=await matched_referral(client, officer),
    )  # fmt: skip


async def _hold(s: Scene) -> None:
    s.offer_id = (await hold(s.client, s.officer, s.referral_id, s.service_id))["id"]


async def _accept(s: Scene) -> None:
    await post_ok(s.client, f"/api/v1/offers/{s.offer_id}/accept", s.provider)


async def _transition(s: Scene, to: str) -> None:
    body = {"to": to, "reason": "duplicate"} if to == "cancelled" else {"to": to}
    await post_ok(s.client, f"/api/v1/referrals/{s.referral_id}/transitions", s.officer, body)


async def _decline(s: Scene, reason: str) -> None:
    body = {"reason": reason}
    await post_ok(s.client, f"/api/v1/offers/{s.offer_id}/decline", s.provider, body)


async def _sweep(s: Scene) -> None:
    assert (await sweep_now(s.db)).expired_offers == 1


async def _time_out(s: Scene) -> None:
    await time_out_offer(s.db, s.offer_id)


async def _lapse(s: Scene) -> None:
    await lapse_confirmation(s.db, s.offer_id)


async def _report(s: Scene) -> None:
    etag, _ = await capacity(s.client, s.provider, s.service_id)
    answer = await report(s.client, s.provider, s.service_id, etag, available=2)
    assert answer.status_code == 200, answer.text


Step = Callable[[Scene], Awaitable[None]]

# path: (what happens before the ETag is read, what happens after it, is it a report?)
PATHS: dict[str, tuple[list[Step], Step, bool]] = {
    "report": ([], _report, True),
    "hold": ([], _hold, False),
    "accept": ([_hold], _accept, False),
    "confirm": ([_hold, _accept], lambda s: _transition(s, "confirmed"), False),
    "release by cancelling": ([_hold], lambda s: _transition(s, "cancelled"), False),
    "decline": ([_hold], lambda s: _decline(s, "not_eligible"), False),
    "decline for no_capacity": ([_hold], lambda s: _decline(s, "no_capacity"), False),
    "expiry by the sweeper": ([_hold, _time_out], _sweep, False),
    "expiry after acceptance": ([_hold, _accept, _lapse], _sweep, False),
}


@pytest.mark.parametrize("path", list(PATHS))
async def test_every_path_changes_the_etag_and_only_a_report_changes_updated_at(
    client: Client, demo_db: str, path: str
) -> None:
    before, act, is_report = PATHS[path]
    scene = await _scene(client, demo_db)
    for step in before:
        await step(scene)
    etag, read = await capacity(client, scene.provider, scene.service_id)

    await act(scene)

    stale = await report(client, scene.provider, scene.service_id, etag, available=3)
    assert stale.status_code == 412, (path, stale.text)
    etag_now, now = await capacity(client, scene.provider, scene.service_id)
    assert etag_now != etag
    assert now["version"] > read["version"]
    updated_before = dt.datetime.fromisoformat(read["updated_at"])
    updated_now = dt.datetime.fromisoformat(now["updated_at"])
    if is_report:
        assert updated_now > updated_before
    elif path == "decline for no_capacity":
        # The one deliberate exception: the number is made stale (unknown, never free) until
        # the provider reports again, and a report is asked for (docs/referrals.md).
        assert updated_now < updated_before
        assert now["freshness"] == "stale"
    else:
        assert updated_now == updated_before, path


async def test_a_put_with_the_etag_read_before_a_confirmation_cannot_free_the_occupied_bed(
    client: Client, demo_db: str
) -> None:
    """The regression: confirming lowered `available` but kept the ETag, so the provider's
    PUT with the ETag read before it answered 200 and the occupied bed became free again."""
    scene = await _scene(client, demo_db)
    await _hold(scene)
    await _accept(scene)
    etag, before = await capacity(client, scene.provider, scene.service_id)
    assert (before["available"], before["held"]) == (3, 1)

    await _transition(scene, "confirmed")

    # The provider's page still shows 3 available; it saves "3" with the old ETag.
    stale = await report(client, scene.provider, scene.service_id, etag, available=3, maximum=3)
    assert stale.status_code == 412
    _, after = await capacity(client, scene.provider, scene.service_id)
    assert (after["available"], after["held"], after["free"]) == (2, 0, 2)  # the bed is occupied


async def test_the_database_bumps_the_version_for_any_writer(demo_db: str) -> None:
    """Enforced in the database: a statement that bypasses the use cases changes the version
    when it changes the number, and keeps it when it changes nothing."""
    sid, _ = await service_with_free_places(demo_db, 3)
    conn = await asyncpg.connect(demo_db)
    try:
        row = await conn.fetchrow(
            "SELECT version, updated_at FROM service_capacity WHERE service_id = $1", sid
        )
        version = row["version"]

        async def version_after(statement: str) -> int:
            await conn.execute(statement, sid)
            value: int = await conn.fetchval(
                "SELECT version FROM service_capacity WHERE service_id = $1", sid
            )
            return value

        same = "UPDATE service_capacity SET available = available WHERE service_id = $1"
        assert await version_after(same) == version  # nothing changed
        for n, change in enumerate(
            (
                "available = available - 1",
                "maximum = maximum + 1",
                "update_requested_at = now()",
                "unit = 'place'",
                "held = 0, available = available + 1",
                "version = 1",  # the version only ever goes up
            ),
            start=1,
        ):
            statement = "UPDATE service_capacity SET " + change + " WHERE service_id = $1"
            assert await version_after(statement) == version + n, change
        updated_at = await conn.fetchval(
            "SELECT updated_at FROM service_capacity WHERE service_id = $1", sid
        )
        assert updated_at == row["updated_at"]
    finally:
        await conn.close()
