"""/licences on a phone and on a desktop: a coordinator adds and suspends, a provider reads."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.test_pages import SHELTER_ORG

pytestmark = pytest.mark.browser


async def _no_overflow(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


@pytest.mark.parametrize("width", [360, 1280])
async def test_coordinator_adds_and_suspends_a_licence(page: Page, web_db: str, width: int) -> None:
    await page.set_viewport_size({"width": width, "height": 900})
    await sign_in(page, web_db, "coordinator", jurisdiction="RS")
    await page.goto("/licences")
    await expect(page.locator("#page[data-ready]")).to_be_attached()
    await expect(page.get_by_role("link", name="Licences")).to_be_visible()
    rows = page.locator("#licences tbody tr")
    # Ending within 90 days or ended, the soonest first: the Novi Sad shelter's, ended 2025.
    await expect(rows.first).to_contain_text("Expired")
    await expect(rows.first.locator(".badge")).to_contain_text("days ago")

    number = f"RS-SOC-WEB-{width}"
    end = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)
    await page.get_by_label("Organisation").select_option(str(SHELTER_ORG))
    await page.get_by_label("Licensing authority").fill("Ministry of social protection")
    await page.get_by_label("Licence number").fill(number)
    await page.get_by_label("Services covered").select_option("ACC.EMERG")
    await page.get_by_label("Valid from").fill("2025-01-01")
    await page.locator("#add-to").fill(end.isoformat())
    await page.locator("#add-evidence").fill("Decision 7/2025")
    await page.get_by_role("button", name="Add the licence").click()
    await expect(page.locator("#add-note")).to_have_text("Added.")
    added = rows.filter(has_text=number)
    await expect(added.locator(".badge")).to_have_text("Expiring in 30 days")

    await added.get_by_role("button", name="Suspend").click()
    await page.get_by_label("Reason").select_option("inspection_failed")
    await page.locator("#change-save").click()
    await expect(added.locator(".badge")).to_have_text("Suspended (inspection failed)")
    await expect(added.get_by_role("button", name="Reinstate")).to_be_visible()
    await _no_overflow(page)


@pytest.mark.parametrize("width", [360, 1280])
async def test_provider_reads_its_own_licences(page: Page, web_db: str, width: int) -> None:
    await page.set_viewport_size({"width": width, "height": 900})
    await sign_in(page, web_db, "provider", org=SHELTER_ORG)
    await page.goto("/licences")
    await expect(page.locator("#page[data-ready]")).to_be_attached()
    rows = page.locator("#licences tbody tr")
    await expect(rows.first).to_be_visible()
    for text in await rows.all_inner_texts():
        assert "Cedar Lantern Care House Foundation (RS)" in text
    await expect(rows.first.locator(".badge")).to_have_text(
        re.compile(r"^(Valid|Expiring in \d+ days?|Expired \d+ days? ago|Suspended.*)$")
    )
    await expect(page.locator("#licences button")).to_have_count(0)
    await expect(page.locator("#add")).to_be_hidden()
    await expect(page.locator("#filters")).to_be_hidden()
    await _no_overflow(page)
