"""Organisations' names in other languages and scripts: stored, searched, and matched.

Over the demo registry, whose Centres for Social Work have Serbian, Macedonian, Albanian or
Bosnian names beside the English one (seed_data/organization_names.json).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]

CSW_NIS = "841bee6c-b59f-5366-bdf1-4956dd4920f6"
CSW_KRAGUJEVAC = "d92df369-cc0f-5d81-bb5a-aa374e278904"
YEAR = "100,EUR,2025-01-01,2025-12-31"


async def names_found(client: Client, headers: dict[str, str], q: str) -> list[str]:
    response = await client.get("/api/v1/organizations", params={"q": q}, headers=headers)
    assert response.status_code == 200, q
    return [o["name"] for o in response.json()["organizations"]]


async def test_the_search_finds_an_organisation_by_any_of_its_names(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    nis = ["Centre for Social Work Niš"]
    assert await names_found(client, officer, "Центар за социјални рад Ниш") == nis
    assert await names_found(client, officer, "центар ниш") == nis
    assert await names_found(client, officer, "CENTAR NIS") == nis
    assert await names_found(client, officer, "social work nis") == nis
    assert await names_found(client, officer, "Qendra Shkup") == ["Centre for Social Work Skopje"]
    assert await names_found(client, officer, "Центар Скопје") == ["Centre for Social Work Skopje"]
    assert await names_found(client, officer, "work prishtine") == [
        "Centre for Social Work Prishtinë"
    ]
    assert await names_found(client, officer, "Zebra Mountain") == []
    one = await client.get(f"/api/v1/organizations/{CSW_NIS}", headers=officer)
    assert {"language": "sr-Cyrl", "name": "Центар за социјални рад Ниш"} in one.json()[
        "other_names"
    ]


async def test_a_coordinator_sets_the_names_in_other_languages(
    client: Client, demo_db: str
) -> None:
    coordinator = await make_token(demo_db, "coordinator", "RS")
    url = f"/api/v1/organizations/{CSW_KRAGUJEVAC}"
    before = await client.get(url, headers=coordinator)
    names = [
        {"language": "sr-Cyrl", "name": "Градски центар за социјални рад Крагујевац"},
        {"language": "sq", "name": "Qendra për Punë Sociale Kragujevc"},
    ]
    changed = await client.patch(
        url, json={"other_names": names}, headers=coordinator | {"If-Match": before.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["other_names"] == sorted(names, key=lambda n: n["language"])
    assert changed.headers["etag"] != before.headers["etag"]
    assert await names_found(client, coordinator, "градски центар") == [
        "Centre for Social Work Kragujevac"
    ]
    twice = await client.patch(
        url,
        json={"other_names": [names[0], {"language": "sr-Cyrl", "name": "Друго име"}]},
        headers=coordinator,
    )
    assert twice.status_code == 422
    assert "$.other_names[1].language" in twice.text
    bad_tag = await client.patch(
        url, json={"other_names": [{"language": "Serbian", "name": "Centar"}]},
        headers=coordinator,
    )  # fmt: skip
    assert bad_tag.status_code == 400
    assert "other_names" in bad_tag.text
    cleared = await client.patch(url, json={"other_names": []}, headers=coordinator)
    assert cleared.json()["other_names"] == []


async def test_a_new_organisation_with_a_name_in_albanian(client: Client, demo_db: str) -> None:
    coordinator = await make_token(demo_db, "coordinator", "XK")
    created = await client.post(
        "/api/v1/organizations",
        json={
            "participant": "XK",
            "name": "Aurora Shelter Gjilan",
            "kind": "cso",
            "other_names": [{"language": "sq", "name": "Streha Agimi Gjilan"}],
        },
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    assert created.json()["other_names"] == [{"language": "sq", "name": "Streha Agimi Gjilan"}]
    assert await names_found(client, coordinator, "streha agimi") == ["Aurora Shelter Gjilan"]


@pytest.mark.slow
async def test_the_funding_import_matches_a_cyrillic_recipient_in_its_own_town(
    demo_db: str, tmp_path: Path
) -> None:
    grants = tmp_path / "grants.csv"
    grants.write_text(
        "funder,recipient,amount,currency,start,end,external id\n"
        f"Marigold Foundation,Центар за социјални рад Ниш,{YEAR},NIS-1\n"
        f"Marigold Foundation,Centar za socijalni rad - Novi Sad,{YEAR},NS-1\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "CSOMATCH_DATABASE_URL": demo_db,
        "CSOMATCH_HOME": str(tmp_path),
        "CSOMATCH_LOG_LEVEL": "warning",
    }
    imported = subprocess.run(
        [sys.executable, "-m", "csomatch", "funding", "import", str(grants)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    conn = await asyncpg.connect(demo_db)
    try:
        rows = await conn.fetch(
            "SELECT f.recipient_name, o.name FROM funding f"
            " JOIN organization o ON o.id = f.recipient_organization_id"
            " WHERE f.source = 'csv' ORDER BY f.recipient_name DESC"
        )
    finally:
        await conn.close()
    assert [(r["recipient_name"], r["name"]) for r in rows] == [
        ("Центар за социјални рад Ниш", "Centre for Social Work Niš"),
        ("Centar za socijalni rad - Novi Sad", "Centre for Social Work Novi Sad"),
    ]
