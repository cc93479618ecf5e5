"""Every route that returns referral data, called as every role, answers only the fields the
allow-lists of docs/referrals.md ("Fields each role receives") give that role.

The allow-lists are read from the document itself, so the document and the code cannot
drift: a field added to a view fails here until the document lists it for the roles that may
see it. Every API route is classified as carrying referral data or not; a new route fails
until it is classified (and, if it carries referral data, called below).

The story: an officer refers a person for two needs (nationality, excluded and preferred areas,
minimum distance, consent); provider P declines the first offer (a single hold); the officer
books the need again with a care plan; provider Q accepts, the officer confirms, Q starts the
service, the officer leaves the second need unmet, and Q closes the placement. A second
referral asks for a consent override (approved by a coordinator), a child's referral is signed
off by a second person, and another has an offer that expires and is escalated. At every step
the same call is made as every caller, and every reading route is called as every caller.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import pytest
import uvicorn

from csomatch.app import create_app
from csomatch.referrals.sweeper import sweep
from csomatch.settings import Settings
from tests.api.referral_factories import referral_body, service_with_free_places, token

DOC = Path(__file__).resolve().parents[2] / "docs" / "referrals.md"
ROLES = ("officer", "coordinator", "admin", "provider", "funder")

#: Routes whose answers carry referral data (each is called below as every caller).
REFERRAL_ROUTES = {
    ("POST", "/api/v1/referrals"),
    ("GET", "/api/v1/referrals"),
    ("GET", "/api/v1/referrals/{referral_id:uuid}"),
    ("POST", "/api/v1/referrals/{referral_id:uuid}/transitions"),
    ("POST", "/api/v1/referrals/{referral_id:uuid}/suggestions"),
    ("POST", "/api/v1/referrals/{referral_id:uuid}/holds"),
    ("POST", "/api/v1/referrals/{referral_id:uuid}/plan"),
    ("POST", "/api/v1/referrals/{referral_id:uuid}/override-approval"),
    ("POST", "/api/v1/referrals/{referral_id:uuid}/child-sign-off"),
    ("GET", "/api/v1/referrals/{referral_id:uuid}/access-log"),
    ("GET", "/api/v1/offers"),
    ("POST", "/api/v1/offers/{offer_id:uuid}/accept"),
    ("POST", "/api/v1/offers/{offer_id:uuid}/decline"),
    ("GET", "/api/v1/offers/escalated"),
    ("GET", "/api/v1/events"),
    ("GET", "/api/v1/events/stream"),
    ("GET", "/api/v1/webhooks/{sub_id:uuid}/deliveries"),
    ("GET", "/api/v1/outcomes"),
    ("GET", "/api/v1/coordination/referrals"),
    ("GET", "/api/v1/coordination/approvals"),
    # transnational referrals (issue 14): the receiving side's decline, the TRM record
    ("POST", "/api/v1/referrals/{referral_id:uuid}/decline"),
    ("GET", "/api/v1/referrals/{referral_id:uuid}/transnational"),
    ("PUT", "/api/v1/referrals/{referral_id:uuid}/transnational"),
    ("POST", "/api/v1/referrals/{referral_id:uuid}/transnational/steps"),
}
#: Routes that carry no referral data: the registry, the caller's own matcher profile (never
#: stored), funding, gap aggregates (docs/gaps.md), webhook settings, pages and health.
OTHER_ROUTES = {
    ("GET", "/healthz"), ("GET", "/readyz"),
    ("GET", "/api/v1/organizations"), ("POST", "/api/v1/organizations"),
    ("GET", "/api/v1/organizations/{org_id:uuid}"),
    ("PATCH", "/api/v1/organizations/{org_id:uuid}"),
    ("POST", "/api/v1/organizations/{org_id:uuid}/locations"),
    ("GET", "/api/v1/organizations/{org_id:uuid}/acceptance-record"),  # counts per quarter
    ("GET", "/api/v1/agencies"), ("POST", "/api/v1/agencies"),
    ("GET", "/api/v1/agencies/{agency_id:uuid}"), ("PATCH", "/api/v1/agencies/{agency_id:uuid}"),
    ("DELETE", "/api/v1/agencies/{agency_id:uuid}"),
    # the placed service's contacts, no referral data (tests/api/test_handover.py)
    ("GET", "/api/v1/referrals/{referral_id:uuid}/handover"),
    ("GET", "/api/v1/services"), ("POST", "/api/v1/services"),
    ("GET", "/api/v1/services/search"), ("GET", "/api/v1/services/{service_id:uuid}"),
    ("PATCH", "/api/v1/services/{service_id:uuid}"),
    ("GET", "/api/v1/services/{service_id:uuid}/capacity"),
    ("PUT", "/api/v1/services/{service_id:uuid}/capacity"),
    ("GET", "/api/v1/areas"), ("GET", "/api/v1/me"), ("GET", "/api/v1/taxonomy"),
    ("POST", "/api/v1/match/suggestions"), ("POST", "/api/v1/match/batch"),
    # A surge answers the booking officer or coordinator only: the plan, and per person the
    # new referral's id and its holds (no referral body), as the batch answers its plan.
    ("POST", "/api/v1/match/surge"),
    ("GET", "/api/v1/early-warnings"), ("GET", "/i18n/{name:str}"),
    ("GET", "/api/v1/webhooks"), ("POST", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks/{sub_id:uuid}"), ("DELETE", "/api/v1/webhooks/{sub_id:uuid}"),
    ("GET", "/api/v1/gaps"), ("GET", "/api/v1/gaps.csv"), ("GET", "/api/v1/gaps/{cell:str}"),
    ("POST", "/api/v1/gaps/what-if"), ("POST", "/api/v1/gaps/allocate"),
    ("GET", "/api/v1/funding"), ("POST", "/api/v1/funding"),
    ("POST", "/api/v1/funding/imports"), ("GET", "/api/v1/funding/imports/{import_id:uuid}"),
    ("GET", "/api/v1/funding/matches"), ("GET", "/api/v1/funding/rates"),
    ("POST", "/api/v1/funding/matches/{review_id:uuid}/confirm"),
    ("POST", "/api/v1/funding/matches/{review_id:uuid}/reject"),
    ("GET", "/"), ("GET", "/find"), ("GET", "/refer"), ("GET", "/referrals"), ("GET", "/capacity"),
    ("GET", "/offers"), ("GET", "/registry"), ("GET", "/gaps"),
    ("GET", "/static/{file_path:path}"),
    ("GET", "/schema"), ("GET", "/schema/openapi.json"), ("GET", "/schema/{path:str}"),
    # the time limits per state and urgency (docs/coordination.md), the console's page
    ("GET", "/api/v1/coordination/time-limits"), ("PUT", "/api/v1/coordination/time-limits"),
    ("GET", "/coordination"),
    # licences: registry data, no referral data (tests/api/test_licences.py)
    ("GET", "/api/v1/licences"), ("GET", "/api/v1/organizations/{org_id:uuid}/licences"),
    ("POST", "/api/v1/organizations/{org_id:uuid}/licences"),
    ("GET", "/api/v1/organizations/{org_id:uuid}/licences/{licence_id:uuid}"),
    ("POST", "/api/v1/organizations/{org_id:uuid}/licences/{licence_id:uuid}/renew"),
    ("POST", "/api/v1/organizations/{org_id:uuid}/licences/{licence_id:uuid}/suspend"),
    ("POST", "/api/v1/organizations/{org_id:uuid}/licences/{licence_id:uuid}/revoke"),
    ("POST", "/api/v1/organizations/{org_id:uuid}/licences/{licence_id:uuid}/reinstate"),
    ("GET", "/licences"),
    # the survivor's voice: a one-time code and its link (no referral field; the referral is
    # only the issuer's check), the public answer, aggregates of closed quarters
    # (tests/api/test_feedback.py), and their pages
    ("POST", "/api/v1/referrals/{referral_id:uuid}/feedback-code"),
    ("POST", "/api/v1/feedback"), ("GET", "/api/v1/feedback/summary"),
    ("GET", "/feedback"), ("GET", "/feedback/{code:str}"), ("GET", "/feedback-card"),
    ("GET", "/feedback-summary"),
    # who pays: money and case counts per code (suppressed), no referral data
    # (tests/api/test_financing.py)
    ("GET", "/api/v1/organizations/{org_id:uuid}/funding"), ("GET", "/api/v1/gaps/financing"),
    ("GET", "/funding"),
}  # fmt: skip


# --- the allow-lists, read from docs/referrals.md ------------------------------------------


class AllowLists(msgspec.Struct, frozen=True, kw_only=True):
    """The views (name -> field paths) and the views each role may receive."""

    views: dict[str, frozenset[str]]
    roles: dict[str, frozenset[str]]


def _table(text: str, marker: str) -> list[list[str]]:
    """The body rows of the table between ``<!-- marker:start -->`` and ``:end``."""
    found = re.search(f"<!-- {marker}:start -->(.*?)<!-- {marker}:end -->", text, re.S)
    assert found, f"docs/referrals.md has no {marker} table"
    rows = [line.strip() for line in found.group(1).splitlines() if line.strip().startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def _names(cell: str) -> frozenset[str]:
    return frozenset(re.findall(r"`([^`]+)`", cell))


def allow_lists() -> AllowLists:
    """The allow-lists as the document states them."""
    text = DOC.read_text("utf-8")
    views = {name.strip("`"): _names(fields) for name, fields in _table(text, "views")}
    roles = {role.strip("`"): _names(names) for role, names in _table(text, "roles")}
    for role, names in roles.items():
        assert names <= set(views), f"{role}: unknown views {sorted(names - set(views))}"
    assert set(roles) == set(ROLES)
    return AllowLists(views=views, roles=roles)


def paths_of(value: Any, maps: frozenset[str], prefix: str = "") -> set[str]:
    """Every field path of a JSON value: ``a.b``, ``a[].b`` for list items, ``a.*`` for the
    keys of a map (a path the view declares with ``.*``)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            name = "*" if prefix in maps else key
            path = f"{prefix}.{name}" if prefix else name
            out.add(path)
            out |= paths_of(item, maps, path)
    elif isinstance(value, list):
        for item in value:
            out |= paths_of(item, maps, prefix + "[]")
    return out


