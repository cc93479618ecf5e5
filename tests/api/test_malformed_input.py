"""No 5xx on malformed input: each case that once answered 500 is a 4xx problem naming its field.

Fields are JSONPaths into the body (``$.name``), or ``query.q``, ``path.cell``,
``header.If-Match``; every timestamp needs its zone; every route refuses a query parameter it
does not declare; GET answers the ETag its PATCH checks.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.testing import AsyncTestClient

from tests.api.conftest import make_token
from tests.api.referral_factories import idem, referral_body, token

Client = AsyncTestClient[Litestar]

SHELTER_ORG = uuid.UUID("eb87e9ee-4bf0-598f-ab6d-f11b452b2005")
SHELTER = uuid.UUID("9b8ecbcd-7895-5967-9c12-31e341d4d782")
BELGRADE = "RS-792680"
PROBLEM = "application/problem+json"
DEEP = 1000


def assert_problem(response: Any, status: int, field: str) -> dict[str, Any]:
    """A problem-details answer of this status naming this field; its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["field"] == field, body
    assert body["detail"]
    return body


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` levels deep."""
    return "[" * depth + "]" * depth


# -- If-Match beyond 32 bits --


async def test_if_match_beyond_32_bits_is_a_precondition_failure(
    client: Client, demo_db: str
) -> None:
    provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
    huge = {**provider, "If-Match": f'"{2**40}"'}
    put = await client.put(
        f"/api/v1/services/{SHELTER}/capacity",
        json={"maximum": 12, "available": 3, "unit": "bed"},
        headers=huge,
    )
    assert_problem(put, 412, "header.If-Match")
    org = await client.patch(
        f"/api/v1/organizations/{SHELTER_ORG}", json={"survivor_led": True}, headers=huge
    )
    assert_problem(org, 412, "header.If-Match")
    svc = await client.patch(
        f"/api/v1/services/{SHELTER}", json={"intake_24_7": True}, headers=huge
    )
    assert_problem(svc, 412, "header.If-Match")


async def test_an_if_match_that_is_no_etag_is_a_bad_request(client: Client, demo_db: str) -> None:
    provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
    for value in ("3", '"3", "4"', '"-1"', "*", '"1e3"'):
        response = await client.put(
            f"/api/v1/services/{SHELTER}/capacity",
            json={"maximum": 12, "available": 3},
            headers={**provider, "If-Match": value},
        )
        assert_problem(response, 400, "header.If-Match")


# -- NUL characters --


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/areas?q=Beo%00grad", "query.q"),
        (f"/api/v1/areas?code={BELGRADE}%00", "query.code"),
        ("/api/v1/funding?funder=FUND%00", "query.funder"),
        (f"/api/v1/services/search?area={BELGRADE}&language=s%00r", "query.language"),
        ("/api/v1/gaps/RS%00", "path.cell"),
    ],
)
async def test_a_nul_in_a_parameter_is_a_bad_request(
    client: Client, demo_db: str, path: str, field: str
) -> None:
    admin = await make_token(demo_db, "admin", "MARRI")
    assert_problem(await client.get(path, headers=admin), 400, field)


async def test_a_nul_in_a_name_description_address_or_url_is_a_bad_request(
    client: Client, demo_db: str
) -> None:
    coordinator = await make_token(demo_db, "coordinator")
    org = await client.post(
        "/api/v1/organizations",
        json={"participant": "RS", "name": "Safe\x00House", "kind": "cso"},
        headers=coordinator,
    )
    assert_problem(org, 400, "$.name")
    location = await client.post(
        f"/api/v1/organizations/{SHELTER_ORG}/locations",
        json={
            "name": "Annex",
            "area": BELGRADE,
            "latitude": 44.8,
            "longitude": 20.4,
            "address": "Ulica 1\x00",
        },
        headers=coordinator,
    )
    assert_problem(location, 400, "$.address")
    service = await client.patch(
        f"/api/v1/services/{SHELTER}", json={"description": "beds\x00"}, headers=coordinator
    )
    assert_problem(service, 400, "$.description")
    webhook = await client.post(
        "/api/v1/webhooks",
        json={"url": "https://example.org/hook\x00", "event_types": ["*"]},
        headers=coordinator,
    )
    assert_problem(webhook, 400, "$.url")
    # Inside a list, and in a member name (an unknown field all the same).
    referral = await client.post(
        "/api/v1/referrals",
        json=referral_body(needs=[{"code": "ACC.EMERG"}, {"code": "LEGAL.AID\x00"}]),
        headers={**coordinator, **idem()},
    )
    assert referral.status_code == 400
    assert referral.json()["field"] == "$.needs[1].code"
    member = await client.post(
        "/api/v1/organizations",
        json={"participant": "RS", "name": "Safe House", "kind": "cso", "x\x00": 1},
        headers=coordinator,
    )
    assert member.status_code == 400
    assert member.json()["field"].startswith("$[")
    names = await client.get("/api/v1/organizations?participant=RS&limit=200", headers=coordinator)
    assert all("\x00" not in o["name"] for o in names.json()["organizations"])


# -- JSON nested 1,000 deep, invalid UTF-8 --


async def test_json_nested_a_thousand_deep_is_a_bad_request(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="police RS")
    json_headers = {**officer, "Content-Type": "application/json"}
    whole = await client.post(
        "/api/v1/match/suggestions", content=nested(DEEP), headers=json_headers
    )
    assert_problem(whole, 400, "$")
    inside = await client.post(
        "/api/v1/match/suggestions",
        content='{"needs": ' + nested(DEEP) + "}",
        headers=json_headers,
    )
    assert_problem(inside, 400, "$.needs[0]")
    referral = await client.post(
        "/api/v1/referrals",
        content='{"needs": [{"code": ' + nested(DEEP) + "}]}",
        headers={**json_headers, **idem()},
    )
    assert_problem(referral, 400, "$.needs[0].code")
    # A body that does not reach a handler's type: a route that reads none.
    no_body = await client.post(
        f"/api/v1/referrals/{uuid.uuid4()}/suggestions",
        content=nested(DEEP),
        headers={**json_headers, **idem()},
    )
    assert no_body.status_code == 404


async def test_a_360giving_upload_nested_a_thousand_deep_is_a_bad_request(
    client: Client, demo_db: str
) -> None:
    admin = await make_token(demo_db, "admin", "MARRI")
    grant = '{"id": "G-1", "title": ' + nested(DEEP) + "}"
    response = await client.post(
        "/api/v1/funding/imports?format=360giving",
        content='{"grants": [' + grant + "]}",
        headers=admin,
    )
    body = assert_problem(response, 400, "$.grants[0].title")
    assert "nested deeper" in body["detail"]
    nul = await client.post(
        "/api/v1/funding/imports?format=360giving",
        content='{"grants": [{"id": "G-1", "title": "Beds\\u0000"}]}',
        headers=admin,
    )
    assert_problem(nul, 400, "$.grants[0].title")


async def test_invalid_utf8_in_a_body_is_a_bad_request(client: Client, demo_db: str) -> None:
    coordinator = await make_token(demo_db, "coordinator")
    response = await client.post(
        "/api/v1/organizations",
        content=b'{"participant": "RS", "kind": "cso", "name": "Sigurna ku\xe6a"}',
        headers={**coordinator, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 400, "$.name")
    assert "UTF-8" in body["detail"]
    upload = await client.post(
        "/api/v1/funding/imports?format=360giving",
        content=b'{"grants": [{"id": "G-\xff"}]}',
        headers=await make_token(demo_db, "admin", "MARRI"),
    )
    assert_problem(upload, 400, "$.grants[0].id")


# -- strict types --


async def test_a_numeric_string_is_not_an_integer(client: Client, demo_db: str) -> None:
    provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
    read = await client.get(f"/api/v1/services/{SHELTER}/capacity", headers=provider)
    etag = read.headers["etag"]
    for field, body in (
        ("$.maximum", {"maximum": "50", "available": 3}),
        ("$.available", {"maximum": 50, "available": "3"}),
        ("$.available", {"maximum": 50, "available": 3.0}),
    ):
        response = await client.put(
            f"/api/v1/services/{SHELTER}/capacity",
            json=body,
            headers={**provider, "If-Match": etag},
        )
        assert_problem(response, 400, field)
    after = await client.get(f"/api/v1/services/{SHELTER}/capacity", headers=provider)
    assert after.json() == read.json()


async def test_a_missing_body_and_a_wrong_shape_name_the_field(
    client: Client, demo_db: str
) -> None:
    coordinator = await make_token(demo_db, "coordinator")
    empty = await client.post("/api/v1/organizations", headers=coordinator)
    assert_problem(empty, 400, "$")
    missing = await client.post(
        "/api/v1/organizations", json={"participant": "RS", "kind": "cso"}, headers=coordinator
    )
    assert_problem(missing, 400, "$.name")
    unknown = await client.post(
        "/api/v1/organizations",
        json={"participant": "RS", "kind": "cso", "name": "Safe House", "beds": 3},
        headers=coordinator,
    )
    assert_problem(unknown, 400, "$.beds")


# -- query parameters, on every route --


def _routes(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods:
                # /schema itself declares no access policy: 403 to everyone, before anything.
                if method not in ("OPTIONS", "HEAD") and route.path != "/schema":
                    found.append((method, route.path, handler))
    return found


def _concrete(path: str) -> str:
    path = re.sub(r"\{\w+:uuid\}", str(uuid.uuid4()), path)
    path = re.sub(r"\{\w+:path\}", "app.css", path)
    return re.sub(r"\{\w+(:\w+)?\}", "x", path)


async def test_every_route_refuses_an_unknown_query_parameter(client: Client, demo_db: str) -> None:
    tokens: dict[str, dict[str, str]] = {}
    routes = _routes(client.app)
    assert len(routes) > 50
    for method, path, handler in routes:
        allowed = handler.opt.get("roles")
        headers: dict[str, str] = {}
        if allowed != "public" and not path.startswith("/schema"):
            role = "admin" if "admin" in allowed else allowed[0]
            if role not in tokens:
                org = SHELTER_ORG if role == "provider" else None
                tokens[role] = await make_token(demo_db, role, org=org)
            headers = {**tokens[role], **idem()}
        response = await client.request(
            method, _concrete(path) + "?aera=RS", headers=headers, json={}
        )
        assert response.status_code == 400, (method, path, response.text)
        assert response.json()["field"] == "query.aera", (method, path)


async def test_declared_parameters_still_work_and_name_their_field(
    client: Client, demo_db: str
) -> None:
    officer = await make_token(demo_db, "officer")
    ok = await client.get("/api/v1/areas?q=beo&limit=5", headers=officer)
    assert ok.status_code == 200
    codes = await client.get(f"/api/v1/areas?code={BELGRADE}&code=RS-787657", headers=officer)
    assert len(codes.json()) == 2
    twice = await client.get("/api/v1/areas?q=beo&q=nis", headers=officer)
    assert_problem(twice, 400, "query.q")
    assert_problem(await client.get("/api/v1/areas?limit=x", headers=officer), 400, "query.limit")
    # An alias: the parameter is sent as "state", named so.
    state = await client.get(
        "/api/v1/referrals?state=lost", headers=await token(demo_db, "coordinator")
    )
    assert_problem(state, 400, "query.state")
    page = await client.get("/refer?referral=" + str(uuid.uuid4()))
    assert page.status_code == 200
    assert_problem(await client.get("/find?referral=1"), 400, "query.referral")


# -- ETags, timestamps --


async def test_get_sends_the_etag_that_patch_checks(client: Client, demo_db: str) -> None:
    provider = await make_token(demo_db, "provider", org=SHELTER_ORG)
    for path, change in (
        (f"/api/v1/organizations/{SHELTER_ORG}", {"survivor_led": True}),
        (f"/api/v1/services/{SHELTER}", {"intake_24_7": True}),
    ):
        read = await client.get(path, headers=provider)
        etag = read.headers["etag"]
        assert etag == f'"{read.json()["version"]}"'
        first = await client.patch(path, json=change, headers={**provider, "If-Match": etag})
        assert first.status_code == 200, first.text
        assert first.headers["etag"] != etag
        assert first.headers["etag"] == (await client.get(path, headers=provider)).headers["etag"]
        stale = await client.patch(path, json=change, headers={**provider, "If-Match": etag})
        assert_problem(stale, 412, "header.If-Match")


async def test_a_timestamp_needs_its_zone_and_a_sane_year(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="police RS")
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).replace(microsecond=0)
    naive = await client.post(
        "/api/v1/referrals",
        json=referral_body(needed_by=later.replace(tzinfo=None).isoformat()),
        headers={**officer, **idem()},
    )
    body = assert_problem(naive, 400, "$.needed_by")
    assert "zone" in body["detail"]
    consent = referral_body()["consent"]
    for at in ("0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "1900-01-01T00:00:00Z"):
        out_of_range = await client.post(
            "/api/v1/referrals",
            json=referral_body(consent={**consent, "at": at}),
            headers={**officer, **idem()},
        )
        assert_problem(out_of_range, 422, "$.consent.at")
    made = await client.post(
        "/api/v1/referrals",
        json=referral_body(
            needed_by=later.astimezone(dt.timezone(dt.timedelta(hours=2))).isoformat()
        ),
        headers={**officer, **idem()},
    )
    assert made.status_code == 201, made.text
    assert dt.datetime.fromisoformat(made.json()["needed_by"]) == later
    _assert_zoned(made.json())
    read = await client.get(f"/api/v1/referrals/{made.json()['id']}", headers=officer)
    _assert_zoned(read.json())


async def test_every_timestamp_is_returned_with_its_zone(client: Client, demo_db: str) -> None:
    coordinator = await make_token(demo_db, "coordinator")
    for path in (
        f"/api/v1/services/{SHELTER}/capacity",
        f"/api/v1/services/{SHELTER}",
        "/api/v1/services?limit=50",
        "/api/v1/offers/escalated",
        "/api/v1/referrals",
    ):
        response = await client.get(path, headers=coordinator)
        assert response.status_code == 200, (path, response.text)
        assert _assert_zoned(response.json()) or path.endswith(("escalated", "referrals")), path


_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _assert_zoned(value: Any) -> int:
    """Assert every ISO timestamp in a JSON value carries a zone; how many there were."""
    if isinstance(value, dict):
        return sum(_assert_zoned(v) for v in value.values())
    if isinstance(value, list):
        return sum(_assert_zoned(v) for v in value)
    if isinstance(value, str) and _TIMESTAMP.match(value):
        assert dt.datetime.fromisoformat(value).tzinfo is not None, value
        return 1
    return 0


# -- the OpenAPI document --


async def test_the_openapi_document_declares_the_problem_answers(client: Client) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    operations = [
        (method, path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    ]
    assert len(operations) > 45
    for method, path, op in operations:
        responses = op["responses"]
        assert "400" in responses, (method, path)
        public = path in ("/healthz", "/readyz", "/api/v1/feedback")
        for status in ("401", "403", "503") if not public else ():
            content = responses[status]["content"]
            assert list(content) == [PROBLEM], (method, path, status)
            assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}
        if any(p["name"] == "If-Match" for p in op.get("parameters", [])):
            assert {"412", "428"} <= set(responses), (method, path)
    put = document["paths"]["/api/v1/services/{service_id}/capacity"]["put"]
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in put["parameters"])
    assert document["paths"]["/readyz"]["get"]["responses"]["503"]["content"]["application/json"]
