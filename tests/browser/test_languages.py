"""The main journeys in Albanian and Macedonian on a phone, and the remembered language switch.

An officer finds a service and makes a referral, a provider updates capacity and answers an
offer, each at 360 px in the language the switch's cookie chose: the page's <html lang>, its
labels, buttons and messages are in that language (the tests find the controls by their
translated names). Screenshots go to the test's tmp dir.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.api.referral_factories import idem
from tests.browser.conftest import make_token
from tests.browser.test_pages import (
    SHELTER,
    SHELTER_ORG,
    _offer_to_the_shelter,
    _open_the_women_shelter,
)

pytestmark = pytest.mark.browser

#: What each page says in the language (the web catalogue's translations).
WORDS = {
    "sq": {
        "token": "Tokeni i qasjes",
        "sign in": "Hyr",
        "signed in": "Keni hyrë",
        "find": "Gjej shërbime",
        "where": "Ku",
        "service": "Shërbimi",
        "search": "Kërko",
        "found": "më të afërtit të parët",
        "refer": "Bëj një referim",
        "urgency": "Urgjenca",
        "age band": "Grupmosha",
        "gender": "Gjinia për vendosje",
        "language": "Gjuha që flet",
        "now in": "Ku ndodhet personi tani",
        "consent": "Personi jep pëlqimin për këtë referim",
        "submit": "Dërgo dhe gjej shërbime",
        "suggestions": "Sugjerime për",
        "hold": "Mbaj një vend",
        "held": "U mbajt: 1 vend",
        "capacity": "Kapaciteti im",
        "available": "Shtretër të lirë",
        "one more": "Një shtrat më shumë",
        "save": "Ruaj",
        "saved": "U ruajt",
        "offers": "Oferta",
        "waiting": "Pret përgjigjen tuaj",
        "accept": "Prano",
        "accepted": "Pranuar",
    },
    "mk": {
        "token": "Токен за пристап",
        "sign in": "Најава",
        "signed in": "Најавени сте",
        "find": "Најди услуги",
        "where": "Каде",
        "service": "Услуга",
        "search": "Пребарај",
        "found": "најблиските први",
        "refer": "Направи упатување",
        "urgency": "Итност",
        "age band": "Возрасна група",
        "gender": "Пол за сместување",
        "language": "Јазик што го зборува",
        "now in": "Каде е лицето сега",
        "consent": "Лицето дава согласност за ова упатување",
        "submit": "Поднеси и најди услуги",
        "suggestions": "Предлози за",
        "hold": "Задржи место",
        "held": "Задржано: 1 место",
        "capacity": "Мој капацитет",
        "available": "Слободни кревети",
        "one more": "Еден кревет повеќе",
        "save": "Зачувај",
        "saved": "Зачувано",
        "offers": "Понуди",
        "waiting": "Го чека вашиот одговор",
        "accept": "Прифати",
        "accepted": "Прифатено",
    },
}


async def _sign_in_in(
    page: Page,
    context: BrowserContext,
    base_url: str,
    db_url: str,
    lang: str,
    role: str,
    **token: object,
) -> tuple[dict[str, str], dict[str, str]]:
    """Choose ``lang`` as the switch does (its cookie) and sign in with the page's words;
    returns the words and the token's headers."""
    await context.add_cookies([{"name": "csomatch.lang", "value": lang, "url": base_url}])
    await page.set_viewport_size({"width": 360, "height": 740})
    words = WORDS[lang]
    headers = await make_token(db_url, role, **token)  # type: ignore[arg-type]
    await page.goto("/")
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await page.get_by_label(words["token"]).fill(headers["Authorization"].split()[1])
    await page.get_by_role("button", name=words["sign in"], exact=True).click()
    await expect(page.get_by_role("heading", name=words["signed in"])).to_be_visible()
    return words, headers