def fits(body: Any, allowed: AllowLists, role: str) -> str | None:
    """None when ``body`` holds only fields of one view ``role`` may receive; else why not."""
    best: tuple[int, str, set[str]] | None = None
    for view in sorted(allowed.roles[role]):
        fields = allowed.views[view]
        maps = frozenset(f[:-2] for f in fields if f.endswith(".*"))
        extra = paths_of(body, maps) - fields
        if not extra:
            return None
        if best is None or len(extra) < best[0]:
            best = (len(extra), view, extra)
    assert best is not None
    return f"{role} got {sorted(best[2])} (not in view {best[1]!r} nor any other of its views)"


def test_the_document_states_the_provider_never_sees_the_referrers_fields() -> None:
    allowed = allow_lists()
    for view in allowed.roles["provider"]:
        fields = allowed.views[view]
        for secret in ("nationality", "excluded_areas", "preferred_areas", "min_distance_km",
                       "consent", "offers[].organization_id", "profile"):  # fmt: skip
            assert not any(f == secret or f.endswith("." + secret) for f in fields), (view, secret)
    assert allowed.roles["funder"] <= {"outcomes", "problem"}


# --- the server and the callers --------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _settings(db: str) -> Settings:
    return Settings(
        database_url=db, pool_min_size=1, pool_max_size=4, dispatch_interval_s=0,
        events_poll_s=0.05, webhook_allow_private=True,
    )  # fmt: skip


