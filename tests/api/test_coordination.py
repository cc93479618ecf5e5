"""The coordinator's console (issue 14, item 1): open referrals against their time limits,
overdue first; escalation of referrals stuck before any offer; approvals waiting for a second
person; the time-limit table; outcome figures that count every submitted referral."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.db.pool import Pool, create_pool
from csomatch.notifications.dispatch import RetryPolicy, dispatch_once
from csomatch.referrals.sweeper import sweep
from csomatch.settings import Settings
from tests.api.referral_factories import idem, referral_body, service_with_free_places, token
from tests.api.test_registry_api import SHELTER_ORG, Client
from tests.api.webhook_receiver import receiver

CONSOLE = "/api/v1/coordination/referrals"
LIMITS = "/api/v1/coordination/time-limits"
APPROVALS = "/api/v1/coordination/approvals"


def _settings(db: str) -> Settings:
    return Settings(
        database_url=db, pool_min_size=1, pool_max_size=4, webhook_allow_http=True,
        webhook_allow_private=True, dispatch_interval_s=0,
    )  # fmt: skip


@pytest.fixture
async def api(demo_db: str) -> AsyncIterator[Client]:
    async with AsyncTestClient(app=create_app(_settings(demo_db), demo_db)) as test_client:
        yield test_client


async def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


async def _submitted(api: Client, officer: dict[str, str], **body: Any) -> str:
    """A referral made and submitted by ``officer``; its id."""
    ref = await _ok(
        await api.post("/api/v1/referrals", json=referral_body(**body), headers=officer | idem())
    )
    await _ok(
        await api.post(
            f"/api/v1/referrals/{ref['id']}/transitions",
            json={"to": "submitted"},
            headers=officer | idem(),
        )
    )
    return str(ref["id"])


async def _entered(db: str, referral_id: str, minutes_ago: int) -> None:
    """Pretend the referral entered its current state ``minutes_ago`` minutes ago."""
    conn = await asyncpg.connect(db)
    try:
        await conn.execute(
            "UPDATE referral_state_change SET at = now() - make_interval(mins => $2)"
            " WHERE referral_id = $1",
            uuid.UUID(referral_id),
            minutes_ago,
        )
        await conn.execute(
            "UPDATE referral SET submitted_at = now() - make_interval(mins => $2) WHERE id = $1",
            uuid.UUID(referral_id),
            minutes_ago,
        )
    finally:
        await conn.close()


async def test_the_console_lists_open_referrals_overdue_first(api: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    coordinator = await token(demo_db, "coordinator")
    # emergency, submitted 45 minutes ago: past its 30 minutes
    late = await _submitted(api, officer)
    await _entered(demo_db, late, 45)
    # planned, submitted 3 hours ago: within its day
    calm = await _submitted(api, officer, urgency="planned")
    await _entered(demo_db, calm, 180)
    # urgent, submitted 5 hours ago: past its 4 hours, and later than the emergency one
    later = await _submitted(api, officer, urgency="urgent")
    await _entered(demo_db, later, 300)
    # a draft and a cancelled referral are not open
    draft = await _ok(
        await api.post("/api/v1/referrals", json=referral_body(), headers=officer | idem())
    )

    body = await _ok(await api.get(CONSOLE, headers=coordinator))
    rows = {r["id"]: r for r in body["referrals"]}
    assert draft["id"] not in rows
    assert [r["id"] for r in body["referrals"]] == [late, later, calm]
    assert rows[late]["overdue"]
    assert rows[later]["overdue"]
    assert not rows[calm]["overdue"]
    assert rows[late]["limit_minutes"] == 30
    assert rows[later]["limit_minutes"] == 240
    assert rows[calm]["limit_minutes"] == 1440
    assert 44 <= rows[late]["waited_minutes"] <= 46
    assert rows[late]["had_offer"] is False
    assert rows[late]["first_offer_at"] is None
    assert body["counts"] == {"submitted": 3}
    assert body["overdue"] == 2
    # no personal fields
    assert set(rows[late]) == {
        "id", "jurisdiction", "receiving_participant", "transnational", "state", "urgency",
        "submitted_at", "since", "waited_minutes", "limit_minutes", "overdue", "had_offer",
        "first_offer_at", "escalated_at",
    }  # fmt: skip


async def test_an_offer_is_shown_with_its_time(api: Client, demo_db: str) -> None:
    service_id, _ = await service_with_free_places(demo_db, 2)
    officer = await token(demo_db, "officer", agency="RS police")
    coordinator = await token(demo_db, "coordinator")
    ref = await _submitted(api, officer)
    path = f"/api/v1/referrals/{ref}"
    await _ok(await api.post(f"{path}/suggestions", headers=officer | idem()))
    await _ok(
        await api.post(
            f"{path}/holds", json={"service_id": str(service_id)}, headers=officer | idem()
        )
    )
    [row] = (await _ok(await api.get(CONSOLE, headers=coordinator)))["referrals"]
    assert row["state"] == "offered"
    assert row["had_offer"]
    assert row["first_offer_at"]
    assert row["limit_minutes"] == 45
    assert not row["overdue"]


async def test_each_coordinator_sees_their_jurisdiction_only(api: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    ours = await _submitted(api, officer)
    consent = referral_body()["consent"] | {"scope": ["referral", "cross_border"]}
    crossing = await _submitted(
        api, officer, needs=[{"code": "RET.VOLUNTARY", "priority": "must"}],
        receiving_participant="AL", nationality="AL", consent=consent,
    )  # fmt: skip
    albania = await token(demo_db, "coordinator", "AL")
    montenegro = await token(demo_db, "coordinator", "ME")
    seen_al = [r["id"] for r in (await _ok(await api.get(CONSOLE, headers=albania)))["referrals"]]
    assert seen_al == [crossing]  # the receiving participant's coordinator sees it
    assert (await _ok(await api.get(CONSOLE, headers=montenegro)))["referrals"] == []
    rs = await token(demo_db, "coordinator")
    seen_rs = {r["id"] for r in (await _ok(await api.get(CONSOLE, headers=rs)))["referrals"]}
    assert seen_rs == {ours, crossing}
    # a coordinator of one participant cannot ask for another's
    refused = await api.get(f"{CONSOLE}?jurisdiction=AL", headers=rs)
    assert refused.status_code == 403
    assert refused.json()["field"] == "query.jurisdiction"
    # an admin of the region asks for one participant or sees all
    region = await token(demo_db, "admin", "MARRI")
    only_al = await _ok(await api.get(f"{CONSOLE}?jurisdiction=AL", headers=region))
    assert [r["id"] for r in only_al["referrals"]] == [crossing]
    everything = await _ok(await api.get(CONSOLE, headers=region))
    assert {r["id"] for r in everything["referrals"]} == {ours, crossing}
    for role in ("officer", "provider", "funder"):
        headers = await token(demo_db, role, org=SHELTER_ORG if role == "provider" else None)
        for route in (CONSOLE, APPROVALS, LIMITS):
            assert (await api.get(route, headers=headers)).status_code == 403, (role, route)


async def test_time_limits_are_edited_with_their_etag(api: Client, demo_db: str) -> None:
    coordinator = await token(demo_db, "coordinator")
    colleague = await token(demo_db, "coordinator")
    first = await api.get(LIMITS, headers=coordinator)
    assert first.status_code == 200
    table = first.json()
    assert table["jurisdiction"] == "RS"
    assert len(table["limits"]) == 8 * 3
    emergency = {(x["state"]): x["minutes"] for x in table["limits"] if x["urgency"] == "emergency"}
    assert emergency["submitted"] == 30
    assert emergency["offered"] == 45
    etag = first.headers["ETag"]

    change = {"limits": [{"state": "submitted", "urgency": "emergency", "minutes": 20}]}
    assert (await api.put(LIMITS, json=change, headers=coordinator)).status_code == 428
    saved = await api.put(LIMITS, json=change, headers=colleague | {"If-Match": etag})
    assert saved.status_code == 200, saved.text
    assert saved.headers["ETag"] != etag
    row = next(
        x for x in saved.json()["limits"]
        if (x["state"], x["urgency"]) == ("submitted", "emergency")
    )  # fmt: skip
    assert (row["minutes"], row["default_minutes"], row["overridden"]) == (20, 30, True)
    # the first coordinator's edit, based on the older reading, is refused
    stale = await api.put(
        LIMITS, json={"limits": [{"state": "submitted", "urgency": "emergency", "minutes": 25}]},
        headers=coordinator | {"If-Match": etag},
    )  # fmt: skip
    assert stale.status_code == 412
    assert stale.json()["field"] == "header.If-Match"
    # Albania still has the default
    albania = await token(demo_db, "coordinator", "AL")
    al_rows = (await _ok(await api.get(LIMITS, headers=albania)))["limits"]
    assert {x["minutes"] for x in al_rows if x["state"] == "submitted"} == {30, 240, 1440}
    # the console uses the new limit
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await _submitted(api, officer)
    await _entered(demo_db, ref, 25)
    [shown] = (await _ok(await api.get(CONSOLE, headers=coordinator)))["referrals"]
    assert (shown["limit_minutes"], shown["overdue"]) == (20, True)


@pytest.mark.parametrize(
    ("limit", "field"),
    [
        ({"state": "draft", "urgency": "emergency", "minutes": 10}, "$.limits[0].state"),
        ({"state": "submitted", "urgency": "soon", "minutes": 10}, "$.limits[0].urgency"),
        ({"state": "submitted", "urgency": "planned", "minutes": 0}, "$.limits[0].minutes"),
        ({"state": "submitted", "urgency": "planned", "minutes": 86401}, "$.limits[0].minutes"),
        ({"state": "submitted", "urgency": "planned", "minutes": 10, "why": "x"}, "$.limits[0]"),
    ],
)
async def test_a_bad_time_limit_is_refused_naming_it(
    api: Client, demo_db: str, limit: dict[str, Any], field: str
) -> None:
    coordinator = await token(demo_db, "coordinator")
    etag = (await api.get(LIMITS, headers=coordinator)).headers["ETag"]
    answer = await api.put(
        LIMITS, json={"limits": [limit]}, headers=coordinator | {"If-Match": etag}
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["field"].startswith(field)
    twice = {"state": "submitted", "urgency": "planned", "minutes": 10}
    again = await api.put(
        LIMITS, json={"limits": [twice, twice]}, headers=coordinator | {"If-Match": etag}
    )
    assert again.status_code == 422
    assert again.json()["field"] == "$.limits[1].state"
    # only an admin of the region edits the defaults
    refused = await api.get(f"{LIMITS}?jurisdiction=MARRI", headers=coordinator)
    assert refused.status_code == 403


async def test_a_referral_stuck_before_any_offer_is_escalated_once(
    api: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    coordinator = await token(demo_db, "coordinator")
    albania = await token(demo_db, "coordinator", "AL")
    pool: Pool = await create_pool(demo_db, min_size=1, max_size=2)
    try:
        with receiver() as recv:
            for headers, path in ((coordinator, "/rs"), (albania, "/al")):
                made = await api.post(
                    "/api/v1/webhooks",
                    json={"url": recv.base_url + path, "event_types": ["referral.stuck"]},
                    headers=headers,
                )
                assert made.status_code == 201, made.text
                recv.secrets[path] = made.json()["secret"]
            feed_start = (await api.get("/api/v1/events", headers=coordinator)).json()["next_after"]
            # an emergency referral for which nothing is ever offered
            ref = await _submitted(api, officer, needs=[{"code": "ACC.SECURE", "priority": "must"}])
            conn = await asyncpg.connect(demo_db)
            try:
                now = dt.datetime.now(dt.UTC)
                early = await sweep(conn, _settings(demo_db), now=now + dt.timedelta(minutes=29))
                assert early.stuck_referrals == 0
                late = now + dt.timedelta(minutes=31)
                assert (await sweep(conn, _settings(demo_db), now=late)).stuck_referrals == 1
                again = late + dt.timedelta(hours=5)
                assert (await sweep(conn, _settings(demo_db), now=again)).stuck_referrals == 0
                actions = await conn.fetch(
                    "SELECT action FROM audit_event WHERE object_id = $1 AND action = $2",
                    ref, "referral.stuck",
                )  # fmt: skip
                assert len(actions) == 1
            finally:
                await conn.close()
            async with httpx.AsyncClient() as http:
                report = await dispatch_once(
                    pool, http, RetryPolicy(allow_private=True), now=dt.datetime.now(dt.UTC)
                )
            assert report.delivered >= 1
            heard = [r.payload["event"] for r in recv.at("/rs")]
            assert [(e["type"], e["object_id"], e["state"]) for e in heard] == [
                ("referral.stuck", ref, "submitted")
            ]
            assert recv.at("/al") == []
            assert all(r.signature_ok for r in recv.received)
    finally:
        await pool.close()
    feed = await _ok(await api.get(f"/api/v1/events?after={feed_start}", headers=coordinator))
    assert ("referral.stuck", ref) in {(e["type"], e["object_id"]) for e in feed["events"]}
    officer_feed = await _ok(await api.get(f"/api/v1/events?after={feed_start}", headers=officer))
    assert "referral.stuck" in {e["type"] for e in officer_feed["events"]}
    [row] = (await _ok(await api.get(CONSOLE, headers=coordinator)))["referrals"]
    assert row["id"] == ref
    assert row["escalated_at"] is not None
    escalated = await _ok(await api.get("/api/v1/offers/escalated", headers=coordinator))
    assert [r["id"] for r in escalated["referrals"]] == [ref]
    assert (await _ok(await api.get("/api/v1/offers/escalated", headers=albania)))[
        "referrals"
    ] == []


async def test_approvals_waiting_for_a_second_person(api: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    coordinator = await token(demo_db, "coordinator")
    asker = await token(demo_db, "coordinator")
    override = await _ok(
        await api.post(
            "/api/v1/referrals",
            json=referral_body(
                consent=None,
                consent_override={"reason": "imminent_danger", "scope": ["referral"]},
            ),
            headers=asker | idem(),
        )
    )
    child = await _ok(
        await api.post(
            "/api/v1/referrals",
            json=referral_body(
                age_band="14-17",
                guardian_status="appointed",
                consent={
                    "given": True,
                    "method": "guardian",
                    "scope": ["referral"],
                    "at": dt.datetime.now(dt.UTC).isoformat(),
                },
            ),
            headers=officer | idem(),
        )
    )
    await _ok(
        await api.post(
            f"/api/v1/referrals/{child['id']}/transitions",
            json={"to": "submitted"},
            headers=officer | idem(),
        )
    )
    listed = (await _ok(await api.get(APPROVALS, headers=coordinator)))["approvals"]
    assert [(a["referral_id"], a["kind"], a["may_approve"]) for a in listed] == [
        (override["id"], "consent_override", True),
        (child["id"], "child_sign_off", True),
    ]
    assert listed[0]["reason"] == "imminent_danger"
    mine = (await _ok(await api.get(APPROVALS, headers=asker)))["approvals"]
    assert (mine[0]["may_approve"], mine[0]["why_not"]) == (False, "own_request")
    assert (await _ok(await api.get(APPROVALS, headers=await token(demo_db, "admin"))))[
        "approvals"
    ][0]["why_not"] == "role"
    assert (await _ok(await api.get(APPROVALS, headers=await token(demo_db, "coordinator", "AL"))))[
        "approvals"
    ] == []
    await _ok(
        await api.post(
            f"/api/v1/referrals/{override['id']}/override-approval", headers=coordinator | idem()
        )
    )
    await _ok(
        await api.post(
            f"/api/v1/referrals/{child['id']}/child-sign-off", headers=coordinator | idem()
        )
    )
    assert (await _ok(await api.get(APPROVALS, headers=coordinator)))["approvals"] == []


async def test_outcomes_count_every_submitted_referral(api: Client, demo_db: str) -> None:
    service_id, _ = await service_with_free_places(demo_db, 2)
    officer = await token(demo_db, "officer", agency="RS police")
    coordinator = await token(demo_db, "coordinator")
    never = [await _submitted(api, officer) for _ in range(3)]
    offered = await _submitted(api, officer, urgency="urgent")
    path = f"/api/v1/referrals/{offered}"
    await _ok(await api.post(f"{path}/suggestions", headers=officer | idem()))
    await _ok(
        await api.post(
            f"{path}/holds", json={"service_id": str(service_id)}, headers=officer | idem()
        )
    )
    cancelled = await _submitted(api, officer)
    await _ok(
        await api.post(
            f"/api/v1/referrals/{cancelled}/transitions",
            json={"to": "cancelled", "reason": "duplicate"},
            headers=officer | idem(),
        )
    )
    body = await _ok(await api.get("/api/v1/outcomes", headers=coordinator))
    total = body["submitted_total"]
    assert total["submitted"] == 5
    assert total["never_offered"] == 4
    assert total["still_open"] == 4
    assert total["cancelled"] == 1
    assert total["placed"] == 0
    assert total["time_to_first_offer"]["n"] == 1
    cells = {(c["participant"], c["urgency"]): c for c in body["submitted"]}
    assert cells[("RS", "emergency")]["submitted"] == 4
    assert cells[("RS", "emergency")]["never_offered"] == 4
    assert cells[("RS", "urgent")]["never_offered"] == 0
    assert never  # three of them never had an offer


async def test_funders_see_the_submitted_figures_with_small_counts_hidden(
    api: Client, demo_db: str
) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    made = [await _submitted(api, officer) for _ in range(3)]
    conn = await asyncpg.connect(demo_db)
    try:  # submitted 40 days ago: in a closed month, which funders see
        await conn.execute(
            "UPDATE referral SET submitted_at = submitted_at - interval '40 days',"
            " created_at = created_at - interval '40 days' WHERE id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in made],
        )
        await conn.execute(
            "UPDATE referral_state_change SET at = at - interval '40 days'"
            " WHERE referral_id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in made],
        )
    finally:
        await conn.close()
    coordinator = await _ok(
        await api.get("/api/v1/outcomes", headers=await token(demo_db, "coordinator"))
    )
    assert coordinator["submitted_total"]["never_offered"] == 3
    funder = await _ok(await api.get("/api/v1/outcomes", headers=await token(demo_db, "funder")))
    [cell] = funder["submitted"]
    assert cell["suppressed"] is True
    assert cell["submitted"] is None
    assert funder["submitted_total"]["submitted"] is None
    assert funder["submitted_total"]["never_offered"] is None


async def test_an_admin_of_the_region_changes_the_defaults(api: Client, demo_db: str) -> None:
    region = await token(demo_db, "admin", "MARRI")
    read = await api.get(f"{LIMITS}?jurisdiction=MARRI", headers=region)
    assert read.json()["jurisdiction"] == "MARRI"
    rs = await token(demo_db, "coordinator")
    rs_etag = (await api.get(LIMITS, headers=rs)).headers["ETag"]
    change = {"limits": [{"state": "matched", "urgency": "planned", "minutes": 1000}]}
    saved = await api.put(
        f"{LIMITS}?jurisdiction=MARRI",
        json=change,
        headers=region | {"If-Match": read.headers["ETag"]},
    )
    assert saved.status_code == 200, saved.text
    rs_now = await _ok(await api.get(LIMITS, headers=rs))
    row = next(x for x in rs_now["limits"] if (x["state"], x["urgency"]) == ("matched", "planned"))
    assert (row["minutes"], row["overridden"]) == (1000, False)
    # the participant's older reading is stale: the defaults under it changed
    stale = await api.put(LIMITS, json=change, headers=rs | {"If-Match": rs_etag})
    assert stale.status_code == 412