async def _no_sideways_scroll(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0


@pytest.mark.parametrize("lang", ["sq", "mk"])
async def test_an_officer_finds_a_service_and_refers_in_their_language(
    page: Page, context: BrowserContext, base_url: str, web_db: str, lang: str, tmp_path: Path
) -> None:
    await _open_the_women_shelter(web_db)
    words, officer = await _sign_in_in(page, context, base_url, web_db, lang, "officer")

    await page.get_by_role("link", name=words["find"]).click()
    await expect(page.locator("#search[data-ready]")).to_be_attached()
    await expect(page).to_have_title(f"{words['find']} · csomatch")
    await page.get_by_label(words["where"], exact=True).fill("Belgrade (RS)")
    await page.get_by_label(words["service"], exact=True).select_option("ACC.EMERG")
    await page.get_by_role("button", name=words["search"], exact=True).click()
    await expect(page.locator("#status")).to_contain_text(words["found"])
    # A distance is written as the language writes numbers: "3,2 km", "3,2 км".
    await expect(page.locator(".hit .distance").first).to_have_text(re.compile(r"^\d+,\d (km|км)$"))
    await _no_sideways_scroll(page)
    await page.screenshot(path=tmp_path / f"{lang}-find-360.png", full_page=True)

    await page.get_by_role("link", name=words["refer"]).click()
    await expect(page.locator("#referral[data-ready]")).to_be_attached()
    await page.get_by_label(words["service"], exact=True).select_option("ACC.EMERG")
    await page.get_by_label(words["urgency"]).select_option("emergency")
    await page.get_by_label(words["age band"]).select_option("25-59")
    await page.get_by_label(words["gender"]).select_option("female")
    await page.get_by_label(words["language"]).select_option("sr")
    await page.get_by_label(words["now in"]).fill("Belgrade (RS)")
    await page.get_by_label(words["consent"]).check()
    await page.get_by_role("button", name=words["submit"]).click()
    await expect(page.locator("#status")).to_contain_text(words["suggestions"], timeout=30_000)
    first = page.locator('.need-result[data-code="ACC.EMERG"] .hit').first
    await first.get_by_role("button", name=words["hold"]).click()
    await expect(first.locator(".note")).to_contain_text(words["held"])
    await expect(page.locator(".referral-state")).to_have_attribute("data-state", "offered")
    await _no_sideways_scroll(page)
    await page.screenshot(path=tmp_path / f"{lang}-refer-360.png", full_page=True)

    # The browser suite shares one database: the held place goes back for the next tests.
    href = await page.locator("#follow-link").get_attribute("href")
    assert href is not None
    cancelled = httpx.post(
        f"{base_url}/api/v1/referrals/{href.removeprefix('/refer?referral=')}/transitions",
        json={"to": "cancelled", "reason": "duplicate"},
        headers={**officer, **idem()},
    )
    assert cancelled.status_code == 200, cancelled.text


@pytest.mark.parametrize("lang", ["sq", "mk"])
async def test_a_provider_updates_capacity_and_accepts_an_offer_in_their_language(
    page: Page,
    context: BrowserContext,
    base_url: str,
    web_db: str,
    live_app: str,
    lang: str,
    tmp_path: Path,
) -> None:
    words, _ = await _sign_in_in(page, context, base_url, web_db, lang, "provider", org=SHELTER_ORG)

    await page.get_by_role("link", name=words["capacity"]).click()
    card = page.locator(f'.card[data-service-id="{SHELTER}"]')
    await expect(card.get_by_label(words["available"])).to_be_visible()
    await card.get_by_role("button", name=words["one more"]).click()
    await card.get_by_role("button", name=words["save"], exact=True).click()
    await expect(card.locator(".note")).to_contain_text(words["saved"])
    await _no_sideways_scroll(page)
    await page.screenshot(path=tmp_path / f"{lang}-capacity-360.png", full_page=True)

    offer = await _offer_to_the_shelter(web_db, live_app)
    await page.get_by_role("link", name=words["offers"]).click()
    offer_card = page.locator(f'.offer[data-offer-id="{offer}"]')
    await expect(offer_card).to_contain_text(words["waiting"], timeout=20_000)
    await offer_card.get_by_role("button", name=words["accept"], exact=True).click()
    await expect(offer_card.locator(".offer-state")).to_contain_text(words["accepted"])
    await expect(page.locator("html")).to_have_attribute("lang", lang)
    await _no_sideways_scroll(page)
    await page.screenshot(path=tmp_path / f"{lang}-offers-360.png", full_page=True)


async def test_the_language_switch_is_remembered(page: Page, context: BrowserContext) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    await page.goto("/")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    switch = page.get_by_label("Language", exact=True)
    await expect(switch).to_have_value("en")
    await switch.select_option("sq")
    await expect(page.locator("html")).to_have_attribute("lang", "sq")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Hyr")
    assert await page.evaluate("localStorage.getItem('csomatch.lang')") == "sq"
    cookies = {c["name"]: c for c in await context.cookies()}
    assert cookies["csomatch.lang"]["value"] == "sq"
    assert cookies["csomatch.lang"]["sameSite"] == "Lax"

    # Another page, and the same page again after the cookie has gone: still Albanian.
    await page.goto("/find")
    await expect(page.locator("html")).to_have_attribute("lang", "sq")
    # The public feedback page starts in it too, beside its own languages.
    await page.goto("/feedback")
    await expect(page.locator("#fb-title")).to_have_text("Na tregoni për shërbimin")
    await expect(page.get_by_role("button", name="Shqip")).to_have_attribute("aria-pressed", "true")
    await context.clear_cookies()
    await page.goto("/")
    await expect(page.locator("html")).to_have_attribute("lang", "sq")
    await expect(page.get_by_label("Gjuha", exact=True)).to_have_value("sq")

    await page.get_by_label("Gjuha", exact=True).select_option("sr-Cyrl")
    await expect(page.locator("html")).to_have_attribute("lang", "sr-Cyrl")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Пријава")
