"""Listing referrals costs a fixed number of statements, however many referrals are listed."""

from __future__ import annotations

import asyncio
import datetime as dt

import asyncpg
import msgspec

from csomatch.db.tokens import create_token
from csomatch.domain.principal import Principal
from csomatch.referrals import casework, intake
from csomatch.referrals.model import ReferralIn
from csomatch.registry.tokens import principal_from
from tests.api.referral_factories import referral_body


async def _create(conn: asyncpg.Connection, officer: Principal, n: int) -> None:
    data = msgspec.json.decode(msgspec.json.encode(referral_body()), type=ReferralIn)
    for _ in range(n):
        await intake.create_referral(conn, officer, data, now=dt.datetime.now(dt.UTC))


async def _statements_to_list(conn: asyncpg.Connection, officer: Principal) -> tuple[int, int]:
    """(statements, referrals listed) of one page of the officer's referrals."""
    statements: list[str] = []

    def log(record: asyncpg.connection.LoggedQuery) -> None:
        statements.append(record.query)

    conn.add_query_logger(log)
    try:
        async with conn.transaction():  # as the route runs it
            page = await casework.list_page(conn, officer, state=None, limit=50, offset=0)
        await asyncio.sleep(0.05)  # loggers are called soon after each statement, not during
    finally:
        conn.remove_query_logger(log)
    return len(statements), len(page.heads)


async def test_listing_referrals_takes_as_many_statements_for_eight_as_for_two(
    demo_db: str,
) -> None:
    conn = await asyncpg.connect(demo_db)
    try:
        _, record = await create_token(
            conn, role="officer", jurisdiction="RS", organization_id=None, label="test",
            agency="police",
        )  # fmt: skip
        officer = principal_from(record)
        await _create(conn, officer, 2)
        few, listed_few = await _statements_to_list(conn, officer)
        await _create(conn, officer, 6)
        many, listed_many = await _statements_to_list(conn, officer)
        audited = await conn.fetchval(
            "SELECT count(*) FROM audit_event WHERE action = 'referral.list'"
        )
    finally:
        await conn.close()
    assert (listed_few, listed_many) == (2, 8)
    assert many == few
    # Every listed referral is still audited, once per listing.
    assert audited == 2 + 8
