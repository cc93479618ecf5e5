"""Answers in the user's language: problem details, taxonomy names, rule sentences, gap sentences.

The request's locale is the cookie ``csomatch.lang`` (the pages' switch), else
``Accept-Language``; every answer says it in ``Content-Language``. ``type`` and ``field`` stay
as machines read them.
"""

from __future__ import annotations

import re
import uuid

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from csomatch.gaps.sentences import TEMPLATES
from csomatch.i18n import _, using_locale
from csomatch.matching.unmet import unmet_explanation
from tests.api.conftest import make_token
from tests.api.hold_factories import matched_referral
from tests.api.referral_factories import idem, referral_body, service_with_free_places, token

Client = AsyncTestClient  # type: ignore[type-arg]


async def _missing_referral(
    client: Client, headers: dict[str, str], **extra: str
) -> tuple[dict[str, object], str]:
    answer = await client.get(f"/api/v1/referrals/{uuid.uuid4()}", headers=headers | extra)
    assert answer.status_code == 404, answer.text
    return answer.json(), answer.headers["content-language"]


@pytest.mark.parametrize(
    ("accept", "served", "title", "detail"),
    [
        ("sq", "sq", "Nuk u gjet", "nuk ka referim"),
        ("mk-MK, en;q=0.5", "mk", "Не е пронајдено", "нема упатување"),
        ("cnr", "sr-Latn", "Nije pronađeno", "nema upućivanja"),
        ("hr-HR", "bs", "Nije pronađeno", "nema upućivanja"),
        ("sr-Cyrl-RS", "sr-Cyrl", "Није пронађено", "нема упућивања"),
        ("de, fr;q=0.8", "en", "Not found", "no referral"),
    ],
)
async def test_problem_details_are_in_the_requested_language(
    client: Client, demo_db: str, accept: str, served: str, title: str, detail: str
) -> None:
    """Title and detail follow Accept-Language (cnr and hr through their fallbacks)."""
    officer = await make_token(demo_db, "officer")
    problem, language = await _missing_referral(client, officer, **{"Accept-Language": accept})
    assert language == served
    assert problem["title"] == title
    assert str(problem["detail"]).startswith(detail)
    assert problem["type"] == "about:blank"


async def test_the_language_switch_cookie_wins_over_the_browser_header(
    client: Client, demo_db: str
) -> None:
    """The pages' cookie is the person's choice; the browser's header is only a default."""
    officer = await make_token(demo_db, "officer")
    client.cookies.set("csomatch.lang", "sr-Cyrl")
    try:
        problem, language = await _missing_referral(client, officer, **{"Accept-Language": "sq"})
    finally:
        client.cookies.clear()
    assert (language, problem["title"]) == ("sr-Cyrl", "Није пронађено")


async def test_a_field_problem_keeps_its_field_and_says_what_in_albanian(
    client: Client, demo_db: str
) -> None:
    """The detail is translated; the field path (read by machines) is not."""
    officer = await make_token(demo_db, "officer")
    answer = await client.get(
        "/api/v1/services/search?lat=44.8&code=ACC.EMERG",
        headers=officer | {"Accept-Language": "sq"},
    )
    assert answer.status_code in (400, 422), answer.text
    problem = answer.json()
    assert problem["field"] == "query.lon"
    assert problem["detail"] == "jepni edhe lat edhe lon, ose asnjërin"
    assert answer.headers["content-language"] == "sq"


async def test_an_unauthenticated_call_is_refused_in_macedonian(client: Client) -> None:
    """Litestar's own 401 goes through the same problem details."""
    answer = await client.get("/api/v1/taxonomy", headers={"Accept-Language": "mk"})
    assert answer.status_code == 401
    problem = answer.json()
    assert problem["title"] == "Неовластено"
    assert "csomatch token create" in problem["detail"]
    assert answer.headers["content-language"] == "mk"


