"""The transnational panel on /refer at 360 and 1280 px: focal points, consent and the one
timeline both sides see, a step recorded from the page; cancel only for the referring side;
the receiving coordinator declines from /referrals."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.api.referral_factories import idem, referral_body, token

pytestmark = pytest.mark.browser


def _call(base: str, method: str, path: str, headers: dict[str, str], body: object = None) -> Any:
    extra = idem() if method == "POST" else {}
    answer = httpx.request(
        method, f"{base}{path}", json=body, headers={**headers, **extra}, timeout=60
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def _case(db: str, base: str, tag: str) -> tuple[dict[str, str], dict[str, str], str]:
    """A matched RS→AL return with its TRM record and the arrival done: (RS officer, AL
    coordinator, referral id)."""
    serbia = await token(db, "coordinator", "RS")
    albania = await token(db, "coordinator", "AL")
    sending = _call(base, "POST", "/api/v1/agencies", serbia, {
        "jurisdiction": "RS", "name": f"Belgrade police {tag}", "duty_phone": "+381 11 555 0177",
    })  # fmt: skip
    receiving = _call(base, "POST", "/api/v1/agencies", albania, {
        "jurisdiction": "AL", "name": f"Tirana anti-trafficking unit {tag} with a long name",
        "duty_phone": "+355 69 123 4567",
    })  # fmt: skip
    officer = await token(db, "officer", agency="RS police")
    now = dt.datetime.now(dt.UTC).isoformat()
    body = referral_body(
        needs=[{"code": "RET.VOLUNTARY", "priority": "must"}], receiving_participant="AL",
        nationality="AL", urgency="planned",
        consent={"given": True, "method": "verbal", "scope": ["referral", "cross_border"],
                 "at": now},
    )  # fmt: skip
    ref = _call(base, "POST", "/api/v1/referrals", officer, body)["id"]
    path = f"/api/v1/referrals/{ref}"
    _call(base, "POST", f"{path}/transitions", officer, {"to": "submitted"})
    _call(base, "POST", f"{path}/suggestions", officer)
    _call(base, "PUT", f"{path}/transnational", officer, {
        "sending_agency_id": sending["id"], "receiving_agency_id": receiving["id"],
        "consents": [{"item": "cross_border", "given": True, "method": "written", "at": now}],
    })  # fmt: skip
    today = dt.datetime.now(dt.UTC).date().isoformat()
    _call(base, "POST", f"{path}/transnational/steps", albania,
          {"code": "arrival", "status": "done", "date": today})  # fmt: skip
    return officer, albania, ref


async def _sign_in(page: Page, headers: dict[str, str]) -> None:
    await page.goto("/")
    await page.evaluate("sessionStorage.clear()")
    await page.goto("/")
    await page.get_by_label("Access token").fill(headers["Authorization"].removeprefix("Bearer "))
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Signed in")).to_be_visible()


async def _no_sideways_scroll(page: Page) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    wide = await page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right >"
        " document.documentElement.clientWidth).map(e => e.tagName + '#' + e.id + '.' +"
        " e.className).slice(0, 12)"
    )
    assert overflow <= 0, wide


@pytest.mark.parametrize("width", [360, 1280])
async def test_the_timeline_both_sides_see_and_who_may_end_it(
    page: Page, web_db: str, live_app: str, width: int
) -> None:
    officer, albania, ref = await _case(web_db, live_app, f"{width}-{uuid.uuid4().hex[:4]}")
    await page.set_viewport_size({"width": width, "height": 900})

    # The referring officer: the panel, the timeline, a step recorded, and the cancel box.
    await _sign_in(page, officer)
    await page.goto(f"/refer?referral={ref}")
    panel = page.locator("#trm")
    await expect(panel).to_contain_text("Transnational case: RS → AL", timeout=20_000)
    await expect(panel.locator("a.duty-phone").first).to_have_attribute("href", "tel:+381115550177")
    await expect(panel.locator('[data-consent="cross_border"]')).to_contain_text("given in writing")
    await expect(panel.locator('li[data-step="arrival"]')).to_have_attribute("data-status", "done")
    await expect(page.locator("#cancel-box")).to_be_visible()
    await expect(panel.get_by_text("Focal points, consent and return area")).to_be_visible()
    # Steps are recorded by the coordinators and the focal agencies' officers, not here.
    await expect(panel.get_by_text("Record a step")).to_have_count(0)
    await _no_sideways_scroll(page)

    # The receiving coordinator: the same timeline, a step recorded, no cancel.
    await _sign_in(page, albania)
    await page.goto(f"/refer?referral={ref}")
    await expect(panel.locator('li[data-step="arrival"]')).to_have_attribute(
        "data-status", "done", timeout=20_000
    )
    await expect(page.locator("#follow-state")).to_contain_text("Matched")
    assert await page.locator("#cancel-box").is_hidden()
    await expect(panel.get_by_text("Focal points, consent and return area")).to_have_count(0)
    await panel.get_by_text("Record a step").click()
    await panel.get_by_label("Step").select_option("follow_up_3m")
    await panel.get_by_label("Status").select_option("planned")
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=91)
    later = day.isoformat()
    await panel.get_by_label("Date").fill(later)
    await panel.get_by_role("button", name="Record the step").click()
    await expect(panel.locator(".trm-record .note")).to_have_text("Recorded.")
    # The date as Intl writes it in English (the page's language): "Mar 4, 2027".
    shown = f"{day:%b} {day.day}, {day.year}"
    await expect(panel.locator('li[data-step="follow_up_3m"]')).to_contain_text(shown)
    await _no_sideways_scroll(page)

    # The referring officer sees the same timeline.
    await _sign_in(page, officer)
    await page.goto(f"/refer?referral={ref}")
    await expect(panel.locator('li[data-step="follow_up_3m"]')).to_contain_text(
        shown, timeout=20_000
    )

    # The receiving coordinator declines from /referrals.
    await _sign_in(page, albania)

    await page.goto("/referrals")
    line = page.locator(f'[data-referral="{ref}"]')
    await expect(line).to_be_visible(timeout=20_000)
    await line.get_by_text("Decline as AL (receiving side)").click()
    await line.get_by_label("Why is it declined?").select_option("no_capacity")
    await _no_sideways_scroll(page)
    await line.get_by_role("button", name="Decline: return it to the referring side").click()
    await expect(line.locator("h2")).to_have_text("Submitted")
    await expect(line.locator(".decline-referral")).to_have_count(0)
