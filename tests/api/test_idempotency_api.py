"""Idempotency-Key on every POST that creates or changes a referral or a hold."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from csomatch.db import idempotency as idem_db
from csomatch.db.tokens import find_token
from tests.api.referral_factories import referral_body, token

Client = AsyncTestClient  # type: ignore[type-arg]


async def _count(db_url: str) -> int:
    conn = await asyncpg.connect(db_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM referral"))
    finally:
        await conn.close()


async def test_a_post_without_a_key_answers_400(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    answer = await client.post("/api/v1/referrals", json=referral_body(), headers=officer)
    assert answer.status_code == 400
    assert answer.json()["field"] == "header.Idempotency-Key"
    assert await _count(demo_db) == 0


async def test_a_retry_returns_the_first_answer_with_no_second_effect(
    client: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    headers = officer | {"Idempotency-Key": "k-1"}
    body = referral_body()
    first = await client.post("/api/v1/referrals", json=body, headers=headers)
    second = await client.post("/api/v1/referrals", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await _count(demo_db) == 1
    other_body = await client.post(
        "/api/v1/referrals", json=body | {"urgency": "planned"}, headers=headers
    )
    assert other_body.status_code == 422
    assert other_body.json()["field"] == "header.Idempotency-Key"
    assert await _count(demo_db) == 1


async def test_a_refusal_is_replayed_too(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    headers = officer | {"Idempotency-Key": "k-2"}
    body = referral_body(nationality="AL")
    first = await client.post("/api/v1/referrals", json=body, headers=headers)
    second = await client.post("/api/v1/referrals", json=body, headers=headers)
    assert first.status_code == second.status_code == 422
    assert first.json() == second.json()


async def test_keys_are_scoped_to_the_token(client: Client, demo_db: str) -> None:
    one = await token(demo_db, "officer", agency="RS police")
    two = await token(demo_db, "officer", agency="RS police")
    for headers in (one, two):
        answer = await client.post(
            "/api/v1/referrals", json=referral_body(), headers=headers | {"Idempotency-Key": "same"}
        )
        assert answer.status_code == 201
    assert await _count(demo_db) == 2


async def test_a_request_still_in_flight_answers_409(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    conn = await asyncpg.connect(demo_db)
    try:
        record = await find_token(conn, officer["Authorization"].removeprefix("Bearer "))
        assert record is not None
        # The first request's transaction holds the key's lock while it runs.
        async with conn.transaction():
            assert await idem_db.try_lock(conn, record.id, "busy")
            answer = await client.post(
                "/api/v1/referrals",
                json=referral_body(),
                headers=officer | {"Idempotency-Key": "busy"},
            )
        assert answer.status_code == 409
        assert answer.json()["field"] == "header.Idempotency-Key"
        later = await client.post(
            "/api/v1/referrals", json=referral_body(), headers=officer | {"Idempotency-Key": "busy"}
        )
        assert later.status_code == 201
    finally:
        await conn.close()


async def test_keys_are_kept_a_day_then_purged(demo_db: str) -> None:
    conn = await asyncpg.connect(demo_db)
    try:
        token_id = await conn.fetchval(
            "INSERT INTO api_token (id, token_hash, role, jurisdiction) VALUES"
            " ($1, $2, 'officer', 'RS') RETURNING id",
            uuid.uuid4(),
            b"\x01" * 32,
        )
        answer = idem_db.StoredAnswer(fingerprint=b"\x00" * 32, status=201, body=b"{}")
        await idem_db.store_answer(conn, token_id, "old", answer)
        await idem_db.store_answer(conn, token_id, "new", answer)
        await conn.execute(
            "UPDATE idempotency_key SET created_at = now() - interval '25 hours'"
            " WHERE idem_key = 'old'"
        )
        now = dt.datetime.now(dt.UTC)
        assert await idem_db.purge_answers(conn, older_than=now - dt.timedelta(hours=24)) == 1
        assert await idem_db.find_answer(conn, token_id, "old") is None
        assert await idem_db.find_answer(conn, token_id, "new") is not None
    finally:
        await conn.close()