async def test_taxonomy_names_are_translated(client: Client, demo_db: str) -> None:
    """The taxonomy's names come from the catalogue of the request's language."""
    officer = await make_token(demo_db, "officer")
    by_locale = {}
    for locale in ("en", "sq", "mk", "sr-Cyrl"):
        answer = await client.get("/api/v1/taxonomy", headers=officer | {"Accept-Language": locale})
        assert answer.status_code == 200
        assert answer.headers["content-language"] == locale
        assert "Accept-Language" in answer.headers["vary"]
        by_locale[locale] = {t["code"]: t for t in answer.json()}
    assert by_locale["en"]["ACC.EMERG"]["name"] == "Emergency safe accommodation"
    assert by_locale["sq"]["ACC.EMERG"]["name"] == "Strehim i sigurt emergjent"
    assert by_locale["mk"]["ACC.EMERG"]["group_name"] == "Безбедно сместување"
    assert by_locale["sr-Cyrl"]["ACC.EMERG"]["name"] == "Хитан безбедан смештај"


async def test_a_broken_rule_is_explained_in_macedonian(client: Client, demo_db: str) -> None:
    """A hold on a service that breaks a hard rule: 422 with the rule's sentence in mk."""
    service_id, _places = await service_with_free_places(demo_db, 5)
    conn = await asyncpg.connect(demo_db)
    try:
        await conn.execute(
            "UPDATE service SET accepting_referrals = false WHERE id = $1", service_id
        )
    finally:
        await conn.close()
    officer = await token(demo_db, "officer", agency="RS police")
    referral_id = await matched_referral(client, officer)
    answer = await client.post(
        f"/api/v1/referrals/{referral_id}/holds",
        json={"service_id": str(service_id)},
        headers=officer | idem() | {"Accept-Language": "mk"},
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert (problem["reason"], problem["field"]) == ("not_accepting", "$.service_id")
    assert problem["title"] == "Неважечки податоци"
    assert "моментално не прима упатувања" in problem["detail"]


async def test_excluded_services_and_unmet_needs_are_explained_in_albanian(
    client: Client, demo_db: str
) -> None:
    """The matcher's answer keeps its reason codes and adds their sentences in the locale."""
    officer = await make_token(demo_db, "officer")
    profile = {
        key: value
        for key, value in referral_body(needs=[{"code": "ACC.CHILD", "priority": "must"}]).items()
        if key != "consent"
    }
    answer = await client.post(
        "/api/v1/match/suggestions?explain=excluded",
        json=profile,
        headers=officer | {"Accept-Language": "sq"},
    )
    assert answer.status_code == 200, answer.text
    need = answer.json()["needs"][0]
    assert need["unmet_reason"] is not None
    with using_locale("sq"):
        assert need["unmet_explanation"] == unmet_explanation(need["unmet_reason"])
    with using_locale("en"):
        assert need["unmet_explanation"] != unmet_explanation(need["unmet_reason"])
    for excluded in need["excluded_services"]:
        assert excluded["reason"]  # the code, as before
        assert excluded["explanation"]
        assert re.search(r"[ëç]|nuk|është", excluded["explanation"]), excluded["explanation"]


def _static_parts(template: str) -> list[str]:
    return [part.strip() for part in re.split(r"\{\w+\}", template) if len(part.strip()) > 3]


async def test_gap_sentences_and_flags_are_in_albanian(client: Client, demo_db: str) -> None:
    """Each cell's sentence is its template's translation with the values filled in."""
    funder = await make_token(demo_db, "funder", "RS")
    answer = await client.get(
        "/api/v1/gaps?granularity=quarter&periods=2",
        headers=funder | {"Accept-Language": "sq"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-language"] == "sq"
    cells = answer.json()["cells"]
    assert cells
    with using_locale("sq"):
        for cell in cells:
            translated = _(TEMPLATES[cell["sentence_template"]])
            assert translated != TEMPLATES[cell["sentence_template"]]
            for part in _static_parts(translated):
                assert part in cell["sentence"], (part, cell["sentence"])
    flagged = [f["why"] for c in cells for f in c["flags"]]
    assert flagged
    english = [why for why in flagged if re.search(r"\b(places|needs|threshold|unmet)\b", why)]
    assert english == []
