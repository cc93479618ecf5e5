"""Every POST route of the app honours an Idempotency-Key: a retry replays, changes nothing.

The routes are read from the app itself, so a POST route added later without a case here
fails ``test_every_post_route_has_a_case``; each case makes the route act for real (2xx),
then the same request with the same key must answer the same status, body and ETag with
``Idempotent-Replayed: true`` and leave every table of the database as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.settings import Settings
from tests.api.conftest import make_token
from tests.api.referral_factories import idem, referral_body, service_with_free_places, token
from tests.api.test_feedback import _in_service
from tests.api.test_funding_api import demo_org, record
from tests.api.test_gaps_api import _biggest_funder
from tests.api.test_licences import licence_body
from tests.api.test_match_batch import person
from tests.api.test_match_surge import surge_body
from tests.api.test_registry_api import SHELTER_ORG, Client
from tests.api.test_registry_writes import NEW_ORG, _location_of, service_body


class Call(msgspec.Struct, kw_only=True):
    """One POST: who, where, what."""

    headers: dict[str, str]
    path: str
    json: Any = None
    content: bytes | None = None
    params: dict[str, str] | None = None


Case = Callable[[Client, str], Awaitable[Call]]


async def _ok(client: Client, path: str, headers: dict[str, str], body: Any = None) -> Any:
    answer = await client.post(path, json=body, headers=headers | idem())
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


async def _referral(client: Client, officer: dict[str, str], *steps: str, **body: Any) -> str:
    """A referral of ``officer``, taken through ``steps`` ("submitted", "matched")."""
    ref = await _ok(client, "/api/v1/referrals", officer, referral_body(**body))
    path = f"/api/v1/referrals/{ref['id']}"
    if "submitted" in steps:
        await _ok(client, f"{path}/transitions", officer, {"to": "submitted"})
    if "matched" in steps:
        await _ok(client, f"{path}/suggestions", officer)
    return str(ref["id"])


async def _hold(client: Client, db: str) -> tuple[str, dict[str, str]]:
    """An open offer (hold) and the headers of its provider."""
    service_id, org_id = await service_with_free_places(db, 3)
    officer = await token(db, "officer", agency="RS police")
    ref = await _referral(client, officer, "submitted", "matched")
    hold = await _ok(
        client, f"/api/v1/referrals/{ref}/holds", officer, {"service_id": str(service_id)}
    )
    return hold["id"], await token(db, "provider", org=org_id)


async def _organization(client: Client, db: str) -> Call:
    return Call(headers=await make_token(db, "coordinator", "RS"), path="/api/v1/organizations",
                json=NEW_ORG)  # fmt: skip


async def _agency(client: Client, db: str) -> Call:
    return Call(
        headers=await make_token(db, "coordinator", "RS"), path="/api/v1/agencies",
        json={"jurisdiction": "RS", "name": "Police, Kragujevac (demo)",
              "duty_phone": "+381 34 555 0100"},
    )  # fmt: skip


async def _location(client: Client, db: str) -> Call:
    return Call(
        headers=await make_token(db, "coordinator", "RS"),
        path=f"/api/v1/organizations/{SHELTER_ORG}/locations",
        json={"name": "Second site", "area": "RS-787657", "latitude": 43.32, "longitude": 21.9},
    )


async def _service(client: Client, db: str) -> Call:
    body = service_body(str(SHELTER_ORG), await _location_of(db))
    return Call(headers=await make_token(db, "coordinator", "RS"), path="/api/v1/services",
                json=body)  # fmt: skip


async def _webhook(client: Client, db: str) -> Call:
    return Call(
        headers=await make_token(db, "coordinator", "RS"),
        path="/api/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["referral.*"]},
    )


def _profile() -> dict[str, Any]:
    return {k: v for k, v in referral_body().items() if k != "consent"}


async def _suggestions(client: Client, db: str) -> Call:
    return Call(headers=await make_token(db, "officer"), path="/api/v1/match/suggestions",
                json=_profile() | {"needs": [{"code": "ACC.CHILD", "priority": "must"}],
                                   "age_band": "60+"})  # fmt: skip


async def _batch(client: Client, db: str) -> Call:
    return Call(headers=await make_token(db, "officer", "BA"), path="/api/v1/match/batch",
                json={"people": [person("p1"), person("p2")]})  # fmt: skip


async def _surge(client: Client, db: str) -> Call:
    return Call(headers=await token(db, "officer", "BA", agency="BA police"),
                path="/api/v1/match/surge", json=surge_body())  # fmt: skip


async def _create_referral(client: Client, db: str) -> Call:
    return Call(headers=await token(db, "officer", agency="RS police"),
                path="/api/v1/referrals", json=referral_body())  # fmt: skip


async def _transition(client: Client, db: str) -> Call:
    officer = await token(db, "officer", agency="RS police")
    ref = await _referral(client, officer)
    return Call(headers=officer, path=f"/api/v1/referrals/{ref}/transitions",
                json={"to": "submitted"})  # fmt: skip


async def _away(client: Client, db: str) -> tuple[str, dict[str, str]]:
    """A matched RS -> AL return with its TRM record, and the headers of AL's coordinator."""
    officer = await token(db, "officer", agency="RS police")
    consent = {"given": True, "method": "verbal", "scope": ["referral", "cross_border"],
               "at": dt.datetime.now(dt.UTC).isoformat()}  # fmt: skip
    ref = await _referral(
        client, officer, "submitted", "matched", needs=[{"code": "RET.VOLUNTARY"}],
        receiving_participant="AL", nationality="AL", consent=consent,
    )  # fmt: skip
    put = await client.put(f"/api/v1/referrals/{ref}/transnational", json={}, headers=officer)
    assert put.status_code == 200, put.text
    return ref, await token(db, "coordinator", "AL")