@pytest.fixture
async def http(demo_db: str) -> AsyncIterator[httpx.AsyncClient]:
    """A real server (the event stream needs one) and a client of it."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(_settings(demo_db), demo_db), host="127.0.0.1", port=port,
            log_level="warning", lifespan="on",
        )
    )  # fmt: skip
    task = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            yield client
    finally:
        server.should_exit = True
        await task


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """A token and the role whose allow-list applies to it."""

    name: str
    role: str
    headers: dict[str, str]


class Calls:
    """Calls routes as callers and checks every answer against the caller's allow-list."""

    def __init__(self, http: httpx.AsyncClient, allowed: AllowLists) -> None:
        self.http = http
        self.allowed = allowed
        self.errors: list[str] = []
        self.succeeded: dict[tuple[str, str], set[str]] = defaultdict(set)

    def check(self, route: tuple[str, str], caller: Caller, response: httpx.Response) -> Any:
        assert route in REFERRAL_ROUTES, route
        if response.status_code >= 500:
            self.errors.append(f"{route} as {caller.name}: {response.status_code}")
            return None
        body = response.json()
        role = caller.role
        if response.status_code >= 400:
            extra = paths_of(body, frozenset()) - self.allowed.views["problem"]
            if extra:
                self.errors.append(f"{route} as {caller.name}: problem with {sorted(extra)}")
            return None
        self.succeeded[route].add(caller.name)
        why = fits(body, self.allowed, role)
        if why is not None:
            self.errors.append(f"{route[0]} {route[1]} as {caller.name}: {why}")
        return body

    async def get(self, route: str, path: str, caller: Caller) -> Any:
        response = await self.http.get(path, headers=caller.headers)
        return self.check(("GET", route), caller, response)

    async def post(self, route: str, path: str, caller: Caller, body: Any = None) -> Any:
        headers = caller.headers | {"Idempotency-Key": str(uuid.uuid4())}
        response = await self.http.post(path, json=body, headers=headers)
        return self.check(("POST", route), caller, response)

    async def put(self, route: str, path: str, caller: Caller, body: Any = None) -> Any:
        response = await self.http.put(path, json=body, headers=caller.headers)
        return self.check(("PUT", route), caller, response)

    async def post_as_all(
        self, route: str, path: str, callers: list[Caller], first: Caller, body: Any = None
    ) -> Any:
        """The call as ``first`` (which must succeed), then as every other caller."""
        answer = await self.post(route, path, first, body)
        assert answer is not None, f"{route} as {first.name} failed; see {self.errors}"
        for caller in callers:
            if caller is not first:
                await self.post(route, path, caller, body)
        return answer


