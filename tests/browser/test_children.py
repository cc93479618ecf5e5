"""The pages for children: the search's two child filters, and a child's referral form."""

from __future__ import annotations

import asyncpg
from playwright.async_api import Page, expect

from tests.browser.conftest import sign_in


async def test_find_a_place_for_a_child_on_their_own(page: Page, web_db: str) -> None:
    await sign_in(page, web_db, "officer")
    await page.goto("/find")
    await expect(page.locator("#search[data-ready]")).to_be_attached()
    await page.get_by_label("Where").fill("Belgrade (RS)")
    await page.get_by_label("Service").select_option("ACC.CHILD")
    await page.get_by_label("Only with free places now").uncheck()
    await page.get_by_text("Who is it for?").click()
    await page.get_by_label("A child on their own (serves unaccompanied minors)").check()
    async with page.expect_request(lambda r: "/api/v1/services/search" in r.url) as sent:
        await page.get_by_role("button", name="Search").click()
    assert "unaccompanied_minor=true" in (await sent.value).url
    await expect(page.get_by_role("status")).to_contain_text("nearest first")
    ids = await page.locator(".hit").evaluate_all("hits => hits.map(h => h.dataset.serviceId)")
    assert ids
    conn = await asyncpg.connect(web_db)
    try:
        serves = await conn.fetch(
            "SELECT serves_unaccompanied_minors FROM service WHERE id = ANY($1::uuid[])", ids
        )
    finally:
        await conn.close()
    assert all(row["serves_unaccompanied_minors"] for row in serves)


async def test_a_childs_referral_asks_for_the_guardian(page: Page, web_db: str) -> None:
    await page.set_viewport_size({"width": 360, "height": 740})
    await sign_in(page, web_db, "officer")
    await page.goto("/refer")
    await expect(page.locator("#referral[data-ready]")).to_be_attached()
    child = page.locator("#child-set")
    await expect(child).to_be_hidden()
    await page.get_by_label("Age band").select_option("14-17")
    await expect(child).to_be_visible()
    await page.get_by_role("button", name="Submit and find services").click()
    await expect(page.locator("#guardian-status-error")).to_contain_text(
        "appointed, requested or none"
    )
    # An adult again: the child's questions go away.
    await page.get_by_label("Age band").select_option("25-59")
    await expect(child).to_be_hidden()
    await page.get_by_label("Age not established (treated as a child)").check()
    await expect(child).to_be_visible()
    await expect(page.get_by_label("Guardian")).to_be_visible()