async def _receiving_decline(client: Client, db: str) -> Call:
    ref, albania = await _away(client, db)
    return Call(headers=albania, path=f"/api/v1/referrals/{ref}/decline",
                json={"reason": "no_capacity"})  # fmt: skip


async def _trm_step(client: Client, db: str) -> Call:
    ref, albania = await _away(client, db)
    return Call(headers=albania, path=f"/api/v1/referrals/{ref}/transnational/steps",
                json={"code": "documents", "status": "done",
                      "date": dt.datetime.now(dt.UTC).date().isoformat()})  # fmt: skip


async def _referral_suggestions(client: Client, db: str) -> Call:
    officer = await token(db, "officer", agency="RS police")
    ref = await _referral(client, officer, "submitted")
    return Call(headers=officer, path=f"/api/v1/referrals/{ref}/suggestions")


async def _referral_hold(client: Client, db: str) -> Call:
    service_id, _ = await service_with_free_places(db, 3)
    officer = await token(db, "officer", agency="RS police")
    ref = await _referral(client, officer, "submitted", "matched")
    return Call(headers=officer, path=f"/api/v1/referrals/{ref}/holds",
                json={"service_id": str(service_id)})  # fmt: skip


async def _plan(client: Client, db: str) -> Call:
    shelter, _ = await service_with_free_places(db, 3)
    legal, _ = await service_with_free_places(db, 3, code="LEGAL.AID")
    officer = await token(db, "officer", agency="RS police")
    needs = [{"code": "ACC.EMERG", "priority": "must"}, {"code": "LEGAL.AID", "priority": "must"}]
    ref = await _referral(client, officer, "submitted", "matched", needs=needs)
    return Call(headers=officer, path=f"/api/v1/referrals/{ref}/plan",
                json={"needs": [{"index": 0, "service_id": str(shelter)},
                                {"index": 1, "service_id": str(legal)}]})  # fmt: skip


async def _override_approval(client: Client, db: str) -> Call:
    requester = await token(db, "coordinator")
    ref = await _referral(
        client, requester, consent=None,
        consent_override={"reason": "imminent_danger", "scope": ["referral"]},
    )  # fmt: skip
    return Call(headers=await token(db, "coordinator"),
                path=f"/api/v1/referrals/{ref}/override-approval")  # fmt: skip


async def _child_sign_off(client: Client, db: str) -> Call:
    officer = await token(db, "officer", agency="RS police")
    guardian = dt.datetime.now(dt.UTC).isoformat()
    ref = await _referral(
        client, officer, "submitted", age_band="14-17", guardian_status="appointed",
        consent={"given": True, "method": "guardian", "scope": ["referral"], "at": guardian},
    )  # fmt: skip
    return Call(headers=await token(db, "coordinator"),
                path=f"/api/v1/referrals/{ref}/child-sign-off")  # fmt: skip


async def _accept(client: Client, db: str) -> Call:
    hold, provider = await _hold(client, db)
    return Call(headers=provider, path=f"/api/v1/offers/{hold}/accept")


async def _decline(client: Client, db: str) -> Call:
    hold, provider = await _hold(client, db)
    return Call(headers=provider, path=f"/api/v1/offers/{hold}/decline",
                json={"reason": "no_capacity"})  # fmt: skip


