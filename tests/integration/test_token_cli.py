"""``csomatch token create`` and ``token revoke`` against a real database."""

from __future__ import annotations

import asyncio
import io
import uuid

import asyncpg
import pytest

from csomatch.cli import main


def _revoked_at(db_url: str, token_id: uuid.UUID) -> object:
    async def read() -> object:
        conn = await asyncpg.connect(db_url)
        try:
            return await conn.fetchval("SELECT revoked_at FROM api_token WHERE id = $1", token_id)
        finally:
            await conn.close()

    return asyncio.run(read())


def test_create_prints_the_token_and_revoke_takes_its_id_or_the_token(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSOMATCH_DATABASE_URL", db_url)
    tokens = []
    for _ in range(2):
        assert main(["token", "create", "--role", "officer", "--jurisdiction", "RS"]) == 0
        out, err = capsys.readouterr()
        token_id = uuid.UUID(err.split("token id ")[1].split()[0])
        tokens.append((out.strip(), token_id))
        assert str(token_id) not in out  # stdout is the token alone
    (_, first_id), (second, second_id) = tokens

    assert main(["token", "revoke", str(first_id)]) == 0
    assert "at most 10 s" in capsys.readouterr().err
    assert _revoked_at(db_url, first_id) is not None
    monkeypatch.setattr("sys.stdin", io.StringIO(second + "\n"))
    assert main(["token", "revoke", "-"]) == 0
    assert _revoked_at(db_url, second_id) is not None
    assert main(["token", "revoke", str(first_id)]) == 1
    assert "no valid token" in capsys.readouterr().err


def test_create_names_the_agency_record_of_an_officer(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSOMATCH_DATABASE_URL", db_url)
    assert main(["token", "create", "--role", "officer", "--jurisdiction", "RS"]) == 0  # migrates
    capsys.readouterr()
    agency_id = uuid.uuid4()

    async def add_agency() -> None:
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute(
                "INSERT INTO agency (id, jurisdiction, name, duty_phone)"
                " VALUES ($1, 'RS', 'Centre for social work, Niš (demo)', '+381185550100')",
                agency_id,
            )
        finally:
            await conn.close()

    asyncio.run(add_agency())
    create = ["token", "create", "--role", "officer", "--agency-id", str(agency_id)]
    assert main([*create, "--jurisdiction", "RS"]) == 0
    token_id = uuid.UUID(capsys.readouterr().err.split("token id ")[1].split()[0])

    async def read() -> asyncpg.Record:
        conn = await asyncpg.connect(db_url)
        try:
            row: asyncpg.Record = await conn.fetchrow(
                "SELECT agency, agency_id FROM api_token WHERE id = $1", token_id
            )
            return row
        finally:
            await conn.close()

    row = asyncio.run(read())
    assert (row["agency"], row["agency_id"]) == ("Centre for social work, Niš (demo)", agency_id)
    assert main([*create, "--jurisdiction", "AL"]) == 1  # another jurisdiction's agency
    assert "no agency" in capsys.readouterr().err
    assert main([*create, "--jurisdiction", "RS", "--role", "funder"]) == 2
