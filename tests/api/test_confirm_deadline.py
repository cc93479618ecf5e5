"""An accepted offer that is never confirmed does not hold its places forever: after
CSOMATCH_CONFIRM_HOURS it stops counting, the sweeper expires and escalates it like an
unanswered offer, and the expiry never counts against the provider that accepted."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import pytest

from csomatch.db import outcomes
from csomatch.db.errors import CONSTRAINT_MESSAGES
from csomatch.db.track_records import track_records
from csomatch.matching import terms
from csomatch.settings import Settings, SettingsError
from tests.api.hold_factories import (
    FORMULA,
    Client,
    hold,
    lapse_confirmation,
    matched_referral,
    post_ok,
    sql,
    sweep_now,
)
from tests.api.referral_factories import idem, service_with_free_places, token


def test_the_confirm_deadline_is_a_setting() -> None:
    assert Settings().confirm_hours == 24
    assert Settings.from_env({"CSOMATCH_CONFIRM_HOURS": "6"}).confirm_hours == 6
    for bad in ("0", "-1", "721", "soon"):
        with pytest.raises(SettingsError, match="CSOMATCH_CONFIRM_HOURS"):
            Settings.from_env({"CSOMATCH_CONFIRM_HOURS": bad})


async def test_accepting_sets_the_deadline_to_confirm(client: Client, demo_db: str) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 1)
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    ref_id = await matched_referral(client, officer)
    offer = await hold(client, officer, ref_id, service_id)
    assert offer["confirm_by"] is None
    accepted = await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    answered = dt.datetime.fromisoformat(accepted["answered_at"])
    deadline = dt.datetime.fromisoformat(accepted["confirm_by"])
    assert deadline - answered == dt.timedelta(hours=24)
    seen = (await client.get(f"/api/v1/referrals/{ref_id}", headers=officer)).json()
    assert seen["offers"][0]["confirm_by"] == accepted["confirm_by"]


async def test_an_accepted_offer_not_confirmed_in_time_expires_escalates_and_frees_its_place(
    client: Client, demo_db: str
) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 1)
    await service_with_free_places(demo_db, 1, nth=1)  # the next one, also in Serbia
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    coordinator = await token(demo_db, "coordinator")
    ref_id = await matched_referral(client, officer)
    offer = await hold(client, officer, ref_id, service_id)
    await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    other = await matched_referral(client, officer)
    full = await client.post(
        f"/api/v1/referrals/{other}/holds", json={"service_id": str(service_id)},
        headers=officer | idem(),
    )  # fmt: skip
    assert full.status_code == 409  # the accepted offer holds the only place

    await lapse_confirmation(demo_db, offer["id"])

    # Past its deadline the accepted offer no longer counts, before any sweep.
    await hold(client, officer, other, service_id)
    # Confirming now is refused with a sentence saying what to do.
    late = await client.post(
        f"/api/v1/referrals/{ref_id}/transitions", json={"to": "confirmed"},
        headers=officer | idem(),
    )  # fmt: skip
    assert late.status_code == 409
    assert "not confirmed in time" in late.json()["detail"]
    assert "Find services again" in late.json()["detail"]

    report = await sweep_now(demo_db)
    assert report.expired_offers == 1
    ref = (await client.get(f"/api/v1/referrals/{ref_id}", headers=officer)).json()
    assert ref["state"] == "expired"
    assert ref["offers"][0]["status"] == "expired"
    assert ref["offers"][0]["answered_at"] is not None  # it had been accepted
    assert ref["next_service_id"] not in (None, str(service_id))
    assert "offered" in ref["allowed_next"]  # the officer holds a place elsewhere
    escalated = (await client.get("/api/v1/offers/escalated", headers=coordinator)).json()
    assert [o["id"] for o in escalated["offers"]] == [offer["id"]]
    events = await sql(
        demo_db,
        "SELECT event_type FROM outbox_event WHERE object_id = ANY($1::uuid[]) ORDER BY id",
        [uuid.UUID(ref_id), uuid.UUID(offer["id"])],
    )
    assert [e["event_type"] for e in events][-2:] == ["referral.expired", "hold.expired"]
    [cap] = await sql(
        demo_db, "SELECT available, held FROM service_capacity WHERE service_id = $1", service_id
    )
    assert (cap["available"], cap["held"]) == (1, 1)  # the other referral's hold


async def test_an_expiry_after_acceptance_never_counts_against_the_provider(
    client: Client, demo_db: str
) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 2)
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    ref_id = await matched_referral(client, officer)
    offer = await hold(client, officer, ref_id, service_id)
    await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    conn = await asyncpg.connect(demo_db)
    try:
        [record_before] = await track_records(conn, [service_id])
        await lapse_confirmation(demo_db, offer["id"])
        assert (await sweep_now(demo_db)).expired_offers == 1
        [record] = await track_records(conn, [service_id])
        now = dt.datetime.now(dt.UTC)
        counts = await outcomes.offer_counts(
            conn,
            outcomes.Filter(
                jurisdiction="RS",
                submitted_from=now - dt.timedelta(hours=1),
                submitted_to=now + dt.timedelta(hours=1),
            ),
        )
    finally:
        await conn.close()
    # The track record the matcher reads keeps the acceptance, and nothing else.
    assert record == record_before
    assert (record.offers, record.accepted) == (1, 1)
    w = terms.weights_from_settings(Settings())
    assert terms.acceptance_cost(record, w) == terms.acceptance_cost(None, w) == 0
    # The outcome figures count it as accepted, not as expired.
    [total] = [c for c in counts if c.participant is None]
    assert (total.offers, total.accepted, total.expired) == (1, 1, 0)


async def test_the_database_refuses_a_late_confirmation_even_bypassing_the_use_case(
    client: Client, demo_db: str
) -> None:
    service_id, org_id = await service_with_free_places(demo_db, 1)
    officer = await token(demo_db, "officer", agency="RS police")
    provider = await token(demo_db, "provider", org=org_id)
    ref_id = await matched_referral(client, officer)
    offer = await hold(client, officer, ref_id, service_id)
    held_only = await client.post(
        f"/api/v1/referrals/{ref_id}/transitions", json={"to": "confirmed"},
        headers=officer | idem(),
    )  # fmt: skip
    assert held_only.status_code == 409  # the lifecycle: accepted first
    with pytest.raises(asyncpg.CheckViolationError) as not_accepted:
        await sql(
            demo_db, "UPDATE referral_hold SET status = 'confirmed' WHERE id = $1",
            uuid.UUID(offer["id"]),
        )  # fmt: skip
    assert not_accepted.value.constraint_name == "hold_confirm_in_time"
    await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    await lapse_confirmation(demo_db, offer["id"])
    with pytest.raises(asyncpg.CheckViolationError) as late:
        await sql(
            demo_db, "UPDATE referral_hold SET status = 'confirmed' WHERE id = $1",
            uuid.UUID(offer["id"]),
        )  # fmt: skip
    assert late.value.constraint_name == "hold_confirm_in_time"
    with pytest.raises(asyncpg.CheckViolationError) as no_deadline:
        await sql(
            demo_db, "UPDATE referral_hold SET confirm_by = NULL WHERE id = $1",
            uuid.UUID(offer["id"]),
        )  # fmt: skip
    assert no_deadline.value.constraint_name == "hold_accepted_has_deadline"
    # The message a person reads is a sentence, never the rule's name or a formula.
    for name in ("hold_confirm_in_time", "hold_accepted_has_deadline"):
        field, message = CONSTRAINT_MESSAGES[name]
        assert field.startswith("$")
        assert not FORMULA & set(message)
        assert message.endswith(".")