async def _sql(db: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(db)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def _read_stream(
    http: httpx.AsyncClient, caller: Caller, count: int
) -> tuple[int, list[Any]]:
    """The status of the event stream from the start, and its first ``count`` events."""
    events: list[Any] = []
    async with http.stream(
        "GET", "/api/v1/events/stream?after=0", headers=caller.headers
    ) as response:
        if response.status_code != 200:
            await response.aread()
            return response.status_code, [response.json()]
        if count == 0:  # nothing to read; the stream itself never ends
            return 200, []
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                events.append(msgspec.json.decode(line[5:].strip()))
                if len(events) == count:
                    break
    return 200, events


# --- the test --------------------------------------------------------------------------------


async def test_every_route_with_referral_data_answers_each_role_only_its_allow_list(
    http: httpx.AsyncClient, demo_db: str
) -> None:
    app_routes = {
        (method, route.path)
        for route in create_app(_settings(demo_db), demo_db).routes
        for method in getattr(route, "methods", ())
        if method not in ("HEAD", "OPTIONS")
    }
    unclassified = app_routes - REFERRAL_ROUTES - OTHER_ROUTES
    assert not unclassified, f"classify these routes: {sorted(unclassified)}"
    assert app_routes >= REFERRAL_ROUTES

    allowed = allow_lists()
    calls = Calls(http, allowed)
    first_id, p_org = await service_with_free_places(demo_db, 4)
    second_id, q_org = await service_with_free_places(demo_db, 4, nth=1)
    third_id, _ = await service_with_free_places(demo_db, 4, code="ACC.SECURE")
    assert p_org != q_org
    [x_org] = await _sql(
        demo_db, "SELECT id FROM organization WHERE id <> ALL($1::uuid[]) ORDER BY id LIMIT 1",
        [p_org, q_org],
    )  # fmt: skip

    async def caller(name: str, role: str, jurisdiction: str = "RS", **kw: Any) -> Caller:
        return Caller(name=name, role=role, headers=await token(demo_db, role, jurisdiction, **kw))

    officer = await caller("officer", "officer", agency="RS police")
    coordinator = await caller("coordinator", "coordinator")
    admin = await caller("admin", "admin")
    funder = await caller("funder", "funder")
    provider_p = await caller("provider P (declines)", "provider", org=p_org)
    provider_q = await caller("provider Q (placed)", "provider", org=q_org)
    provider_x = await caller("provider of another organisation", "provider", org=x_org["id"])
    officer_al = await caller("officer of Albania", "officer", "AL", agency="AL police")
    coordinator_al = await caller("coordinator of Albania", "coordinator", "AL")
    regional = await caller("admin of MARRI", "admin", "MARRI")
    everyone = [
        officer, coordinator, admin, funder, provider_p, provider_q, provider_x, officer_al,
        coordinator_al, regional,
    ]  # fmt: skip

    # webhooks whose delivery logs are read back (as every caller)
    hooks: list[str] = []
    for owner in (provider_q, provider_p, coordinator):
        made = await http.post(
            "/api/v1/webhooks", headers=owner.headers,
            json={"url": "https://hooks.example.org/csomatch", "event_types": ["*"]},
        )  # fmt: skip
        assert made.status_code == 201, made.text
        hooks.append(made.json()["id"])

    areas = (await http.get("/api/v1/areas?participant=RS&q=n", headers=officer.headers)).json()
    far = [a["code"] for a in areas if a["code"] != "RS-792680"][:2]
    body = referral_body(
        needs=[{"code": "ACC.EMERG", "priority": "must"}, {"code": "DOC.ID", "priority": "should"}],
        nationality="AL", excluded_areas=[far[0]], preferred_areas=[far[1]], min_distance_km=20,
    )  # fmt: skip
    ref = await calls.post_as_all("/api/v1/referrals", "/api/v1/referrals", everyone, officer, body)
    ref_path = f"/api/v1/referrals/{ref['id']}"
    transitions = "/api/v1/referrals/{referral_id:uuid}/transitions"
    suggestions = "/api/v1/referrals/{referral_id:uuid}/suggestions"
    holds = "/api/v1/referrals/{referral_id:uuid}/holds"

    async def read_everything() -> None:
        """Every reading route with referral data, as every caller."""
        for c in everyone:
            await calls.get("/api/v1/referrals/{referral_id:uuid}", ref_path, c)
            await calls.get("/api/v1/referrals", "/api/v1/referrals", c)
            await calls.get("/api/v1/offers", "/api/v1/offers", c)
            await calls.get("/api/v1/offers/escalated", "/api/v1/offers/escalated", c)
            await calls.get(
                "/api/v1/referrals/{referral_id:uuid}/access-log", f"{ref_path}/access-log", c
            )
            await calls.get("/api/v1/events", "/api/v1/events?after=0&limit=500", c)
            await calls.get("/api/v1/outcomes", "/api/v1/outcomes", c)
            for console in ("/api/v1/coordination/referrals", "/api/v1/coordination/approvals"):
                await calls.get(console, console, c)
            for hook in hooks:
                await calls.get(
                    "/api/v1/webhooks/{sub_id:uuid}/deliveries",
                    f"/api/v1/webhooks/{hook}/deliveries?limit=200", c,
                )  # fmt: skip

    await read_everything()
    await calls.post_as_all(transitions, f"{ref_path}/transitions", everyone, officer,
                            {"to": "submitted"})  # fmt: skip
    await calls.post_as_all(suggestions, f"{ref_path}/suggestions", everyone, officer)
    first = await calls.post_as_all(
        holds, f"{ref_path}/holds", everyone, officer, {"service_id": str(first_id)}
    )
    await read_everything()
    decline = "/api/v1/offers/{offer_id:uuid}/decline"
    await calls.post_as_all(decline, f"/api/v1/offers/{first['id']}/decline", everyone,
                            provider_p, {"reason": "not_eligible"})  # fmt: skip
    await calls.post(suggestions, f"{ref_path}/suggestions", officer)
    planned = await calls.post_as_all(
        "/api/v1/referrals/{referral_id:uuid}/plan", f"{ref_path}/plan", everyone, officer,
        {"needs": [{"index": 0, "service_id": str(second_id)}]},
    )  # fmt: skip
    second = next(o for o in planned["offers"] if o["status"] == "held")
    accept = "/api/v1/offers/{offer_id:uuid}/accept"
    await calls.post_as_all(accept, f"/api/v1/offers/{second['id']}/accept", everyone, provider_q)
    await calls.post_as_all(transitions, f"{ref_path}/transitions", everyone, officer,
                            {"to": "confirmed"})  # fmt: skip
    started = await calls.post_as_all(transitions, f"{ref_path}/transitions", everyone,
                                      provider_q, {"to": "in_service"})  # fmt: skip
    await read_everything()
    # the second need (documents) is not pursued: the person declined it
    await calls.post_as_all(transitions, f"{ref_path}/transitions", everyone, officer,
                            {"to": "unmet", "need": 1, "reason": "person_declined"})  # fmt: skip
    closed = await calls.post_as_all(transitions, f"{ref_path}/transitions", everyone,
                                     provider_q, {"to": "closed", "outcome": "placed"})  # fmt: skip

    # a consent override, approved by a coordinator who did not ask for it
    override = referral_body(
        consent=None, consent_override={"reason": "imminent_danger", "scope": ["referral"]}
    )
    pending = await calls.post("/api/v1/referrals", "/api/v1/referrals", officer, override)
    await calls.post_as_all(
        "/api/v1/referrals/{referral_id:uuid}/override-approval",
        f"/api/v1/referrals/{pending['id']}/override-approval", everyone, coordinator,
    )  # fmt: skip

    # a child's referral: a best-interest override, submitted, signed off by a second person
    child = referral_body(
        age_band="14-17", guardian_status="requested", consent=None,
        consent_override={"reason": "child_best_interest", "scope": ["referral"]},
    )  # fmt: skip
    minor = await calls.post("/api/v1/referrals", "/api/v1/referrals", officer, child)
    minor_path = f"/api/v1/referrals/{minor['id']}"
    await calls.post(
        "/api/v1/referrals/{referral_id:uuid}/override-approval",
        f"{minor_path}/override-approval", coordinator,
    )  # fmt: skip
    await calls.post(transitions, f"{minor_path}/transitions", officer, {"to": "submitted"})
    await calls.post_as_all(
        "/api/v1/referrals/{referral_id:uuid}/child-sign-off",
        f"{minor_path}/child-sign-off", everyone, coordinator,
    )  # fmt: skip
    await calls.get("/api/v1/referrals/{referral_id:uuid}", minor_path, officer)

    # an offer nobody answers: it expires and is escalated
    secure = referral_body(needs=[{"code": "ACC.SECURE", "priority": "must"}])
    late = await calls.post("/api/v1/referrals", "/api/v1/referrals", officer, secure)
    late_path = f"/api/v1/referrals/{late['id']}"
    await calls.post(transitions, f"{late_path}/transitions", officer, {"to": "submitted"})
    await calls.post(suggestions, f"{late_path}/suggestions", officer)
    await calls.post(holds, f"{late_path}/holds", officer, {"service_id": str(third_id)})
    await _sql(
        demo_db,
        "UPDATE referral_hold SET created_at = now() - interval '2 hours',"
        " expires_at = now() - interval '1 minute' WHERE referral_id = $1",
        uuid.UUID(late["id"]),
    )
    conn = await asyncpg.connect(demo_db)
    try:
        assert (await sweep(conn, _settings(demo_db))).expired_offers == 1
    finally:
        await conn.close()
    await read_everything()

    # a transnational return (RS -> AL): its TRM record read and set, a step, and the receiving
    # side's decline, each as every caller
    away_body = referral_body(
        needs=[{"code": "RET.VOLUNTARY", "priority": "must"}], receiving_participant="AL",
        nationality="AL",
        consent={"given": True, "method": "verbal", "scope": ["referral", "cross_border"],
                 "at": ref["profile"]["consent"]["at"]},
    )  # fmt: skip
    away = await calls.post("/api/v1/referrals", "/api/v1/referrals", officer, away_body)
    away_path = f"/api/v1/referrals/{away['id']}"
    await calls.post(transitions, f"{away_path}/transitions", officer, {"to": "submitted"})
    await calls.post(suggestions, f"{away_path}/suggestions", officer)
    trm = "/api/v1/referrals/{referral_id:uuid}/transnational"
    tirana = (await http.get("/api/v1/areas?participant=AL", headers=officer.headers)).json()
    record = await calls.put(
        trm, f"{away_path}/transnational", officer, {"return_area": tirana[0]["code"]}
    )
    assert record is not None, calls.errors
    for c in everyone:
        if c is not officer:
            await calls.put(trm, f"{away_path}/transnational", c, {})
        await calls.get(trm, f"{away_path}/transnational", c)
    await calls.post_as_all(
        f"{trm}/steps", f"{away_path}/transnational/steps", everyone, coordinator_al,
        {"code": "risk_assessment", "status": "done", "date": str(dt.date.today())},
    )  # fmt: skip
    await calls.post_as_all(
        "/api/v1/referrals/{referral_id:uuid}/decline", f"{away_path}/decline", everyone,
        coordinator_al, {"reason": "no_capacity"},
    )  # fmt: skip

    # the event stream, from the start, as every caller: the same events as the polling
    stream = ("GET", "/api/v1/events/stream")
    for c in everyone:
        polled = await http.get("/api/v1/events?after=0&limit=500", headers=c.headers)
        count = len(polled.json()["events"]) if polled.status_code == 200 else 0
        status, events = await asyncio.wait_for(_read_stream(http, c, count), timeout=60)
        if status >= 400:
            assert not paths_of(events[0], frozenset()) - allowed.views["problem"]
            continue
        calls.succeeded[stream].add(c.name)
        why = fits({"events": events, "next_after": 0}, allowed, c.role)
        if why is not None:
            calls.errors.append(f"GET /api/v1/events/stream as {c.name}: {why}")

    assert not calls.errors, "\n".join(calls.errors)
    assert started["referral_state"] == "in_service"
    assert (closed["referral_state"], closed["outcome"]) == ("closed", "placed")
    never = sorted(route for route in REFERRAL_ROUTES if not calls.succeeded[route])
    assert not never, f"no caller got an answer from {never}"
    # the providers saw their own offers, and nothing of the referral beyond them
    assert provider_q.name in calls.succeeded[("POST", transitions)]
    assert provider_p.name in calls.succeeded[("GET", "/api/v1/offers")]
    assert provider_x.name not in calls.succeeded[("POST", transitions)]
    assert officer_al.name not in calls.succeeded[("GET", "/api/v1/referrals/{referral_id:uuid}")]
    assert funder.name in calls.succeeded[("GET", "/api/v1/outcomes")]
    # after declining, provider P hears of its own offer only, not what became of the referral
    heard = (await http.get("/api/v1/events?after=0&limit=500", headers=provider_p.headers)).json()
    assert {(e["object_type"], e["state"]) for e in heard["events"]} == {
        ("referral", "offered"), ("hold", "held"), ("hold", "declined"),
    }  # fmt: skip
