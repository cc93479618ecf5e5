"""``csomatch token create --agency``: the agency an officer's referrals belong to."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from csomatch.cli import main


def _agencies(db_url: str) -> list[str | None]:
    async def read() -> list[str | None]:
        conn = await asyncpg.connect(db_url)
        try:
            return [r["agency"] for r in await conn.fetch("SELECT agency FROM api_token")]
        finally:
            await conn.close()

    return asyncio.run(read())


def test_a_token_speaks_for_its_agency(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CSOMATCH_DATABASE_URL", db_url)
    argv = ["token", "create", "--role", "officer", "--jurisdiction", "RS"]
    assert main([*argv, "--agency", "RS police, Nis"]) == 0
    out, _ = capsys.readouterr()
    assert out.strip().startswith("cso_")
    assert _agencies(db_url) == ["RS police, Nis"]
