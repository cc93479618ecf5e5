"""The group split over the API: the same cells restricted to one group, suppressed alike."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from tests.api.conftest import make_token

Client = AsyncTestClient  # type: ignore[type-arg]
COUNTS = ("needs", "unmet", "unmet_capacity", "declines", "searches")


async def test_a_funder_reads_the_cells_of_one_group_and_area_demand_is_withheld(
    client: Client, demo_db: str
) -> None:
    headers = await make_token(demo_db, "funder", "RS")
    whole = await client.get("/api/v1/gaps?granularity=quarter&periods=1", headers=headers)
    split = await client.get(
        "/api/v1/gaps?granularity=quarter&periods=1&group=unaccompanied_children",
        headers=headers,
    )
    assert split.status_code == 200, split.text
    cells = split.json()["cells"]
    assert cells
    assert {c["participant_code"] for c in cells} == {"RS"}
    for cell in cells:
        for name in COUNTS:
            value = cell[name]
            assert value is None or value == 0 or value >= 5, (cell["key"], name, value)
            if cell["area_code"] != "ALL":
                assert value is None, (cell["key"], name)
        assert "survivor_led_capacity_share" in cell
    # a group never has more eligible places than the cell has
    places = {c["key"]: c["capacity"] for c in whole.json()["cells"]}
    assert all(c["capacity"] <= places.get(c["key"], c["capacity"]) for c in cells)
    csv = await client.get("/api/v1/gaps.csv?granularity=quarter&group=women", headers=headers)
    assert csv.status_code == 200
    assert "survivor_led_capacity_share" in csv.text.splitlines()[0]
    bad = await client.get("/api/v1/gaps?group=martians", headers=headers)
    assert bad.status_code == 400
    assert "group" in bad.text