async def _feedback_code(client: Client, db: str) -> Call:
    ref, officer, _ = await _in_service(client, db)
    return Call(headers=officer, path=f"/api/v1/referrals/{ref}/feedback-code", json={"need": 0})


async def _funding(client: Client, db: str) -> Call:
    org = await demo_org(db)
    return Call(headers=await make_token(db, "admin", "MARRI"), path="/api/v1/funding",
                json=record(recipient_id=str(org["id"])))  # fmt: skip


async def _funding_import(client: Client, db: str) -> Call:
    org = await demo_org(db, "BA")
    csv = (
        "#org+funder,#org+impl,#org+impl+code,#value,#currency,#date+start,#date+end,#activity+id\n"
        f"Marigold Foundation,{org['name']},{org['registration_number']},500,BAM,2025-01-01,"
        "2025-12-31,UP-1\n"
    ).encode()
    return Call(headers=await make_token(db, "coordinator", "BA"),
                path="/api/v1/funding/imports", content=csv,
                params={"filename": "grants.csv"})  # fmt: skip


async def _review(client: Client, db: str) -> tuple[str, dict[str, str]]:
    admin = await make_token(db, "admin", "MARRI")
    await _ok(client, "/api/v1/funding", admin, record())
    (review,) = (await client.get("/api/v1/funding/matches", headers=admin)).json()
    return review["id"], admin


async def _confirm_match(client: Client, db: str) -> Call:
    review, admin = await _review(client, db)
    org = await demo_org(db, "AL")
    return Call(headers=admin, path=f"/api/v1/funding/matches/{review}/confirm",
                json={"organization_id": str(org["id"])})  # fmt: skip


async def _reject_match(client: Client, db: str) -> Call:
    review, admin = await _review(client, db)
    return Call(headers=admin, path=f"/api/v1/funding/matches/{review}/reject")


async def _what_if(client: Client, db: str) -> Call:
    return Call(headers=await make_token(db, "funder", "RS"), path="/api/v1/gaps/what-if",
                json={"remove_funder": await _biggest_funder(db, "RS")})  # fmt: skip


async def _allocate(client: Client, db: str) -> Call:
    return Call(headers=await make_token(db, "funder", "RS"), path="/api/v1/gaps/allocate",
                json={"budget": 50000, "currency": "EUR", "time_limit_s": 1})  # fmt: skip


async def _add_licence(client: Client, db: str) -> Call:
    coord = await make_token(db, "coordinator", "RS")
    url = f"/api/v1/organizations/{SHELTER_ORG}/licences"
    return Call(headers=coord, path=url, json=licence_body())


def _licence_change(action: str, body: Any = None) -> Case:
    """A case that adds a licence, then changes it (``renew``, ``suspend``...)."""

    async def case(client: Client, db: str) -> Call:
        coord = await make_token(db, "coordinator", "RS")
        url = f"/api/v1/organizations/{SHELTER_ORG}/licences"
        lic = await _ok(client, url, coord, licence_body())
        if action == "reinstate":
            await _ok(client, f"{url}/{lic['id']}/suspend", coord | {"If-Match": '"1"'},
                      {"reason": "other"})  # fmt: skip
        version = '"2"' if action == "reinstate" else '"1"'
        return Call(headers=coord | {"If-Match": version}, path=f"{url}/{lic['id']}/{action}",
                    json=body)  # fmt: skip

    return case


