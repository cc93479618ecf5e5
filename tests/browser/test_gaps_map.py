"""/gaps on a phone and on a desktop: the map of the six participants, its towns, the charts.

Screenshots are saved under the test's tmp dir (``gaps-360.png``, ``gaps-1280.png``...) to be
looked at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser
SIX = {"AL", "BA", "XK", "ME", "MK", "RS"}


async def _no_overflow(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


@pytest.mark.parametrize("width", [360, 1280])
async def test_a_funder_looks_at_the_map_and_the_charts(
    page: Page, web_db: str, width: int, tmp_path: Path
) -> None:
    await page.set_viewport_size({"width": width, "height": 900})
    await sign_in(page, web_db, "funder", jurisdiction="MARRI")
    await page.goto("/gaps")
    await expect(page.locator("#page[data-drawn]")).to_be_attached(timeout=30_000)

    # The six participants' outlines, and the neighbours in grey for context.
    outlines = page.locator("#map path.country.participant")
    await expect(outlines).to_have_count(6)
    codes = {await p.get_attribute("data-participant") for p in await outlines.all()}
    assert codes == SIX
    assert await page.locator("#map path.country.neighbour").count() >= 5
    await expect(page.locator("#map .country-label").filter(has_text="Kosovo*")).to_have_count(1)
    await expect(page.locator(".footnote")).to_contain_text(
        "without prejudice to positions on status, and is in line with UNSCR 1244/1999"
    )
    # The map scales to the width of the page.
    box = await page.locator("#map svg").bounding_box()
    assert box is not None
    assert 250 < box["width"] <= width

    # Towns: circles coloured by severity (at least 3, the page's default), with a legend.
    towns = page.locator("#map circle.town")
    assert await towns.count() > 3
    classes = {await t.get_attribute("class") for t in await towns.all()}
    assert all(re.fullmatch(r"town sev-[345]", c or "") for c in classes), classes
    await expect(page.locator(".legend li")).to_have_count(5)
    radii = {float(await t.get_attribute("r") or 0) for t in await towns.all()}
    assert len(radii) > 1  # sized by unmet demand

    # Click (tap) the largest town: its cells, by name and with words.
    biggest = towns.first
    label = await biggest.get_attribute("aria-label") or ""
    town = label.split(":")[0]
    await biggest.click()
    await expect(page.locator("#town")).to_be_visible()
    await expect(page.locator("#town-name")).to_contain_text(town)
    await expect(page.locator("#town-summary")).to_contain_text("Most severe:")
    cards = page.locator("#town-cells .gap")
    assert 1 <= await cards.count() <= 4  # the most severe first; the rest on demand
    more = page.locator("#town-all")
    if await more.is_visible():
        await more.click()
        assert await cards.count() > 4
    await expect(cards.first).to_contain_text(town)
    await expect(cards.first.locator(".badge.severity")).to_contain_text("Severity")
    # Who pays, per cell: the public share of the money beside the donor share.
    await expect(page.locator("#cells .gap dd", has_text="donor money").first).to_be_attached()
    await page.locator("#map-panel").screenshot(path=str(tmp_path / f"map-{width}.png"))
    await page.locator("#map").screenshot(path=str(tmp_path / f"map-only-{width}.png"))

    # The charts: funding cliffs by month and donor concentration, with numbers in words.
    cliffs = page.locator("#chart-cliffs .bar-row")
    donors = page.locator("#chart-donors .bar-row")
    assert await cliffs.count() >= 1
    await expect(cliffs.first).to_contain_text(re.compile(r"^\d{4}-\d{2}: [\d,]+ places?$"))
    assert await donors.count() >= 2
    await expect(donors.first).to_contain_text("%")
    assert await page.locator("#chart-donors rect.bar").count() == await donors.count()

    # What-if: remove the first funder; before and after as bars.
    await page.get_by_role("button", name="Test removing this funder").click()
    await expect(page.locator("#chart-whatif .bar-row")).to_have_count(6, timeout=30_000)
    await expect(page.locator("#whatif-status")).to_contain_text("Unmet needs change by")
    # Allocation of the default budget: the purchases as bars.
    async with page.expect_response(lambda r: r.url.endswith("/gaps/allocate")) as answered:
        await page.get_by_role("button", name="Propose an allocation").click()
    result = await (await answered.value).json()
    await expect(page.locator("#allocate-status")).to_contain_text("Spends", timeout=60_000)
    await expect(page.locator("#chart-allocation")).to_be_attached()
    # Services that need a licence first are listed apart, never among the purchases.
    licence_first = page.locator("#license-first li")
    await expect(licence_first).to_have_count(min(5, len(result["license_first"])))
    if result["license_first"]:
        await expect(licence_first.first).to_contain_text(
            result["license_first"][0]["service_name"]
        )
    bought = {p["service_id"] for p in result["purchases"]}
    assert not bought & {s["service_id"] for s in result["license_first"]}
    await _no_overflow(page)
    await page.locator("#charts-panel").screenshot(path=str(tmp_path / f"charts-{width}.png"))


async def test_a_funder_asks_who_is_left_out(page: Page, web_db: str) -> None:
    # The "Who is left out" filter asks one population group's cells (?group=...).
    await sign_in(page, web_db, "funder", jurisdiction="MARRI")
    await page.goto("/gaps")
    await expect(page.locator("#page[data-drawn]")).to_be_attached(timeout=30_000)
    async with page.expect_request(lambda r: "group=unaccompanied_children" in r.url) as asked:
        await page.get_by_label("Who is left out").select_option("unaccompanied_children")
    response = await (await asked.value).response()
    assert response is not None
    assert response.status == 200
    await expect(page.locator("#status")).not_to_contain_text("Could not")
