"""One name per filter (code, participant, area, period); old names work, marked deprecated."""

from __future__ import annotations

import argparse
import datetime as dt

from litestar.testing import AsyncTestClient

from csomatch.cli import parser
from csomatch.gaps.periods import last_closed, period_of
from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
BELGRADE = "RS-792680"

#: route -> (new name, old name) of every renamed filter.
RENAMED = {
    ("get", "/api/v1/gaps"): ("code", "service"),
    ("get", "/api/v1/gaps.csv"): ("code", "service"),
    ("get", "/api/v1/areas"): ("area", "code"),
    ("get", "/api/v1/coordination/referrals"): ("participant", "jurisdiction"),
    ("get", "/api/v1/coordination/approvals"): ("participant", "jurisdiction"),
    ("get", "/api/v1/coordination/time-limits"): ("participant", "jurisdiction"),
    ("put", "/api/v1/coordination/time-limits"): ("participant", "jurisdiction"),
    ("get", "/api/v1/feedback/summary"): ("period", "quarter"),
}


async def test_old_names_are_marked_deprecated_in_the_openapi_document(client: Client) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    deprecated = set()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for p in operation.get("parameters", []):
                if p["in"] == "query" and p.get("deprecated"):
                    assert p["schema"].get("deprecated") is True
                    assert "deprecated" in p["description"]
                    deprecated.add((method, path, p["name"]))
                    continue
    assert deprecated == {(m, path, old) for (m, path), (_, old) in RENAMED.items()}
    for (method, path), (new, _) in RENAMED.items():
        params = {p["name"]: p for p in doc["paths"][path][method]["parameters"]}
        assert not params[new].get("deprecated")
    # the filters that already had one name, and the search's origin, keep theirs
    search = {p["name"] for p in doc["paths"]["/api/v1/services/search"]["get"]["parameters"]}
    assert {"code", "participant", "area"} <= search


async def test_gaps_filter_by_code_and_by_its_old_name(client: Client, demo_db: str) -> None:
    marri = await make_token(demo_db, "funder", "MARRI")
    base = "/api/v1/gaps?granularity=quarter&periods=1&area=ALL"
    every = (await client.get(base, headers=marri)).json()["cells"]
    assert len({c["taxonomy_code"] for c in every}) > 1
    by_code = await client.get(f"{base}&code=ACC.EMERG", headers=marri)
    assert by_code.status_code == 200, by_code.text
    cells = by_code.json()["cells"]
    assert cells
    assert {c["taxonomy_code"] for c in cells} == {"ACC.EMERG"}
    old = await client.get(f"{base}&service=ACC.EMERG", headers=marri)
    assert old.json() == by_code.json()
    csv_new = await client.get("/api/v1/gaps.csv?periods=1&code=ACC.EMERG", headers=marri)
    csv_old = await client.get("/api/v1/gaps.csv?periods=1&service=ACC.EMERG", headers=marri)
    assert csv_new.status_code == 200
    assert csv_new.text == csv_old.text
    assert all(",ACC.EMERG," in row for row in csv_new.text.splitlines()[2:])
    both = await client.get(f"{base}&code=ACC.EMERG&service=ACC.EMERG", headers=marri)
    assert both.status_code == 400
    assert both.json()["field"] == "query.service"
    bad = await client.get(f"{base}&code=nope", headers=marri)
    assert (bad.status_code, bad.json()["field"]) == (400, "query.code")


async def test_areas_by_area_and_by_its_old_name(client: Client, demo_db: str) -> None:
    officer = await make_token(demo_db, "officer", "RS")
    new = await client.get(f"/api/v1/areas?area={BELGRADE}&area=RS-787657", headers=officer)
    old = await client.get(f"/api/v1/areas?code={BELGRADE}&code=RS-787657", headers=officer)
    assert new.status_code == 200, new.text
    assert {a["code"] for a in new.json()} == {BELGRADE, "RS-787657"}
    assert old.json() == new.json()
    both = await client.get(f"/api/v1/areas?area={BELGRADE}&code={BELGRADE}", headers=officer)
    assert (both.status_code, both.json()["field"]) == (400, "query.code")


async def test_coordination_by_participant_and_by_its_old_name(
    client: Client, demo_db: str
) -> None:
    rs = await make_token(demo_db, "coordinator", "RS")
    region = await make_token(demo_db, "admin", "MARRI")
    for path in ("referrals", "approvals", "time-limits"):
        url = f"/api/v1/coordination/{path}"
        new = await client.get(f"{url}?participant=AL", headers=region)
        old = await client.get(f"{url}?jurisdiction=AL", headers=region)
        assert new.status_code == 200, new.text
        assert _without_time(new.json()) == _without_time(old.json())
        refused = await client.get(f"{url}?participant=AL", headers=rs)
        assert (refused.status_code, refused.json()["field"]) == (403, "query.participant")
        refused_old = await client.get(f"{url}?jurisdiction=AL", headers=rs)
        assert (refused_old.status_code, refused_old.json()["field"]) == (
            403,
            "query.jurisdiction",
        )
        both = await client.get(f"{url}?participant=AL&jurisdiction=AL", headers=region)
        assert both.status_code == 400
    limits = await client.get("/api/v1/coordination/time-limits?participant=AL", headers=region)
    assert limits.json()["jurisdiction"] == "AL"


def _without_time(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k != "as_of"}


async def test_feedback_summary_by_period_and_by_its_old_name(client: Client, demo_db: str) -> None:
    coordinator = await make_token(demo_db, "coordinator", "RS")
    today = dt.datetime.now(dt.UTC).date()
    closed = last_closed(today, "quarter").label
    current = period_of(today, "quarter").label
    url = "/api/v1/feedback/summary"
    new = await client.get(url, params={"period": closed}, headers=coordinator)
    old = await client.get(url, params={"quarter": closed}, headers=coordinator)
    assert new.status_code == 200, new.text
    assert new.json() == old.json()
    open_new = await client.get(url, params={"period": current}, headers=coordinator)
    assert (open_new.status_code, open_new.json()["field"]) == (422, "query.period")
    open_old = await client.get(url, params={"quarter": current}, headers=coordinator)
    assert (open_old.status_code, open_old.json()["field"]) == (422, "query.quarter")
    both = await client.get(url, params={"period": closed, "quarter": closed}, headers=coordinator)
    assert both.status_code == 400


def test_the_cli_takes_code_and_still_its_old_flag(capsys: object) -> None:
    new = parser().parse_args(["gaps", "--code", "ACC.EMERG"])
    assert isinstance(new, argparse.Namespace)
    assert new.code == "ACC.EMERG"
    old = parser().parse_args(["gaps", "--service", "ACC.EMERG"])
    assert old.code == "ACC.EMERG"
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "--service is deprecated; use --code" in err
    assert "--service" not in parser()._subparsers._group_actions[0].choices["gaps"].format_help()  # type: ignore[union-attr]
