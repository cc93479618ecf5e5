"""The README's tour works on the demo: a woman who needs emergency accommodation is placed.

Every participant has a licensed women's emergency shelter with free, fresh places
(seed_data/README.md, "The tour"), so an officer of any participant gets a suggestion in their
own participant; in Serbia the README's commands find the Belgrade shelter and a hold on the
referral's suggestion succeeds.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from tests.api.referral_factories import idem, referral_body, token

Client = AsyncTestClient  # type: ignore[type-arg]

#: The Belgrade women's emergency shelter (seed_data/README.md).
BELGRADE_SHELTER = "56cc7109-d66f-55f3-9b48-7fd6d6f0e3c4"
#: Per participant: an area near its women's emergency shelter, and a language spoken there.
WHERE = {
    "AL": ("AL-3183875", "sq"),
    "BA": ("BA-3191281", "bs"),
    "XK": ("XK-786714", "sq"),
    "ME": ("ME-3193044", "sr"),
    "MK": ("MK-785842", "mk"),
    "RS": ("RS-792680", "sr"),
}


async def _post(client: Client, path: str, headers: dict[str, str], body: Any = None) -> Any:
    answer = await client.post(path, json=body, headers=headers | idem())
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _woman(participant: str) -> dict[str, Any]:
    area, language = WHERE[participant]
    return {
        "needs": [{"code": "ACC.EMERG", "priority": "must"}],
        "urgency": "emergency",
        "age_band": "25-59",
        "gender": "female",
        "languages": [language],
        "current_area": area,
        "jurisdiction": participant,
    }


@pytest.mark.parametrize("participant", sorted(WHERE))
async def test_an_officer_of_every_participant_gets_a_shelter_at_home(
    client: Client, demo_db: str, participant: str
) -> None:
    officer = await token(demo_db, "officer", participant, agency=f"{participant} police")
    found = await _post(client, "/api/v1/match/suggestions", officer, _woman(participant))
    [need] = found["needs"]
    at_home = [s for s in need["suggestions"] if s["participant"] == participant]
    assert at_home, need


async def test_the_readme_tour_in_serbia_ends_in_a_hold(client: Client, demo_db: str) -> None:
    officer = await token(demo_db, "officer", "RS", agency="RS police")
    search = await client.get(
        "/api/v1/services/search",
        params={"area": "RS-792680", "code": "ACC.EMERG", "available": "true"},
        headers=officer,
    )
    assert search.status_code == 200, search.text
    assert BELGRADE_SHELTER in {hit["service"]["id"] for hit in search.json()["hits"]}

    ref = await _post(client, "/api/v1/referrals", officer, referral_body())
    path = f"/api/v1/referrals/{ref['id']}"
    await _post(client, f"{path}/transitions", officer, {"to": "submitted"})
    matched = await _post(client, f"{path}/suggestions", officer)
    serbian = [
        s for need in matched["needs"] for s in need["suggestions"] if s["participant"] == "RS"
    ]
    assert serbian, matched
    hold = await _post(client, f"{path}/holds", officer, {"service_id": serbian[0]["service_id"]})
    assert hold["status"] == "held"
