"""/funding on a phone and on a desktop: a CSO reads its own funding mix and runway."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.test_pages import SHELTER, SHELTER_ORG

pytestmark = pytest.mark.browser


async def _fund(db_url: str) -> dt.date:
    """The shelter's grants replaced: a ministry's €30,000 and a donor's €90,000 a year."""
    today = dt.datetime.now(dt.UTC).date()
    start, end = today - dt.timedelta(days=100), today + dt.timedelta(days=264)
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("DELETE FROM funding WHERE recipient_organization_id = $1", SHELTER_ORG)
        await conn.execute(
            "DELETE FROM funding_service WHERE service_id IN"
            " (SELECT id FROM service WHERE organization_id = $1)",
            SHELTER_ORG,
        )
        for ref, kind, eur in (("WEB-MIN", "ministry", 30_000), ("WEB-DON", "donor", 90_000)):
            funder_id = await conn.fetchval("SELECT id FROM funder WHERE ref = $1", ref)
            if funder_id is None:
                funder_id = uuid.uuid4()
                await conn.execute(
                    "INSERT INTO funder (id, ref, name, kind) VALUES ($1, $2, $3, $4)",
                    funder_id, ref, f"Web {kind}", kind,
                )  # fmt: skip
            grant_id = uuid.uuid4()
            await conn.execute(
                "INSERT INTO funding (id, funder_id, recipient_organization_id, recipient_name,"
                " amount, currency, period_start, period_end, status, source, external_id)"
                " VALUES ($1, $2, $3, 'shelter', $4, 'EUR', $5, $6, 'committed', 'api', $7)",
                grant_id, funder_id, SHELTER_ORG, eur, start, end, f"web:{grant_id}",
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO funding_service (funding_id, service_id) VALUES ($1, $2)",
                grant_id, SHELTER,
            )  # fmt: skip
    finally:
        await conn.close()
    return end


@pytest.mark.parametrize("width", [360, 1280])
async def test_a_cso_reads_its_own_funding_and_runway(
    page: Page, web_db: str, width: int, tmp_path: Path
) -> None:
    end = await _fund(web_db)
    await page.set_viewport_size({"width": width, "height": 900})
    await sign_in(page, web_db, "provider", org=SHELTER_ORG)
    await page.goto("/funding")
    await expect(page.locator("#page[data-ready]")).to_be_attached()
    await expect(page.get_by_role("link", name="Funding")).to_be_visible()
    await expect(page.locator("#public")).to_have_text("€30,000 (25%)")
    await expect(page.locator("#donor")).to_have_text("€90,000 (75%)")
    await expect(page.locator("#top")).to_have_text("Web donor: 75% of the money")
    # The date as Intl writes it in English (the page's language): "Mar 5, 2031".
    await expect(page.locator("#runway")).to_contain_text(f"to {end:%b} {end.day}, {end.year}")
    funders = page.locator("#funders tbody tr")
    await expect(funders).to_have_count(2)
    await expect(funders.first).to_contain_text("Donor (donor)")
    shelter = page.locator("#services tbody tr").filter(has_text=":RS-")
    await expect(shelter.first).to_be_visible()
    await expect(page.locator("#services")).to_contain_text("25%")
    # the gap cell a service served last month, with its severity in words
    await shelter.first.get_by_role("button", name="Gap last month").click()
    await expect(shelter.first.locator(".cell-why")).to_contain_text("Severity")
    await page.screenshot(path=tmp_path / f"funding-{width}.png", full_page=True)
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


async def test_other_roles_are_sent_to_their_pages(page: Page, web_db: str) -> None:
    await sign_in(page, web_db, "funder")
    await page.goto("/funding")
    await expect(page.locator("#gate")).to_contain_text("does not use this page")
