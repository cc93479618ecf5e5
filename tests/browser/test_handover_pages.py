"""The handover on the pages: the officer's /refer shows the placed shelter's duty phone and
address once the placement is confirmed; the provider's /offers names the referring agency."""

from __future__ import annotations

import re
import uuid

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from csomatch.db.tokens import create_token
from tests.api.referral_factories import idem, referral_body, token
from tests.browser.test_pages import SHELTER, SHELTER_ORG

pytestmark = pytest.mark.browser

#: A tel: link to an E.164 number.
TEL = re.compile(r"^tel:\+\d{8,15}$")


def _post(base: str, path: str, headers: dict[str, str], body: object = None) -> dict[str, str]:
    answer = httpx.post(f"{base}{path}", json=body, headers={**headers, **idem()}, timeout=60)
    assert answer.status_code in (200, 201), answer.text
    found: dict[str, str] = answer.json()
    return found


async def _confirmed_placement(db: str, base: str, tag: str) -> tuple[str, str, str]:
    """A referral placed at the confidential shelter and confirmed: (officer token, referral
    id, agency name); the officer's token names an agency record."""
    coordinator = await token(db, "coordinator", "RS")
    agency = _post(base, "/api/v1/agencies", coordinator, {
        "jurisdiction": "RS", "name": f"Police station {tag} (demo)",
        "duty_phone": "+381 11 555 0177",
    })  # fmt: skip
    conn = await asyncpg.connect(db)
    try:
        secret, _ = await create_token(
            conn, role="officer", jurisdiction="RS", organization_id=None, label="test",
            agency=agency["name"], agency_id=uuid.UUID(agency["id"]),
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO service_capacity (service_id, unit, maximum, available, updated_at)"
            " VALUES ($1, 'bed', 9, 9, now()) ON CONFLICT (service_id) DO UPDATE"
            " SET maximum = 9, available = 9, updated_at = now()",
            SHELTER,
        )
    finally:
        await conn.close()
    officer = {"Authorization": f"Bearer {secret}"}
    referral = _post(base, "/api/v1/referrals", officer, referral_body(gender="male"))["id"]
    path = f"/api/v1/referrals/{referral}"
    _post(base, f"{path}/transitions", officer, {"to": "submitted"})
    _post(base, f"{path}/suggestions", officer)
    offer = _post(base, f"{path}/holds", officer, {"service_id": str(SHELTER), "places": 1})
    provider = await token(db, "provider", org=SHELTER_ORG)
    _post(base, f"/api/v1/offers/{offer['id']}/accept", provider)
    _post(base, f"{path}/transitions", officer, {"to": "confirmed"})
    return secret, referral, agency["name"]


@pytest.mark.parametrize("width", [360, 1280])
async def test_the_handover_shows_on_both_pages(
    page: Page, web_db: str, live_app: str, width: int
) -> None:
    secret, referral, agency = await _confirmed_placement(web_db, live_app, str(width))
    await page.set_viewport_size({"width": width, "height": 800})
    await page.goto("/")
    await page.get_by_label("Access token").fill(secret)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    await page.goto(f"/refer?referral={referral}")
    handover = page.locator("#handover")
    await expect(handover).to_contain_text("Handover", timeout=20_000)
    await expect(handover).to_contain_text("Address for the escort")
    phone = handover.locator("a.duty-phone")
    await expect(phone).to_have_attribute("href", TEL)
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = await page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right >"
        " document.documentElement.clientWidth).map(e => e.tagName + '#' + e.id + '.' +"
        " e.className + ' ' + Math.round(e.getBoundingClientRect().right)).slice(0, 12)"
    )
    assert overflow <= 0, wide

    await page.goto("/")
    await page.get_by_role("button", name="Sign out").click()
    provider = await token(web_db, "provider", org=SHELTER_ORG)
    await page.goto("/")
    await page.get_by_label("Access token").fill(provider["Authorization"].removeprefix("Bearer "))
    await page.get_by_role("button", name="Sign in").click()
    await page.goto("/offers")
    await expect(page.locator("#page[data-ready]")).to_be_attached()
    await page.locator("#status-filter").select_option("confirmed")
    card = page.locator(".offer", has_text=agency)
    await expect(card.locator(".referred-by")).to_contain_text("+381115550177")
