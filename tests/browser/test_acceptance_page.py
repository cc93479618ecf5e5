"""The provider's acceptance record on /offers, on a phone and on a desktop."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
from playwright.async_api import Page, expect

from csomatch.db.track_records import record_offer_outcome
from csomatch.domain.acceptance import counted
from csomatch.domain.vocabulary import OfferOutcome
from csomatch.referrals.acceptance import quarter_start
from tests.browser.conftest import sign_in
from tests.browser.test_pages import SHELTER, SHELTER_ORG

pytestmark = pytest.mark.browser

QUARTER_NAMES = ["January–March", "April–June", "July–September", "October–December"]


def _name(start: dt.date) -> str:
    return f"{QUARTER_NAMES[(start.month - 1) // 3]} {start.year}"


async def _record(db_url: str, quarter: dt.date, ends: dict[OfferOutcome, int]) -> None:
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute(
            "DELETE FROM offer_outcome_count WHERE organization_id = $1 AND quarter = $2",
            SHELTER_ORG,
            quarter,
        )
        for outcome, times in ends.items():
            for _ in range(times):
                await record_offer_outcome(
                    conn, SHELTER, SHELTER_ORG, outcome, counts=counted(outcome), quarter=quarter
                )
    finally:
        await conn.close()


@pytest.mark.parametrize("width", [360, 1280])
async def test_provider_reads_its_acceptance_record(page: Page, web_db: str, width: int) -> None:
    last = quarter_start(quarter_start(dt.datetime.now(dt.UTC).date()) - dt.timedelta(days=1))
    before_last = quarter_start(last - dt.timedelta(days=1))
    await _record(web_db, last, {"accepted": 3, "person_declined": 2, "expired_unanswered": 1})
    await _record(web_db, before_last, {"accepted": 2})
    await page.set_viewport_size({"width": width, "height": 800})
    await sign_in(page, web_db, "provider", org=SHELTER_ORG)
    await page.goto("/offers")
    section = page.locator("#acceptance[data-ready]")
    await expect(section).to_be_visible()
    await expect(section).to_contain_text("never counts against you")
    rows = section.locator("tbody tr")
    await expect(rows).to_have_count(8)
    # 6 offers ended last quarter; 4 count (the person's decline does not); 3 accepted.
    await expect(rows.nth(0).locator("th")).to_have_text(_name(last))
    await expect(rows.nth(0).locator("td")).to_have_text(["6", "4", "3", "75%"])
    await expect(rows.nth(1)).to_contain_text("Too few offers to count")
    await expect(rows.nth(1)).to_contain_text(_name(before_last))
    # Nothing runs off the side of the screen.
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
