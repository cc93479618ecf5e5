"""The referral invariants the database enforces by itself, whatever the code above does."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from csomatch.db import holds as hold_db
from csomatch.db import referrals as ref_db
from csomatch.errors import Conflict, InvalidInput

NOW = dt.datetime.now(dt.UTC)


def _profile(**overrides: object) -> ref_db.StoredProfile:
    values: dict[str, object] = {
        "age_band": "25-59", "age_uncertain": False, "gender": "female", "languages": ["sr"],
        "interpreter_needed": False, "preferred_areas": [], "excluded_areas": [],
        "min_distance_km": 0.0, "risk_level": "low", "accessibility": [], "group_adults": 1,
        "group_children_age_bands": [], "nationality": None, "consent_given": True,
        "consent_method": "verbal", "consent_scope": ["referral"], "consent_at": NOW,
        "override_reason": None, "override_scope": [], "override_requested_by": None,
        "override_approved_by": None, "override_approved_at": None,
    }  # fmt: skip
    values.update(overrides)
    return ref_db.StoredProfile(**values)  # type: ignore[arg-type]


async def _referral(conn: asyncpg.Connection, **profile: object) -> uuid.UUID:
    rid = uuid.uuid4()
    await ref_db.insert_referral(
        conn,
        ref_db.NewReferral(
            id=rid, jurisdiction="RS", receiving_participant="RS", agency="RS police",
            created_by=None, creator_organization_id=None, urgency="urgent", needed_by=None,
            current_area="RS-792680", needs=[("ACC.EMERG", "must")], profile=_profile(**profile),
        ),
    )  # fmt: skip
    return rid


@pytest.fixture
async def demo(demo_db: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh copy of the demo registry."""
    conn = await asyncpg.connect(demo_db)
    try:
        yield conn
    finally:
        await conn.close()


async def _service_with(conn: asyncpg.Connection, available: int) -> tuple[uuid.UUID, uuid.UUID]:
    row = await conn.fetchrow(
        "SELECT id, organization_id FROM service WHERE taxonomy_code = 'ACC.EMERG' ORDER BY id"
        " LIMIT 1"
    )
    await conn.execute(
        "INSERT INTO service_capacity (service_id, unit, maximum, available, updated_at)"
        " VALUES ($1, 'bed', $2, $2, now()) ON CONFLICT (service_id) DO UPDATE"
        " SET maximum = $2, available = $2, updated_at = now()",
        row["id"],
        available,
    )
    return row["id"], row["organization_id"]


async def _hold(
    conn: asyncpg.Connection, sid: uuid.UUID, org: uuid.UUID, places: int, minutes: float = 60
) -> hold_db.Hold:
    rid = await _referral(conn)
    return await hold_db.insert_hold(
        conn,
        hold_db.NewHold(
            id=uuid.uuid4(), referral_id=rid, service_id=sid, organization_id=org,
            places=places, expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes),
        ),
    )  # fmt: skip


async def test_the_database_refuses_a_transition_outside_the_lifecycle(
    demo: asyncpg.Connection,
) -> None:
    rid = await _referral(demo)
    with pytest.raises(asyncpg.CheckViolationError, match="cannot go from draft to confirmed"):
        await demo.execute("UPDATE referral SET state = 'confirmed' WHERE id = $1", rid)
    await demo.execute("UPDATE referral SET state = 'submitted' WHERE id = $1", rid)
    with pytest.raises(asyncpg.CheckViolationError):
        await demo.execute(
            "UPDATE referral SET state = 'closed', outcome = 'placed' WHERE id = $1", rid
        )
    changes = await ref_db.state_changes(demo, rid)
    assert [(f, t) for f, t, _ in changes] == [(None, "draft"), ("draft", "submitted")]


async def test_the_database_refuses_a_submission_without_consent(demo: asyncpg.Connection) -> None:
    rid = await _referral(demo, consent_given=None, consent_method=None, consent_at=None)
    with pytest.raises(InvalidInput) as refused:
        await ref_db.set_state(demo, rid, "submitted")
    assert refused.value.field == "$.consent"


async def test_an_override_is_approved_by_a_second_person(demo: asyncpg.Connection) -> None:
    token = await demo.fetchval(
        "INSERT INTO api_token (id, token_hash, role, jurisdiction) VALUES ($1, $2,"
        " 'coordinator', 'RS') RETURNING id",
        uuid.uuid4(),
        b"\x02" * 32,
    )
    rid = await _referral(
        demo, consent_given=None, consent_method=None, consent_at=None,
        override_reason="imminent_danger", override_scope=["referral"],
        override_requested_by=token,
    )  # fmt: skip
    with pytest.raises(InvalidInput):
        await ref_db.approve_override(demo, rid, token, NOW)


async def test_holds_never_exceed_available_places(demo: asyncpg.Connection) -> None:
    sid, org = await _service_with(demo, 3)
    await _hold(demo, sid, org, 2)
    with pytest.raises(InvalidInput) as refused:
        await _hold(demo, sid, org, 2)
    # A hold that does not fit is about the places it asks for (migration 0062).
    assert refused.value.field == "$.places"
    assert "choose another service" in refused.value.detail
    await _hold(demo, sid, org, 1)
    cap = await hold_db.capacity_now(demo, sid)
    assert cap is not None
    assert (cap.available, cap.held) == (3, 3)


async def test_expired_holds_never_count_even_before_the_sweeper(demo: asyncpg.Connection) -> None:
    sid, org = await _service_with(demo, 2)
    old = await _hold(demo, sid, org, 2)
    await demo.execute(
        "UPDATE referral_hold SET created_at = now() - interval '2 hours',"
        " expires_at = now() - interval '1 hour' WHERE id = $1",
        old.id,
    )
    # Not swept: still 'held', yet a new hold for both places fits,
    await _hold(demo, sid, org, 2)
    # and a provider can report one place fewer than the (expired) holds took.
    await demo.execute(
        "UPDATE service_capacity SET available = 2, updated_at = now() WHERE service_id = $1", sid
    )
    assert await demo.fetchval("SELECT held FROM service_capacity WHERE service_id = $1", sid) == 2
    assert await hold_db.due_holds(demo) == [(old.id, old.referral_id)]


async def test_one_open_offer_per_need(demo: asyncpg.Connection) -> None:
    sid, org = await _service_with(demo, 5)
    first = await _hold(demo, sid, org, 1)
    with pytest.raises(Conflict, match="open offer"):
        await hold_db.insert_hold(
            demo,
            hold_db.NewHold(
                id=uuid.uuid4(), referral_id=first.referral_id, service_id=sid,
                organization_id=org, places=1, expires_at=NOW + dt.timedelta(hours=1),
            ),
        )  # fmt: skip
