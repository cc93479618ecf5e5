"""GET /api/v1/areas finds a town by the names people write and names it in their language."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]

BELGRADE, PRISTINA, SKOPJE, NIS = "RS-792680", "XK-786714", "MK-785842", "RS-787657"

# Every name of issue 16 and of docs/places.md' table, and the town it must find first.
WRITTEN = {
    BELGRADE: ["Beograd", "Београд", "Belgrade", "BEOGRAD", "beog"],
    PRISTINA: ["Prishtinë", "Prishtine", "Priština", "Pristina", "Приштина"],
    SKOPJE: ["Shkup", "Скопје", "Skopje", "Skoplje", "Скопље"],
    NIS: ["Ниш", "Nish", "Niš", "nis"],
    "AL-3183875": ["Tiranë", "Tirana", "Тирана"],
    "ME-3193044": ["Podgorica", "Подгорица", "Podgoricë"],
    "BA-3191281": ["Sarajevo", "Сарајево"],
    "XK-789225": ["Mitrovica", "Mitrovicë", "Митровица", "Kosovska Mitrovica"],
    "MK-785082": ["Tetovë", "Tetovo", "Тетово"],
    "XK-786712": ["Prizren", "Призрен"],
    "XK-787157": ["Pejë", "Peja", "Peć", "Пећ"],
    "XK-791646": ["Gjakovë", "Đakovica", "Djakovica", "Ђаковица"],
    "XK-784759": ["Ferizaj", "Uroševac", "Urosevac", "Урошевац"],
    "XK-790674": ["Gjilan", "Gnjilane", "Гњилане"],
    "ME-3188516": ["Ulqin", "Ulcinj", "Улцињ"],
    "MK-785387": ["Strugë", "Struga"],
    "MK-789527": ["Kërçovë", "Kercove", "Kičevo", "Kicevo", "Кичево"],
    "MK-791606": ["Dibër", "Debar"],
    "MK-790295": ["Gostivar", "Гостивар"],
    "MK-788886": ["Kumanovë", "Kumanovo", "Куманово"],
    "RS-786772": ["Preshevë", "Preševo", "Прешево"],
    "RS-792173": ["Bujanoc", "Bujanovac", "Бујановац"],
    "ME-3204509": ["Tivar", "Bar"],
}


async def test_every_common_name_finds_its_town_first(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    wrong = {}
    for code, names in WRITTEN.items():
        for name in names:
            response = await client.get(
                "/api/v1/areas", params={"q": name, "limit": 1}, headers=officer
            )
            assert response.status_code == 200, name
            found = [a["code"] for a in response.json()]
            if found != [code]:
                wrong[name] = found
    assert wrong == {}


async def test_the_answer_names_the_town_in_the_callers_language(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    expected = {
        None: ("en", "Skopje"),
        "sq": ("sq", "Shkup"),
        "mk-MK,mk;q=0.9": ("mk", "Скопје"),
        "sr-Cyrl-RS": ("sr-Cyrl", "Скопље"),
        "sr": ("sr-Latn", "Skoplje"),
        "cnr": ("sr-Latn", "Skoplje"),
        "hr": ("bs", "Skoplje"),
        "de, bs;q=0.5": ("bs", "Skoplje"),
    }
    for accept, (locale, local_name) in expected.items():
        headers = officer | ({"Accept-Language": accept} if accept else {})
        response = await client.get("/api/v1/areas", params={"q": "Skopje"}, headers=headers)
        assert response.headers["content-language"] == locale, accept
        (skopje, *_) = response.json()
        assert (skopje["code"], skopje["name"], skopje["local_name"]) == (
            SKOPJE,
            "Skopje",
            local_name,
        ), accept


async def test_the_answer_says_which_name_matched(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer")
    response = await client.get(
        "/api/v1/areas", params={"q": "Београд", "limit": 1}, headers=officer
    )
    (belgrade,) = response.json()
    assert belgrade["name"] == belgrade["local_name"] == "Belgrade"
    assert belgrade["matched_name"] == "Београд"
    by_code = await client.get(
        "/api/v1/areas",
        params={"area": [PRISTINA, NIS]},
        headers=officer | {"Accept-Language": "sq"},
    )
    assert [(a["local_name"], a["matched_name"]) for a in by_code.json()] == [
        ("Prishtinë", None),
        ("Nish", None),
    ]


async def test_codes_and_other_towns_names_find_nothing_of_theirs(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    for q, not_found in [("BEG", BELGRADE), ("Trnava", "AL-3183875"), ("Трнава", "AL-3183875")]:
        response = await client.get("/api/v1/areas", params={"q": q}, headers=officer)
        assert not_found not in [a["code"] for a in response.json()], q
    punctuation = await client.get("/api/v1/areas", params={"q": "%_"}, headers=officer)
    assert punctuation.json() == []
