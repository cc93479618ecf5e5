"""A surge on /refer at 360 px: profiles listed, the joint plan shown, then booked once."""

from __future__ import annotations

from playwright.async_api import Page, expect

from tests.browser.conftest import sign_in


async def test_a_coordinator_plans_and_books_a_surge(page: Page, web_db: str) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, web_db, "coordinator", jurisdiction="MK")
    await page.goto("/refer")
    await expect(page.locator("#surge[data-ready]")).to_be_attached()
    await page.get_by_text("Many people at once (a surge)").click()
    await page.get_by_label("Where they were identified").fill("Skopje (MK)")
    # One group: a woman who needs legal aid only (no place to stay is taken by this test).
    for remove in reversed(await page.locator(".surge-remove").all()):
        await remove.click()
    await page.get_by_role("button", name="Add a group").click()
    await page.get_by_label("How many").fill("1")
    await page.get_by_label("Accommodation").select_option("")
    await page.get_by_label("Also needs").select_option("LEGAL.AID")
    await page.get_by_role("button", name="Show the joint plan").click()
    await expect(page.locator("#surge-consent")).to_have_attribute("aria-invalid", "true")
    await page.locator("#surge-consent").check()
    await page.get_by_role("button", name="Show the joint plan").click()
    result = page.locator("#surge-result")
    await expect(result).to_contain_text("1 needs met, 0 left unmet.")
    await expect(page.locator("#surge-note")).to_contain_text("not booked yet")
    await page.get_by_role("button", name="Book the plan").click()
    await expect(page.locator("#surge-note")).to_contain_text("1 of 1 referrals booked")
    await expect(result.get_by_role("link", name="follow")).to_have_count(1)
    await expect(result).to_contain_text("1 held")
