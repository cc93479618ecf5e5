"""The coordinator's console (/coordination) on a phone and on a desktop: the overdue referral
first, and a consent override approved from the page."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect

from tests.api.referral_factories import idem, referral_body, token
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


async def _post(
    http: httpx.AsyncClient, path: str, headers: dict[str, str], body: Any = None
) -> Any:
    answer = await http.post(path, json=body, headers=headers | idem())
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def _overdue_referral(http: httpx.AsyncClient, db: str, officer: dict[str, str]) -> str:
    """An emergency referral submitted ten days ago that never had an offer."""
    ref = await _post(http, "/api/v1/referrals", officer, referral_body())
    await _post(http, f"/api/v1/referrals/{ref['id']}/transitions", officer, {"to": "submitted"})
    conn = await asyncpg.connect(db)
    try:
        await conn.execute(
            "UPDATE referral_state_change SET at = now() - interval '10 days'"
            " WHERE referral_id = $1",
            uuid.UUID(ref["id"]),
        )
    finally:
        await conn.close()
    return str(ref["id"])


@pytest.mark.parametrize("width", [360, 1280])
async def test_the_coordinator_sees_the_overdue_referral_first_and_approves_an_override(
    page: Page, web_db: str, base_url: str, width: int
) -> None:
    officer = await token(web_db, "officer", agency="RS police")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        late = await _overdue_referral(http, web_db, officer)
        waiting = await _post(
            http, "/api/v1/referrals", officer,
            referral_body(
                consent=None,
                consent_override={"reason": "imminent_danger", "scope": ["referral"]},
            ),
        )  # fmt: skip
    try:
        await page.set_viewport_size({"width": width, "height": 800})
        await sign_in(page, web_db, "coordinator")
        await page.goto("/coordination")
        await expect(page.locator("#page[data-ready]")).to_be_visible()
        first = page.locator("#console tbody tr").first
        await expect(first).to_have_attribute("data-referral", late)
        await expect(first).to_contain_text("Overdue")
        await expect(first).to_contain_text("No offer yet")
        await expect(page.locator("#summary")).to_contain_text("overdue")
        await expect(page.locator("#summary")).to_contain_text("Submitted")

        card = page.locator(f'#approvals li[data-referral="{waiting["id"]}"]')
        await expect(card).to_contain_text("Consent override")
        await expect(card).to_contain_text("imminent danger")
        await card.get_by_role("button", name="Approve").click()
        await expect(page.locator("#approvals-status")).to_contain_text("Consent override approved")
        await expect(card).to_have_count(0)
        conn = await asyncpg.connect(web_db)
        try:
            approved = await conn.fetchval(
                "SELECT override_approved_at FROM referral_profile WHERE referral_id = $1",
                uuid.UUID(waiting["id"]),
            )
        finally:
            await conn.close()
        assert approved is not None

        # the time limits and the outcome figures read as words and numbers
        await expect(page.get_by_label("Submitted, Emergency: minutes")).to_have_value("30")
        await expect(page.locator("#outcomes-total")).to_contain_text("Never offered")
        # the early warning loaded (its rows depend on the shared database's capacity)
        warning = page.locator("#early-warning")
        await expect(warning.get_by_role("heading")).to_contain_text("Early warning")
        await expect(warning.locator("[role=status]")).to_contain_text("threshold")
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
    finally:
        # the browser suite shares one database: the next run's overdue referral is its own
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            await _post(
                http, f"/api/v1/referrals/{late}/transitions", officer,
                {"to": "cancelled", "reason": "duplicate"},
            )  # fmt: skip


async def test_the_requester_is_told_why_they_cannot_approve(
    page: Page, web_db: str, base_url: str
) -> None:
    asker = await token(web_db, "coordinator")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        asked = await _post(
            http, "/api/v1/referrals", asker,
            referral_body(
                consent=None,
                consent_override={"reason": "lacks_capacity", "scope": ["referral"]},
            ),
        )  # fmt: skip
    # signed in with the token that asked for the override
    await page.goto("/")
    await page.evaluate(
        "secret => sessionStorage.setItem('csomatch.token', secret)",
        asker["Authorization"].removeprefix("Bearer "),
    )
    await page.goto("/coordination")
    card = page.locator(f'#approvals li[data-referral="{asked["id"]}"]')
    await expect(card).to_contain_text("You asked for this yourself")
    await expect(card.get_by_role("button", name="Approve")).to_have_count(0)


async def test_the_time_limits_are_saved_and_a_colleagues_change_is_not_overwritten(
    page: Page, web_db: str, base_url: str
) -> None:
    # Montenegro's table: the other browser tests read Serbia's defaults
    await sign_in(page, web_db, "coordinator", jurisdiction="ME")
    await page.goto("/coordination")
    await expect(page.locator("#page[data-ready]")).to_be_visible()
    field = page.get_by_label("Matched, Urgent: minutes")
    await field.fill("300")
    await page.get_by_role("button", name="Save the time limits").click()
    await expect(page.locator("#limits-status")).to_contain_text("Saved 1 time limit")
    await expect(field).to_have_value("300")
    # a colleague saves a change meanwhile
    colleague = await token(web_db, "coordinator", "ME")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        read = await http.get("/api/v1/coordination/time-limits", headers=colleague)
        saved = await http.put(
            "/api/v1/coordination/time-limits",
            json={"limits": [{"state": "matched", "urgency": "urgent", "minutes": 200}]},
            headers=colleague | {"If-Match": read.headers["ETag"]},
        )
        assert saved.status_code == 200, saved.text
    await field.fill("350")
    await page.get_by_role("button", name="Save the time limits").click()
    await expect(page.locator("#limits-status")).to_contain_text("A colleague changed")
    await expect(field).to_have_value("200")
