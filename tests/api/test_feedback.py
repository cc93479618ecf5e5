"""The survivor's voice (issue 14, item 5): a one-time feedback code issued at the end of a
placement, answered once on a public route, stored without a link to the code or the referral,
shown only summed over closed quarters in cells of at least five, and counted by the matcher."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from csomatch.app import create_app
from csomatch.gaps.periods import last_closed, period_of
from csomatch.settings import Settings
from tests.api.hold_factories import Client, hold, matched_referral, post_ok, sql
from tests.api.referral_factories import idem, token
from tests.api.test_registry_api import SHELTER, SHELTER_ORG

PUBLIC_URL = "https://csomatch.example.org"
GROUPED = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")
ALL_FIVES = {"safe": 5, "respected": 5, "understood": 5, "helped": 5}


@pytest.fixture
async def voice(demo_db: str) -> AsyncIterator[Client]:
    """The app with a public address and at most six codes per token and day."""
    settings = Settings(
        database_url=demo_db, pool_min_size=1, pool_max_size=4, public_url=PUBLIC_URL,
        feedback_codes_per_day=6,
    )  # fmt: skip
    async with AsyncTestClient(app=create_app(settings, demo_db)) as test_client:
        yield test_client


async def _in_service(client: Client, db: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """A referral whose one need is in service at the shelter; (id, officer, provider)."""
    await sql(
        db,
        "INSERT INTO service_capacity (service_id, unit, maximum, available, updated_at)"
        " VALUES ($1, 'bed', 5, 5, now()) ON CONFLICT (service_id) DO UPDATE"
        " SET maximum = 5, available = 5, updated_at = now()",
        SHELTER,
    )
    await sql(db, "UPDATE service SET accepting_referrals = true WHERE id = $1", SHELTER)
    officer = await token(db, "officer", agency="RS police")
    provider = await token(db, "provider", org=SHELTER_ORG)
    ref_id = await matched_referral(client, officer, gender="male")
    offer = await hold(client, officer, ref_id, SHELTER)
    await post_ok(client, f"/api/v1/offers/{offer['id']}/accept", provider)
    transitions = f"/api/v1/referrals/{ref_id}/transitions"
    await post_ok(client, transitions, officer, {"to": "confirmed"})
    await post_ok(client, transitions, provider, {"to": "in_service"})
    return ref_id, officer, provider


async def _issue(client: Client, ref_id: str, headers: dict[str, str]) -> dict[str, Any]:
    return await post_ok(client, f"/api/v1/referrals/{ref_id}/feedback-code", headers,
                         {"need": 0})  # fmt: skip


async def _answer(client: Client, code: str, **values: int | None) -> Any:
    return await client.post("/api/v1/feedback", json={"code": code, **(ALL_FIVES | values)})


async def test_a_code_is_shown_once_answered_once_and_refused_the_second_time(
    voice: Client, demo_db: str
) -> None:
    ref_id, officer, _ = await _in_service(voice, demo_db)
    path = f"/api/v1/referrals/{ref_id}/feedback-code"
    key = idem()
    first = await voice.post(path, json={"need": 0}, headers=officer | key)
    assert first.status_code == 201, first.text
    issued = first.json()
    code = issued["code"]
    assert GROUPED.match(code), code
    assert issued["link"] == f"{PUBLIC_URL}/feedback/{code}"
    assert issued["qr_svg"].startswith("<svg")
    assert "<script" not in issued["qr_svg"]
    assert issued["service_id"] == str(SHELTER)
    # A retry replays the answer without the code: it is not kept anywhere.
    again = await voice.post(path, json={"need": 0}, headers=officer | key)
    assert again.headers["idempotent-replayed"] == "true"
    assert (again.json()["code"], again.json()["link"], again.json()["qr_svg"]) == (None,) * 3
    plain = code.replace("-", "")
    for table in ("feedback_code", "idempotency_key", "audit_event"):
        [row] = await sql(demo_db, f"SELECT count(*) AS n FROM {table} t WHERE t::text ~* $1",
                          plain)  # fmt: skip
        assert row["n"] == 0, table

    # Typed back in lower case, without hyphens, an O for a 0: the same code.
    typed = plain.lower().replace("0", "o")
    answered = await _answer(voice, typed, safe=4, respected=5, understood=None, helped=2)
    assert answered.status_code == 201, answered.text
    # A feedback code used twice: refused.
    twice = await _answer(voice, code)
    assert twice.status_code == 410
    assert twice.json()["field"] == "$.code"
    assert "used" in twice.json()["detail"]
    [record] = await sql(
        demo_db, "SELECT feedback_n, feedback_sum FROM service_track_record WHERE service_id = $1",
        SHELTER,
    )  # fmt: skip
    # (4 + 5 + 2) / 3 = 3.67, rounded: 4; "prefer not to say" is not counted.
    assert (record["feedback_n"], record["feedback_sum"]) == (1, 4)


async def test_a_wrong_code_is_404_whatever_the_reason(voice: Client, demo_db: str) -> None:
    ref_id, officer, _ = await _in_service(voice, demo_db)
    issued = await _issue(voice, ref_id, officer)
    assert (await _answer(voice, issued["code"])).status_code == 201
    unknown = await _answer(voice, "7K3M-Q9XD-2HRT-W8PB")
    not_a_code = await _answer(voice, "UUUU-UUUU-UUUU-UUUU")
    for refused in (unknown, not_a_code):
        assert refused.status_code == 404
        assert refused.json()["detail"] == unknown.json()["detail"]
    # Free text has nowhere to go; neither has anything else.
    extra = await voice.post("/api/v1/feedback", json={"code": issued["code"], **ALL_FIVES,
                                                       "comment": "x"})  # fmt: skip
    assert extra.status_code == 400
    assert extra.json()["field"] == "$.comment"
    out_of_scale = await voice.post("/api/v1/feedback", json={"code": issued["code"],
                                                              **ALL_FIVES, "safe": 6})  # fmt: skip
    assert out_of_scale.status_code == 400


async def test_an_expired_code_is_refused(voice: Client, demo_db: str) -> None:
    ref_id, officer, _ = await _in_service(voice, demo_db)
    issued = await _issue(voice, ref_id, officer)
    assert issued["valid_until"] == str(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=60))
    await sql(demo_db, "UPDATE feedback_code SET expires_at = now() - interval '1 second'")
    assert (await _answer(voice, issued["code"])).status_code == 410
    # A month after expiry it is deleted (with the next code issued): then it is unknown.
    await sql(
        demo_db,
        "UPDATE feedback_code SET issued_on = current_date - 100,"
        " expires_at = now() - interval '32 days'",
    )
    await _issue(voice, ref_id, officer)
    [left] = await sql(demo_db, "SELECT count(*) AS n FROM feedback_code")
    assert left["n"] == 1
    assert (await _answer(voice, issued["code"])).status_code == 404


async def test_ten_tries_per_ten_minutes_from_one_address(voice: Client, demo_db: str) -> None:
    for _ in range(10):
        assert (await _answer(voice, "7K3M-Q9XD-2HRT-W8PB")).status_code == 404
    refused = await _answer(voice, "7K3M-Q9XD-2HRT-W8PB")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["retry-after"]) <= 600
    [row] = await sql(demo_db, "SELECT count(*) AS n, max(n) AS tries FROM feedback_attempt")
    assert (row["n"], row["tries"]) == (1, 11)


async def test_who_may_issue_and_when(voice: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", agency="RS police")
    early = await matched_referral(voice, officer, gender="male")
    refused = await voice.post(f"/api/v1/referrals/{early}/feedback-code", json={"need": 0},
                               headers=officer | idem())  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["field"] == "$.need"

    ref_id, officer, provider = await _in_service(voice, demo_db)
    path = f"/api/v1/referrals/{ref_id}/feedback-code"
    other = await token(demo_db, "officer", agency="Other police")
    assert (await voice.post(path, json={"need": 0}, headers=other | idem())).status_code == 404
    assert (await voice.post(path, json={"need": 0}, headers=provider | idem())).status_code == 403
    abroad = await token(demo_db, "coordinator", "AL")
    assert (await voice.post(path, json={"need": 0}, headers=abroad | idem())).status_code == 404
    wrong = await voice.post(path, json={"need": 0, "service_id": str(SHELTER_ORG)},
                             headers=officer | idem())  # fmt: skip
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "$.service_id"
    coordinator = await token(demo_db, "coordinator", "RS")
    await _issue(voice, ref_id, coordinator)
    # At most six a day per token (this app's setting): the seventh waits for tomorrow.
    for _ in range(6):
        await _issue(voice, ref_id, officer)
    seventh = await voice.post(path, json={"need": 0}, headers=officer | idem())
    assert seventh.status_code == 429
    assert int(seventh.headers["retry-after"]) <= 86_401
    # Closed as placed: still a code.
    await post_ok(voice, f"/api/v1/referrals/{ref_id}/transitions", provider,
                  {"to": "closed", "outcome": "placed"})  # fmt: skip
    await _issue(voice, ref_id, coordinator)


async def test_an_answer_cannot_be_linked_to_its_code_or_referral(demo_db: str) -> None:
    rows = await sql(
        demo_db,
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_name IN ('feedback_answer', 'feedback_code')",
    )
    columns = {(r["table_name"], r["column_name"]): r["data_type"] for r in rows}
    answer = {c for t, c in columns if t == "feedback_answer"}
    assert answer == {
        "id", "service_id", "taxonomy_code", "participant_code", "quarter",
        "safe", "respected", "understood", "helped", "score",
    }  # fmt: skip
    code = {c for t, c in columns if t == "feedback_code"}
    assert not any("referral" in c or "token" in c for c in code)
    # No time finer than a day on either side.
    stamps = {(t, c) for (t, c), kind in columns.items() if kind.startswith("timestamp")}
    assert stamps == {("feedback_code", "expires_at")}
    links = await sql(
        demo_db,
        "SELECT conrelid::regclass::text AS t, confrelid::regclass::text AS target"
        " FROM pg_constraint WHERE contype = 'f'"
        " AND conrelid::regclass::text IN ('feedback_answer', 'feedback_code')",
    )
    assert {(r["t"], r["target"]) for r in links} == {
        ("feedback_answer", "service"), ("feedback_code", "service"),
    }  # fmt: skip


async def _summary(client: Client, headers: dict[str, str], **params: str) -> Any:
    answer = await client.get("/api/v1/feedback/summary", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_fewer_than_five_answers_show_nothing_and_five_do(
    voice: Client, demo_db: str
) -> None:
    ref_id, officer, provider = await _in_service(voice, demo_db)
    coordinator = await token(demo_db, "coordinator", "RS")
    codes = [(await _issue(voice, ref_id, officer))["code"] for _ in range(5)]
    codes.append((await _issue(voice, ref_id, coordinator))["code"])
    for code in codes[:4]:
        assert (await _answer(voice, code, helped=3)).status_code == 201
    today = dt.datetime.now(dt.UTC).date()
    closed = last_closed(today, "quarter")
    current = period_of(today, "quarter")
    # The open quarter is never shown, whatever it holds.
    assert (await _summary(voice, coordinator))["cells"] == []
    open_quarter = await voice.get(
        "/api/v1/feedback/summary", params={"quarter": current.label}, headers=coordinator
    )
    assert open_quarter.status_code == 422
    assert open_quarter.json()["field"] == "query.quarter"

    # The quarter ends: four answers, nothing shown.
    await sql(demo_db, "UPDATE feedback_answer SET quarter = $1", closed.start)
    four = await _summary(voice, coordinator, quarter=closed.label)
    assert (four["cells"], four["suppressed"], four["threshold"]) == ([], 1, 5)

    # Five: shown, per service and per code, to whom it concerns.
    assert (await _answer(voice, codes[4], helped=None)).status_code == 201
    await sql(demo_db, "UPDATE feedback_answer SET quarter = $1", closed.start)
    shown = await _summary(voice, coordinator, quarter=closed.label)
    [cell] = shown["cells"]
    assert (cell["service_id"], cell["answers"], cell["safe"]) == (str(SHELTER), 5, 5.0)
    assert cell["helped"] is None  # four said how much it helped: fewer than five
    assert (await _summary(voice, provider))["cells"][0]["answers"] == 5
    other_org = await token(demo_db, "provider", org=await _other_org(demo_db))
    assert (await _summary(voice, other_org))["cells"] == []
    funder = await token(demo_db, "funder", "RS")
    by_service = await voice.get("/api/v1/feedback/summary", headers=funder)
    assert by_service.status_code == 403
    [by_code] = (await _summary(voice, funder, by="code"))["cells"]
    assert (by_code["service_id"], by_code["participant"], by_code["answers"]) == (None, "RS", 5)
    assert (await _summary(voice, await token(demo_db, "funder", "AL"), by="code"))["cells"] == []
    officer_reads = await voice.get("/api/v1/feedback/summary", headers=officer)
    assert officer_reads.status_code == 403


async def _other_org(db: str) -> Any:
    [row] = await sql(db, "SELECT id FROM organization WHERE id <> $1 ORDER BY id LIMIT 1",
                      SHELTER_ORG)  # fmt: skip
    return row["id"]


async def test_each_answer_feeds_the_matchers_feedback_term(voice: Client, demo_db: str) -> None:
    ref_id, officer, _ = await _in_service(voice, demo_db)
    skipped: dict[str, int | None] = dict.fromkeys(ALL_FIVES)
    for values in ({"safe": 1, "respected": 1, "understood": 2, "helped": 1}, skipped):
        code = (await _issue(voice, ref_id, officer))["code"]
        assert (await _answer(voice, code, **values)).status_code == 201
    [record] = await sql(
        demo_db, "SELECT feedback_n, feedback_sum FROM service_track_record WHERE service_id = $1",
        SHELTER,
    )  # fmt: skip
    # (1 + 1 + 2 + 1) / 4 = 1.25: 1; every question skipped: stored, not counted.
    assert (record["feedback_n"], record["feedback_sum"]) == (1, 1)
    [stored] = await sql(demo_db, "SELECT count(*) AS n FROM feedback_answer")
    assert stored["n"] == 2


async def test_a_code_cell_never_gives_away_a_hidden_services_few_answers(
    voice: Client, demo_db: str
) -> None:
    # Six answers for the shelter and two for another Serbian emergency shelter: the
    # coordinator sees the shelter's six, so the code's eight would give away the other's
    # two by subtraction; it is withheld from the coordinator (complementary suppression)
    # but shown to a funder, who reads no service cells. Once the other shelter has five
    # answers it is shown itself, and the code cell is safe again.
    closed = last_closed(dt.datetime.now(dt.UTC).date(), "quarter")
    [other] = await sql(
        demo_db,
        "SELECT s.id FROM service s JOIN location l ON l.id = s.location_id"
        " JOIN organization o ON o.id = s.organization_id"
        " WHERE s.taxonomy_code = 'ACC.EMERG' AND o.participant_code = 'RS' AND s.id <> $1"
        " ORDER BY s.id LIMIT 1",
        SHELTER,
    )

    async def answers(service: Any, n: int) -> None:
        for _ in range(n):
            await sql(
                demo_db,
                "INSERT INTO feedback_answer (service_id, taxonomy_code, participant_code,"
                " quarter, safe, respected, understood, helped, score)"
                " VALUES ($1, 'ACC.EMERG', 'RS', $2, 1, 1, 1, 1, 1)",
                service,
                closed.start,
            )

    await answers(SHELTER, 6)
    await answers(other["id"], 2)
    coordinator = await token(demo_db, "coordinator", "RS")
    funder = await token(demo_db, "funder", "RS")
    services = await _summary(voice, coordinator, quarter=closed.label)
    assert [(c["service_id"], c["answers"]) for c in services["cells"]] == [(str(SHELTER), 6)]
    by_code = await _summary(voice, coordinator, by="code", quarter=closed.label)
    assert (by_code["cells"], by_code["suppressed"]) == ([], 1)
    [funders] = (await _summary(voice, funder, by="code", quarter=closed.label))["cells"]
    assert funders["answers"] == 8
    await answers(other["id"], 3)
    [cell] = (await _summary(voice, coordinator, by="code", quarter=closed.label))["cells"]
    assert cell["answers"] == 11