#: Every POST route of the app (as Litestar declares its path) and how to make it act.
CASES: dict[str, Case] = {
    "/api/v1/organizations": _organization,
    "/api/v1/agencies": _agency,
    "/api/v1/organizations/{org_id:uuid}/locations": _location,
    "/api/v1/services": _service,
    "/api/v1/webhooks": _webhook,
    "/api/v1/match/suggestions": _suggestions,
    "/api/v1/match/batch": _batch,
    "/api/v1/match/surge": _surge,
    "/api/v1/referrals": _create_referral,
    "/api/v1/referrals/{referral_id:uuid}/transitions": _transition,
    "/api/v1/referrals/{referral_id:uuid}/suggestions": _referral_suggestions,
    "/api/v1/referrals/{referral_id:uuid}/holds": _referral_hold,
    "/api/v1/referrals/{referral_id:uuid}/plan": _plan,
    "/api/v1/referrals/{referral_id:uuid}/override-approval": _override_approval,
    "/api/v1/referrals/{referral_id:uuid}/child-sign-off": _child_sign_off,
    "/api/v1/referrals/{referral_id:uuid}/decline": _receiving_decline,
    "/api/v1/referrals/{referral_id:uuid}/transnational/steps": _trm_step,
    "/api/v1/offers/{offer_id:uuid}/accept": _accept,
    "/api/v1/offers/{offer_id:uuid}/decline": _decline,
    "/api/v1/funding": _funding,
    "/api/v1/funding/imports": _funding_import,
    "/api/v1/funding/matches/{review_id:uuid}/confirm": _confirm_match,
    "/api/v1/funding/matches/{review_id:uuid}/reject": _reject_match,
    "/api/v1/gaps/what-if": _what_if,
    "/api/v1/gaps/allocate": _allocate,
    "/api/v1/referrals/{referral_id:uuid}/feedback-code": _feedback_code,
    "/api/v1/organizations/{org_id:uuid}/licences": _add_licence,
    "/api/v1/organizations/{org_id:uuid}/licences/{licence_id:uuid}/renew": _licence_change(
        "renew", {"valid_to": "2031-12-31"}
    ),
    "/api/v1/organizations/{org_id:uuid}/licences/{licence_id:uuid}/suspend": _licence_change(
        "suspend", {"reason": "inspection_failed"}
    ),
    "/api/v1/organizations/{org_id:uuid}/licences/{licence_id:uuid}/revoke": _licence_change(
        "revoke", {"reason": "closed"}
    ),
    "/api/v1/organizations/{org_id:uuid}/licences/{licence_id:uuid}/reinstate": _licence_change(
        "reinstate"
    ),
}
#: POST routes without a key: the public feedback answer (its code makes it happen once; a
#: second use is refused, tests/api/test_feedback.py).
UNKEYED = frozenset({"/api/v1/feedback"})
#: Fields a replay answers as null: a secret the first answer shows once and nothing keeps.
SHOWN_ONCE = {"/api/v1/referrals/{referral_id:uuid}/feedback-code": ("code", "link", "qr_svg")}


def _settings(db: str) -> Settings:
    # No background work that could write between the two snapshots: no dispatcher, no
    # purge, the sweeper once an hour; http:// and private webhook URLs for a local receiver.
    return Settings(
        database_url=db, pool_min_size=1, pool_max_size=4, dispatch_interval_s=0,
        purge_interval_hours=0, sweep_seconds=3600, webhook_allow_http=True,
        webhook_allow_private=True,
    )  # fmt: skip


@pytest.fixture
async def quiet_client(demo_db: str) -> AsyncIterator[Client]:
    """The app on the demo database, with no background writer."""
    async with AsyncTestClient(app=create_app(_settings(demo_db), demo_db)) as test_client:
        yield test_client


def test_every_post_route_has_a_case() -> None:
    app = create_app(_settings("postgresql://unused"), "postgresql://unused")
    posts = {
        route.path
        for route in app.routes
        if isinstance(route, HTTPRoute) and "POST" in route.methods
    }
    assert posts - CASES.keys() - UNKEYED == set(), "add a case for each new POST route"
    assert CASES.keys() - posts == set()


async def _snapshot(db: str) -> dict[str, str]:
    """A digest of every table's rows (names come from the catalogue, not from input)."""
    conn = await asyncpg.connect(db)
    try:
        tables = await conn.fetch(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
        digests = {}
        for row in tables:
            name = row["table_name"]
            rows = await conn.fetch(f'SELECT t::text AS r FROM "{name}" t')
            text = "\n".join(sorted(r["r"] for r in rows))
            digests[name] = hashlib.sha256(text.encode()).hexdigest()
        return digests
    finally:
        await conn.close()


@pytest.mark.parametrize("route", sorted(CASES))
async def test_a_retry_with_the_same_key_replays_and_changes_nothing(
    quiet_client: Client, demo_db: str, route: str
) -> None:
    call = await CASES[route](quiet_client, demo_db)
    headers = call.headers | {"Idempotency-Key": str(uuid.uuid4())}

    async def post() -> Any:
        return await quiet_client.post(
            call.path, json=call.json, content=call.content, params=call.params, headers=headers
        )

    first = await post()
    assert 200 <= first.status_code < 300, first.text
    assert "idempotent-replayed" not in first.headers
    before = await _snapshot(demo_db)
    again = await post()
    after = await _snapshot(demo_db)
    assert again.status_code == first.status_code
    secret = SHOWN_ONCE.get(route, ())
    assert again.json() == first.json() | dict.fromkeys(secret)
    assert all(first.json()[name] for name in secret)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers.get("etag") == first.headers.get("etag")
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == [], f"a replay of POST {route} changed {changed}"
