"""The search keeps to the caller's participant unless asked otherwise, and labels hits abroad."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
SEARCH = "/api/v1/services/search"
SARAJEVO = "BA-3191281"
WIDE = {"area": SARAJEVO, "radius_km": 2000, "limit": 100}


def participants(body: dict[str, object]) -> set[str]:
    hits = body["hits"]
    assert isinstance(hits, list)
    return {h["service"]["location"]["participant"] for h in hits}


async def test_an_officer_searches_their_own_participant_by_default(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer", "RS")
    # From Sarajevo, a Serbian officer still finds Serbian services only.
    answer = await client.get(SEARCH, params=WIDE, headers=officer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert participants(body) == {"RS"}
    assert not any(h["abroad"] for h in body["hits"])


async def test_any_searches_every_participant_and_labels_hits_abroad(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer", "RS")
    answer = await client.get(SEARCH, params=WIDE | {"participant": "any"}, headers=officer)
    assert answer.status_code == 200, answer.text
    hits = answer.json()["hits"]
    assert len(participants(answer.json())) > 1
    for h in hits:
        assert h["abroad"] == (h["service"]["location"]["participant"] != "RS")
    named = await client.get(SEARCH, params=WIDE | {"participant": "BA"}, headers=officer)
    assert participants(named.json()) == {"BA"}
    assert all(h["abroad"] for h in named.json()["hits"])


async def test_a_region_wide_caller_has_no_default_and_abroad_is_from_the_area(
    client: Client, demo_db: str
) -> None:
    regional = await make_token(demo_db, "coordinator", "MARRI")
    answer = await client.get(SEARCH, params=WIDE, headers=regional)
    assert answer.status_code == 200, answer.text
    hits = answer.json()["hits"]
    assert len(participants(answer.json())) > 1
    for h in hits:
        assert h["abroad"] == (h["service"]["location"]["participant"] != "BA")
    point = {"lat": 43.86, "lon": 18.41, "radius_km": 2000, "limit": 100}
    from_point = await client.get(SEARCH, params=point, headers=regional)
    assert not any(h["abroad"] for h in from_point.json()["hits"])


async def test_an_unknown_participant_names_the_parameter(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer", "RS")
    answer = await client.get(SEARCH, params=WIDE | {"participant": "FR"}, headers=officer)
    assert answer.status_code == 400
    assert answer.json()["field"] == "query.participant"
