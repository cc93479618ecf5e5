"""The pages in the reader's language: the switch's cookie, then Accept-Language; /i18n/*.json."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]


def _lang_and_title(html: str) -> tuple[str, str]:
    lang = re.search(r'<html lang="([^"]+)">', html)
    title = re.search(r"<title>(.*?) · csomatch</title>", html)
    assert lang, html[:300]
    assert title, html[:300]
    return lang.group(1), title.group(1)


#: (Accept-Language, the page's language, its title and h1 on /find). One app for them all:
#: each API test copies the demo database, so the cases share one test.
ASKED = [
    ("sq", "sq", "Gjej shërbime"),
    ("mk-MK,mk;q=0.9,en;q=0.5", "mk", "Најди услуги"),
    ("sr-Cyrl-RS", "sr-Cyrl", "Пронађи услуге"),
    ("cnr", "sr-Latn", "Pronađi usluge"),
    ("hr-HR", "bs", "Pronađi usluge"),
    ("de-DE", "en", "Find services"),
]


async def test_a_page_answers_in_the_language_the_browser_asks_for(client: Client) -> None:
    for header, lang, title in ASKED:
        response = await client.get("/find", headers={"Accept-Language": header})
        assert response.status_code == 200
        assert _lang_and_title(response.text) == (lang, title), header
        assert f"<h1>{title}</h1>" in response.text
        assert "[[" not in response.text
        assert response.headers["content-language"] == lang
        assert "accept-language" in response.headers["vary"].lower()


async def test_the_switch_s_cookie_wins_over_the_browser_s_language(client: Client) -> None:
    client.cookies.set("csomatch.lang", "mk")
    response = await client.get("/capacity", headers={"Accept-Language": "sq"})
    assert _lang_and_title(response.text) == ("mk", "Мој капацитет")
    # The switch shows the page's language as chosen, every language named in itself.
    assert '<option value="mk" lang="mk" selected>Македонски</option>' in response.text
    assert '<option value="sq" lang="sq">Shqip</option>' in response.text
    client.cookies.set("csomatch.lang", "xx")  # not served: the header decides
    response = await client.get("/capacity", headers={"Accept-Language": "sq"})
    assert _lang_and_title(response.text)[0] == "sq"


async def test_a_translated_attribute_and_the_skip_link_are_in_the_page_s_language(
    client: Client,
) -> None:
    response = await client.get("/", headers={"Accept-Language": "sq"})
    assert '<a class="skip" href="#main">Kalo te përmbajtja</a>' in response.text
    assert "fillon me <code>cso_</code>" in response.text
    referral = await client.get("/refer", headers={"Accept-Language": "mk"})
    assert 'placeholder="на пр. AL"' in referral.text


async def test_each_language_s_words_are_served_as_json_revalidated_by_etag(
    client: Client,
) -> None:
    response = await client.get("/i18n/sq.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    words = response.json()
    assert words["Find services"] == "Gjej shërbime"
    assert words["{count} free beds"] == "{count} shtretër të lirë"
    assert "no-cache" in response.headers["cache-control"]
    etag = response.headers["etag"]
    again = await client.get("/i18n/sq.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert (await client.get("/i18n/mk.json")).json()["Sign in"] == "Најава"
    assert (await client.get("/i18n/en.json")).json() == {}


async def test_an_unknown_language_file_answers_404(client: Client) -> None:
    assert (await client.get("/i18n/xx.json")).status_code == 404
    assert (await client.get("/i18n/sq.js")).status_code == 404
