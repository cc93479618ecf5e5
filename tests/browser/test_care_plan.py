"""A care plan on the web pages, in Chromium at 360 px and 1280 px: from the form to `closed`.

An officer describes emergency accommodation and legal aid, books the plan (a place for both
needs in one call), finds the referral first on /referrals once the providers accepted
(waiting for confirmation), confirms each placement, marks each in service, and closes each
with its outcome: the referral is closed as placed.
"""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import make_token, sign_in
from tests.browser.test_pages import _fill_a_referral, _open_the_women_shelter

pytestmark = pytest.mark.browser


async def _free_legal_aid(db_url: str) -> None:
    """Every legal aid service in Serbia with free places reported just now."""
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "UPDATE service_capacity c SET maximum = greatest(c.maximum, 5),"
            " available = greatest(c.maximum, 5), updated_at = now()"
            " FROM service s JOIN location l ON l.id = s.location_id"
            " JOIN area a ON a.code = l.area_code"
            " WHERE c.service_id = s.id AND s.taxonomy_code = 'LEGAL.AID'"
            " AND a.participant_code = 'RS'"
        )
    finally:
        await conn.close()


#: How far the page scrolls sideways (0: it fits the viewport).
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.mark.parametrize("width", [360, 1280])
async def test_a_plan_goes_from_the_form_to_closed(
    page: Page, web_db: str, live_app: str, width: int
) -> None:
    await _open_the_women_shelter(web_db)
    await _free_legal_aid(web_db)
    await page.set_viewport_size({"width": width, "height": 800})
    await sign_in(page, web_db, "officer")
    await page.goto("/refer")
    await expect(page.locator("#referral[data-ready]")).to_be_attached()
    await _fill_a_referral(page)
    await page.get_by_role("button", name="Submit and find services").click()
    await expect(page.locator("#status")).to_contain_text("Suggestions for", timeout=30_000)

    # One service per need is preselected for the plan; booking holds both at once.
    for code in ("ACC.EMERG", "LEGAL.AID"):
        card = page.locator(f'.need-result[data-code="{code}"]')
        await expect(card.locator(".plan-pick:checked")).to_have_count(1)
    await page.get_by_role("button", name="Book the plan").click()
    await expect(page.locator("#plan-note")).to_contain_text("Booked: a place held for 2 needs")
    await expect(page.locator(".referral-state")).to_have_attribute("data-state", "offered")
    lines = page.locator("#follow-offers .need-line")
    await expect(lines).to_have_count(2)
    for i in range(2):
        await expect(lines.nth(i)).to_have_attribute("data-state", "offered")
    assert await page.evaluate(SIDEWAYS) == 0

    # Both providers accept (through the API, as their own pages would).
    href = await page.locator("#follow-link").get_attribute("href")
    assert href is not None
    referral = href.removeprefix("/refer?referral=")
    coordinator = await make_token(web_db, "coordinator")
    seen = httpx.get(f"{live_app}/api/v1/referrals/{referral}", headers=coordinator).json()
    assert sorted(o["need"] for o in seen["offers"]) == [0, 1]
    for offer in seen["offers"]:
        provider = await make_token(web_db, "provider", org=uuid.UUID(offer["organization_id"]))
        accepted = httpx.post(
            f"{live_app}/api/v1/offers/{offer['id']}/accept",
            headers={**provider, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert accepted.status_code == 200, accepted.text

    # My referrals: this one first, waiting for the officer to confirm.
    await page.goto("/referrals")
    await expect(page.locator("#referrals[data-ready]")).to_be_attached()
    first = page.locator(".referral-line").first
    await expect(first).to_have_attribute("data-referral", referral)
    await expect(first).to_contain_text("Waiting for you: confirm the placement")
    assert await page.evaluate(SIDEWAYS) == 0
    await first.get_by_role("link").click()
    await expect(page.locator(".referral-state")).to_have_attribute("data-state", "accepted")

    for label, after in (("Confirm the placement", "confirmed"), ("Service started", "in_service")):
        for need in range(2):
            line = page.locator(f'#follow-offers .need-line[data-need="{need}"]')
            await line.get_by_role("button", name=label).click()
            await expect(line).to_have_attribute("data-state", after)
        await expect(page.locator(".referral-state")).to_have_attribute("data-state", after)

    # Each need closes with its outcome; the last one closes the referral.
    for need in range(2):
        line = page.locator(f'#follow-offers .need-line[data-need="{need}"]')
        await expect(line.get_by_label("Outcome")).to_have_value("placed")
        await line.get_by_role("button", name="Close this need").click()
        await expect(line).to_have_attribute("data-state", "closed")
    await expect(page.locator(".referral-state")).to_have_attribute("data-state", "closed")
    await expect(page.locator(".referral-state")).to_contain_text("Placed")
    assert await page.evaluate(SIDEWAYS) == 0
    final = httpx.get(f"{live_app}/api/v1/referrals/{referral}", headers=coordinator).json()
    assert (final["state"], final["outcome"]) == ("closed", "placed")
    assert [(n["state"], n["outcome"]) for n in final["needs"]] == [("closed", "placed")] * 2

    # Closed referrals leave the list.
    await page.goto("/referrals")
    await expect(page.locator("#referrals[data-ready]")).to_be_attached()
    await expect(page.locator(f'.referral-line[data-referral="{referral}"]')).to_have_count(0)
