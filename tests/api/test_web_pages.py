"""The web pages over HTTP: public, strict security headers, no inline code; /me and taxonomy."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar.testing import AsyncTestClient

from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
SHELTER_ORG = uuid.UUID("eb87e9ee-4bf0-598f-ab6d-f11b452b2005")
PAGES = [
    "/",
    "/find",
    "/refer",
    "/capacity",
    "/offers",
    "/registry",
    "/gaps",
    "/coordination",
    "/feedback",
    "/feedback/7K3M-Q9XD-2HRT-W8PB",
    "/feedback-card",
    "/feedback-summary",
    "/licences",
    "/funding",
]


async def test_me_names_role_and_scope_but_never_the_token(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "provider", org=SHELTER_ORG)
    response = await client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert response.json() == {
        "role": "provider",
        "jurisdiction": "RS",
        "organization_id": str(SHELTER_ORG),
        "agency": None,
        "agency_id": None,
    }
    assert headers["Authorization"].removeprefix("Bearer ") not in response.text
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_taxonomy_names_every_service_code(client: Client, demo_db: str) -> None:
    headers = await make_token(demo_db, "funder")
    codes = (await client.get("/api/v1/taxonomy", headers=headers)).json()
    assert len(codes) == 21
    emergency = next(c for c in codes if c["code"] == "ACC.EMERG")
    assert emergency == {
        "code": "ACC.EMERG",
        "name": "Emergency safe accommodation",
        "group": "ACC",
        "group_name": "Safe accommodation",
        "accommodation": True,
    }


@pytest.mark.parametrize("path", PAGES)
async def test_pages_are_public_with_strict_security_headers(client: Client, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self';" in csp
    assert "style-src 'self';" in csp
    assert "unsafe" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-frame-options"] == "DENY"
    html = response.text
    assert '<html lang="en">' in html
    # Every script is a module loaded from this origin; no inline script, style or handler.
    sources = re.findall(r'src="(/static/[a-z0-9]+\.js)"', html)
    assert re.findall(r"<script[^>]*>", html) == [
        f'<script type="module" src="{src}">' for src in sources
    ]
    assert "<style" not in html
    assert not re.search(r"\sstyle=|\son[a-z]+=", html)


async def test_every_script_and_stylesheet_is_served_with_the_same_headers(client: Client) -> None:
    html = "".join([(await client.get(p)).text for p in PAGES])
    assets = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    assert {"/static/app.css", "/static/find.js", "/static/capacity.js"} <= assets
    for asset in sorted(assets):
        response = await client.get(asset)
        assert response.status_code == 200, asset
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in response.headers["content-security-policy"]
    script = await client.get("/static/session.js")
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))


async def test_an_unknown_static_file_answers_404(client: Client) -> None:
    response = await client.get("/static/nothing-here.js")
    assert response.status_code == 404
