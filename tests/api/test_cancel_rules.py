"""Who may end a referral (issue 14, item 2): only the referring side cancels, with a reason
code; a cancel releases open offers and returns the places of active placements."""

from __future__ import annotations

import datetime as dt
import uuid

from tests.api.hold_factories import capacity, hold, matched_referral, post_ok, sql
from tests.api.referral_factories import idem, service_with_free_places, token
from tests.api.test_registry_api import Client

RETURN_NEEDS = [{"code": "RET.VOLUNTARY"}]


def _cross_border_consent() -> dict[str, object]:
    return {
        "given": True, "method": "verbal", "scope": ["referral", "cross_border"],
        "at": dt.datetime.now(dt.UTC).isoformat(),
    }  # fmt: skip


async def _cancel(client: Client, headers: dict[str, str], ref: str, **body: object) -> object:
    return await client.post(
        f"/api/v1/referrals/{ref}/transitions",
        json={"to": "cancelled", **body},
        headers=headers | idem(),
    )


async def test_the_receiving_side_may_not_cancel_and_is_told_who_may(
    client: Client, demo_db: str
) -> None:
    service, _ = await service_with_free_places(demo_db, 2, participant="AL", code="RET.VOLUNTARY")
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await matched_referral(
        client, officer, needs=RETURN_NEEDS, receiving_participant="AL", nationality="AL",
        consent=_cross_border_consent(),
    )  # fmt: skip
    await hold(client, officer, ref, service)
    receiving = await token(demo_db, "coordinator", "AL")
    seen = await client.get(f"/api/v1/referrals/{ref}", headers=receiving)
    assert seen.status_code == 200
    assert "cancelled" not in seen.json()["allowed_next"]

    refused = await _cancel(client, receiving, ref, reason="duplicate")
    assert refused.status_code == 403, refused.text
    detail = refused.json()["detail"]
    assert "only the referring side cancels" in detail
    assert "coordinator or admin of RS" in detail
    assert f"/api/v1/referrals/{ref}/decline" in detail

    # A colleague of the same agency sees it but did not make it: refused too.
    colleague = await token(demo_db, "officer", agency="RS police")
    assert (await _cancel(client, colleague, ref, reason="duplicate")).status_code == 403
    # Someone who cannot see it: not found.
    stranger = await token(demo_db, "coordinator", "ME")
    assert (await _cancel(client, stranger, ref, reason="duplicate")).status_code == 404

    after = (await client.get(f"/api/v1/referrals/{ref}", headers=officer)).json()
    assert after["state"] == "offered"
    assert [o["status"] for o in after["offers"]] == ["held"]
    assert "cancelled" in after["allowed_next"]

    # A coordinator of the referring jurisdiction may.
    referring = await token(demo_db, "coordinator", "RS")
    done = await post_ok(
        client, f"/api/v1/referrals/{ref}/transitions", referring,
        {"to": "cancelled", "reason": "person_withdrew"},
    )  # fmt: skip
    assert (done["state"], done["cancel_reason"]) == ("cancelled", "person_withdrew")


async def test_cancelling_names_a_cancel_reason_code(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await matched_referral(client, officer)
    # No reason, or a reason that is not a cancel reason: 422; not a code at all: 400 (the
    # body's type, like every other field of a bad type).
    for body, status in (({}, (422,)), ({"reason": "no_provider"}, (422,)),
                         ({"reason": "because"}, (400,))):  # fmt: skip
        refused = await _cancel(client, officer, ref, **body)
        assert refused.status_code in status, refused.text
        assert refused.json()["field"] == "$.reason"
    assert (await client.get(f"/api/v1/referrals/{ref}", headers=officer)).json()[
        "state"
    ] == "matched"


async def test_a_cancel_releases_held_places(client: Client, demo_db: str) -> None:
    service, _ = await service_with_free_places(demo_db, 3)
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await matched_referral(client, officer)
    await hold(client, officer, ref, service, places=2)
    reader = await token(demo_db, "coordinator", "RS")
    etag, before = await capacity(client, reader, service)
    assert before["held"] == 2

    cancelled = await post_ok(
        client, f"/api/v1/referrals/{ref}/transitions", officer,
        {"to": "cancelled", "reason": "duplicate"},
    )  # fmt: skip
    assert [o["status"] for o in cancelled["offers"]] == ["released"]
    new_etag, after = await capacity(client, reader, service)
    assert (after["held"], after["available"]) == (0, 3)
    assert new_etag != etag


async def test_a_cancelled_confirmed_placement_returns_its_places(
    client: Client, demo_db: str
) -> None:
    service, org = await service_with_free_places(demo_db, 3)
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await matched_referral(client, officer)
    offer = await hold(client, officer, ref, service, places=2)
    provider = await token(demo_db, "provider", org=org)
    await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    path = f"/api/v1/referrals/{ref}/transitions"
    await post_ok(client, path, officer, {"to": "confirmed"})
    await post_ok(client, path, officer, {"to": "in_service"})
    reader = await token(demo_db, "coordinator", "RS")
    etag, placed = await capacity(client, reader, service)
    assert (placed["available"], placed["held"]) == (1, 0)

    cancelled = await post_ok(client, path, officer, {"to": "cancelled", "reason": "safety"})
    assert cancelled["state"] == "cancelled"
    assert [n["state"] for n in cancelled["needs"]] == ["closed"]
    new_etag, after = await capacity(client, reader, service)
    assert (after["available"], after["held"]) == (3, 0)
    assert new_etag != etag
    # The offer's history stays: it was confirmed (the places went back, not the answer).
    assert [o["status"] for o in cancelled["offers"]] == ["confirmed"]


async def test_returned_places_never_exceed_the_maximum(client: Client, demo_db: str) -> None:
    service, org = await service_with_free_places(demo_db, 2)
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await matched_referral(client, officer)
    offer = await hold(client, officer, ref, service, places=1)
    provider = await token(demo_db, "provider", org=org)
    await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    path = f"/api/v1/referrals/{ref}/transitions"
    await post_ok(client, path, officer, {"to": "confirmed"})
    # The provider reported the bed free again already (reality wins): no double count.
    await sql(demo_db, "UPDATE service_capacity SET available = 2 WHERE service_id = $1", service)
    await post_ok(client, path, officer, {"to": "cancelled", "reason": "placed_elsewhere"})
    rows = await sql(
        demo_db, "SELECT available, maximum FROM service_capacity WHERE service_id = $1", service
    )
    assert (rows[0]["available"], rows[0]["maximum"]) == (2, 2)


async def test_a_provider_still_may_not_cancel(client: Client, demo_db: str) -> None:
    service, org = await service_with_free_places(demo_db, 2)
    officer = await token(demo_db, "officer", agency="RS police")
    ref = await matched_referral(client, officer)
    await hold(client, officer, ref, service)
    provider = await token(demo_db, "provider", org=org)
    refused = await _cancel(client, provider, ref, reason="duplicate")
    assert refused.status_code == 403
    assert uuid.UUID(ref)
