"""Plain helpers for hold and capacity tests over HTTP: a matched referral, a hold, answers,
the capacity with its ETag, SQL on the test database, and a sweep."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.referrals.sweeper import SweepReport, sweep
from csomatch.settings import Settings
from tests.api.referral_factories import idem, referral_body

Client = AsyncTestClient  # type: ignore[type-arg]

#: Characters of a formula; a message a person reads never has them.
FORMULA = set("<>=")


async def post_ok(client: Client, path: str, headers: dict[str, str], body: Any = None) -> Any:
    """POST with a fresh Idempotency-Key; the answer must be 200 or 201."""
    answer = await client.post(path, json=body, headers=headers | idem())
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def matched_referral(client: Client, officer: dict[str, str], **overrides: Any) -> str:
    """A referral created, submitted and matched by ``officer``; its id."""
    ref = await post_ok(client, "/api/v1/referrals", officer, referral_body(**overrides))
    await post_ok(
        client, f"/api/v1/referrals/{ref['id']}/transitions", officer, {"to": "submitted"}
    )
    await post_ok(client, f"/api/v1/referrals/{ref['id']}/suggestions", officer)
    return str(ref["id"])


async def hold(
    client: Client,
    officer: dict[str, str],
    referral_id: str,
    service_id: uuid.UUID,
    places: int = 1,
) -> dict[str, Any]:
    """Hold places of a service for a referral (must succeed); the offer."""
    offer: dict[str, Any] = await post_ok(
        client, f"/api/v1/referrals/{referral_id}/holds", officer,
        {"service_id": str(service_id), "places": places},
    )  # fmt: skip
    return offer


async def capacity(
    client: Client, headers: dict[str, str], service_id: uuid.UUID
) -> tuple[str, dict[str, Any]]:
    """(ETag, body) of GET .../capacity."""
    answer = await client.get(f"/api/v1/services/{service_id}/capacity", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return answer.headers["etag"], body


async def report(
    client: Client,
    headers: dict[str, str],
    service_id: uuid.UUID,
    etag: str,
    *,
    available: int,
    maximum: int = 10,
) -> Any:
    """PUT .../capacity with ``If-Match: etag``; the response."""
    return await client.put(
        f"/api/v1/services/{service_id}/capacity",
        json={"unit": "bed", "maximum": maximum, "available": available},
        headers=headers | {"If-Match": etag},
    )


async def sql(db_url: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    """Run one statement on the test database (its own connection)."""
    conn = await asyncpg.connect(db_url)
    try:
        return await conn.fetch(statement, *args)
    finally:
        await conn.close()


async def sweep_now(db_url: str, settings: Settings | None = None) -> SweepReport:
    """One sweep, as the server's background task runs it."""
    conn = await asyncpg.connect(db_url)
    try:
        return await sweep(conn, settings or Settings())
    finally:
        await conn.close()


async def time_out_offer(db_url: str, hold_id: str) -> None:
    """The clock moves on: the offer's answer deadline has passed (the database uses now())."""
    await sql(
        db_url,
        "UPDATE referral_hold SET created_at = now() - interval '2 hours',"
        " expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(hold_id),
    )


async def lapse_confirmation(db_url: str, hold_id: str) -> None:
    """The clock moves on: an accepted offer's confirmation deadline has passed."""
    await sql(
        db_url,
        "UPDATE referral_hold SET confirm_by = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(hold_id),
    )
