"""The survivor's voice on the pages: the public feedback page in English and in Arabic (right
to left) at 360 and 1280 px, the printable card of a new code, what people said on /offers and
/feedback-summary, and the survivor-led filter of /registry."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest
from playwright.async_api import Page, expect

from csomatch.gaps.periods import last_closed
from tests.api.referral_factories import referral_body, token
from tests.browser.conftest import sign_in
from tests.browser.test_handover_pages import _post
from tests.browser.test_pages import SHELTER, SHELTER_ORG

pytestmark = pytest.mark.browser

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


async def _in_service(db: str, base: str) -> tuple[dict[str, str], str]:
    """A referral whose one need is in service at the shelter: (officer headers, its id)."""
    conn = await asyncpg.connect(db)
    try:
        await conn.execute(
            "INSERT INTO service_capacity (service_id, unit, maximum, available, updated_at)"
            " VALUES ($1, 'bed', 9, 9, now()) ON CONFLICT (service_id) DO UPDATE"
            " SET maximum = 9, available = 9, updated_at = now()",
            SHELTER,
        )
    finally:
        await conn.close()
    officer = await token(db, "officer", agency="RS police")
    referral = _post(base, "/api/v1/referrals", officer, referral_body(gender="male"))["id"]
    path = f"/api/v1/referrals/{referral}"
    _post(base, f"{path}/transitions", officer, {"to": "submitted"})
    _post(base, f"{path}/suggestions", officer)
    offer = _post(base, f"{path}/holds", officer, {"service_id": str(SHELTER), "places": 1})
    provider = await token(db, "provider", org=SHELTER_ORG)
    _post(base, f"/api/v1/offers/{offer['id']}/accept", provider)
    _post(base, f"{path}/transitions", officer, {"to": "confirmed"})
    _post(base, f"{path}/transitions", provider, {"to": "in_service"})
    return officer, referral


def _code(base: str, officer: dict[str, str], referral: str) -> str:
    return _post(base, f"/api/v1/referrals/{referral}/feedback-code", officer, {"need": 0})["code"]


async def _fits(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0


async def _answer_all(page: Page) -> None:
    """Pick a face on each of the four scales (the third question: prefer not to say)."""
    for question, value in (("safe", "5"), ("respected", "4"), ("understood", "skip"),
                            ("helped", "3")):  # fmt: skip
        choice = page.locator(f"#q-{question} label.choice[data-value='{value}']")
        box = await choice.bounding_box()
        assert box is not None
        assert box["height"] >= 44  # a large touch target
        await choice.click()


@pytest.mark.parametrize("width", [360, 1280])
async def test_the_public_page_in_english_and_in_arabic(
    page: Page, web_db: str, live_app: str, width: int
) -> None:
    officer, referral = await _in_service(web_db, live_app)
    first, second = _code(live_app, officer, referral), _code(live_app, officer, referral)
    await page.set_viewport_size({"width": width, "height": 900})

    # English, the code from the card's link; no sign-in.
    await page.goto(f"/feedback/{first}")
    await expect(page.locator("#feedback[data-ready]")).to_be_attached()
    await expect(page.locator("html")).to_have_attribute("dir", "ltr")
    await expect(page.get_by_role("heading", name="Tell us about the service")).to_be_visible()
    await expect(page.get_by_label("Your code (on the card)")).to_have_value(first)
    assert await page.locator("nav#nav").count() == 0
    await _answer_all(page)
    await _fits(page)
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#fb-done")).to_have_text("Thank you. Your answers were saved.")

    # Arabic, right to left; the code typed on the entry page, in lower case.
    await page.goto("/feedback")
    await expect(page.locator("#feedback[data-ready]")).to_be_attached()
    await page.get_by_role("button", name="العربية").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await expect(page.locator("html")).to_have_attribute("lang", "ar")
    await expect(page.get_by_role("heading", name="أخبرنا عن الخدمة")).to_be_visible()
    await page.get_by_label("رمزك (على البطاقة)").fill(second.lower())
    await _answer_all(page)
    await expect(page.locator("#q-safe label.choice[data-value='5']")).to_contain_text("تمامًا")
    await _fits(page)
    await page.get_by_role("button", name="إرسال").click()
    await expect(page.locator("#fb-done")).to_have_text("شكرًا لك. تم حفظ إجاباتك.")

    # The same code again: refused, in the language chosen.
    await page.goto(f"/feedback/{second}")
    await page.get_by_role("button", name="فارسی").click()
    await expect(page.locator("html")).to_have_attribute("dir", "rtl")
    await page.get_by_role("button", name="ارسال").click()
    await expect(page.locator("#fb-status")).to_have_text(
        "این کد قبلاً استفاده شده یا منقضی شده است."
    )


async def test_the_card_shows_the_code_once_with_its_qr_code(
    page: Page, web_db: str, live_app: str
) -> None:
    officer, referral = await _in_service(web_db, live_app)
    await page.set_viewport_size({"width": 360, "height": 900})
    await page.goto("/")
    await page.get_by_label("Access token").fill(officer["Authorization"].removeprefix("Bearer "))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    await page.goto(f"/refer?referral={referral}")
    link = page.get_by_role("link", name="Feedback card for the person")
    await expect(link).to_be_visible(timeout=20_000)
    await link.click()
    await expect(page.locator("#page[data-ready]")).to_be_attached()
    await page.get_by_role("button", name="Issue a feedback code").click()
    code = page.locator("#card-code")
    await expect(code).to_have_text(CODE)
    await expect(page.locator("#card-qr svg path")).to_be_attached()
    await expect(page.locator("#card-link")).to_contain_text("/feedback/")
    await expect(page.locator("#card-hints p[lang='uk']")).to_be_visible()
    await _fits(page)


async def test_the_registry_keeps_survivor_led_organisations(page: Page, web_db: str) -> None:
    await sign_in(page, web_db, "funder", jurisdiction="RS")
    await page.goto("/registry")
    await expect(page.locator("#page[data-ready]")).to_be_attached()
    await page.locator("#participant").select_option("")
    await page.get_by_label("Only survivor-led organisations").check()
    rows = page.locator("#orgs tbody tr")
    await expect(rows.first).to_be_visible()
    await expect(page.locator("#orgs tbody tr td:nth-child(4)", has_text="No")).to_have_count(0)
    assert await rows.count() >= 1


async def _five_answers_last_quarter(db: str) -> str:
    """Five answers about the shelter in the last closed quarter; that quarter's label."""
    closed = last_closed(dt.datetime.now(dt.UTC).date(), "quarter")
    conn = await asyncpg.connect(db)
    try:
        await conn.executemany(
            "INSERT INTO feedback_answer (service_id, taxonomy_code, participant_code, quarter,"
            " safe, respected, understood, helped, score)"
            " SELECT id, taxonomy_code, 'RS', $2, $3, 4, 5, NULL, 4 FROM service WHERE id = $1",
            [(SHELTER, closed.start, safe) for safe in (3, 4, 4, 5, 5)],
        )
    finally:
        await conn.close()
    return closed.label


async def test_providers_and_funders_see_what_people_said(page: Page, web_db: str) -> None:
    quarter = await _five_answers_last_quarter(web_db)
    await page.set_viewport_size({"width": 360, "height": 900})
    await sign_in(page, web_db, "provider", org=SHELTER_ORG)
    await page.goto("/offers")
    section = page.locator("#feedback-record")
    await expect(section).to_have_attribute("data-ready", "true", timeout=20_000)
    row = section.locator("tbody tr", has_text=quarter)
    await expect(row).to_contain_text("4.2 of 5")  # felt safe: (3 + 4 + 4 + 5 + 5) / 5
    await expect(row).to_contain_text("Fewer than 5 answered")  # nobody said how it helped
    await _fits(page)

    await page.goto("/")
    await page.get_by_role("button", name="Sign out").click()
    await sign_in(page, web_db, "funder", jurisdiction="RS")
    await page.goto("/feedback-summary")
    await expect(page.locator("#page[data-ready]")).to_be_attached()
    assert await page.locator("#fs-by-field").is_hidden()  # funders: per kind of service only
    await expect(page.locator("#fs-table tbody tr", has_text=quarter)).to_contain_text(", RS")
    await _fits(page)
