"""A field's error never squeezes its input: on a 360 px phone it shows under the field.

Each page that marks a field (``fieldError`` in session.js) is driven into the error at
360 px; the input must keep the width it had, and the message must start below it (and
below the row the input shares with a button: /capacity's stepper, /find's "Where",
/refer's "Keep away from").
"""

from __future__ import annotations

import pytest
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import sign_in
from tests.browser.test_pages import SHELTER, SHELTER_ORG

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


async def _width(field: Locator) -> float:
    box = await field.bounding_box()
    assert box is not None
    return box["width"]


async def _assert_under(field: Locator, error: Locator, width_before: float) -> None:
    """The input kept its width, and the message is visible below it, at least as wide."""
    await expect(error).to_be_visible()
    box = await field.bounding_box()
    note = await error.bounding_box()
    assert box is not None
    assert note is not None
    assert abs(box["width"] - width_before) < 0.5, (box["width"], width_before)
    assert note["y"] >= box["y"] + box["height"] - 0.5, (note, box)
    assert note["width"] >= box["width"] - 0.5, (note, box)
    page = field.page
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow == 0


async def test_capacity_stepper_errors_show_under_the_stepper(page: Page, web_db: str) -> None:
    await page.set_viewport_size(PHONE)
    await sign_in(page, web_db, "provider", org=SHELTER_ORG)
    await page.goto("/capacity")
    card = page.locator(f'.card[data-service-id="{SHELTER}"]')
    available = card.get_by_label("Available beds")
    await expect(available).to_be_visible()
    width = await _width(available)
    plus = card.get_by_role("button", name="One more beds")
    plus_box = await plus.bounding_box()

    await available.fill("-1")
    await card.get_by_role("button", name="Save").click()
    error = card.locator(f"#available-{SHELTER}-error")
    await expect(error).to_contain_text("Type a whole number")
    await _assert_under(available, error, width)
    # The stepper's buttons keep their place beside the input (the page may have scrolled).
    plus_now = await plus.bounding_box()
    note = await error.bounding_box()
    assert plus_box is not None
    assert plus_now is not None
    assert note is not None
    assert (plus_now["x"], plus_now["width"]) == (plus_box["x"], plus_box["width"])
    assert note["y"] >= plus_now["y"] + plus_now["height"] - 0.5

    # The API's own problem (more free places than the total) goes to the same place.
    total = card.get_by_label("Total beds")
    places = int(await total.input_value())  # another test may have changed the total
    await available.fill(str(places + 5))
    await card.get_by_role("button", name="Save").click()
    await expect(error).to_contain_text(f"in total; report at most {places} as free")
    await _assert_under(available, error, width)

    total_width = await _width(total)
    await available.fill("1")
    await total.fill("")
    await card.get_by_role("button", name="Save").click()
    total_error = card.locator(f"#maximum-{SHELTER}-error")
    await expect(total_error).to_contain_text("Type a whole number")
    await _assert_under(total, total_error, total_width)


async def test_find_where_error_shows_under_the_row(page: Page, web_db: str) -> None:
    await page.set_viewport_size(PHONE)
    await sign_in(page, web_db, "officer")
    await page.goto("/find")
    await expect(page.locator("#search[data-ready]")).to_be_attached()
    where = page.get_by_label("Where")
    width = await _width(where)
    near_me = page.get_by_role("button", name="Near me")
    near_box = await near_me.bounding_box()

    await page.get_by_role("button", name="Search").click()
    error = page.locator("#area-error")
    await expect(error).to_contain_text("Type a town or municipality")
    await _assert_under(where, error, width)
    near_now = await near_me.bounding_box()
    assert near_box is not None
    assert near_now is not None
    assert (near_now["x"], near_now["width"]) == (near_box["x"], near_box["width"])

    await where.fill("Nowhereville")
    await page.get_by_role("button", name="Search").click()
    await expect(error).to_contain_text("No town or municipality called")
    await _assert_under(where, error, width)


async def test_refer_field_errors_show_under_their_fields(page: Page, web_db: str) -> None:
    await page.set_viewport_size(PHONE)
    await sign_in(page, web_db, "officer")
    await page.goto("/refer")
    await expect(page.locator("#referral[data-ready]")).to_be_attached()
    await page.get_by_text("More: safety, timing, access, another country").click()
    away = page.get_by_label("Keep away from (optional)")
    distance = page.get_by_label("At least this far from them (km)")
    widths = {"away": await _width(away), "distance": await _width(distance)}

    await page.get_by_role("button", name="Add", exact=True).click()
    away_error = page.locator("#excluded-error")
    await expect(away_error).to_contain_text("Type a town or municipality to keep away from")
    await _assert_under(away, away_error, widths["away"])

    # The page refuses a fraction of a kilometre before sending, under the field.
    await distance.fill("2.5")
    await page.get_by_role("button", name="Submit and find services").click()
    distance_error = page.locator("#min-distance-error")
    await expect(distance_error).to_contain_text("whole kilometres")
    await _assert_under(distance, distance_error, widths["distance"])
    where = page.get_by_label("Where the person is now")
    await expect(page.locator("#area-error")).to_be_visible()
    await _assert_under(where, page.locator("#area-error"), await _width(where))
