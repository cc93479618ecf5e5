"""Catchments, severity and sentences of the gap cells (pure: no database)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from csomatch.db.gaps import DemandRow, SupplyRow
from csomatch.gaps.catchments import (
    DEFAULT_CATCHMENTS,
    FALLBACK,
    Site,
    catchment_of,
    covered_positions,
    load_catchments,
)
from csomatch.gaps.cells import build_cells
from csomatch.gaps.periods import parse_period
from csomatch.gaps.sentences import TEMPLATES, Context, Names, explain_cells
from csomatch.gaps.severity import QUIET_CAP, Inputs, classify, cliff_weight

# Four Serbian towns (gazetteer points): Belgrade, Novi Sad (70 km), Niš (200 km), Subotica.
CENTRES = {
    "RS-792680": (44.80401, 20.46513),
    "RS-3194360": (45.25167, 19.83694),
    "RS-787657": (43.32472, 21.90333),
    "RS-3189595": (46.1, 19.66667),
}
NAMES = Names(
    areas={"RS-792680": "Belgrade", "RS-3194360": "Novi Sad", "RS-787657": "Niš"},
    codes={
        "ACC.SECURE": "High-security shelter",
        "PSY.COUNSEL": "Counselling / psychosocial support",
        "DOC.ID": "Identity and travel documents",
        "ACC.EMERG": "Emergency safe accommodation",
    },
    participants={"RS": "Serbia"},
)


def _site(area: str, code: str) -> Site:
    lat, lon = CENTRES[area]
    return Site(
        participant_code="RS", area_code=area, taxonomy_code=code, latitude=lat, longitude=lon
    )


def test_the_catchment_table_names_a_reason_for_every_entry() -> None:
    assert catchment_of("ACC.SECURE").kind == "national"
    assert catchment_of("RET.VOLUNTARY").kind == "national"  # by its group
    assert catchment_of("ACC.EMERG").km == 100
    assert catchment_of("PSY.COUNSEL").km == 30
    assert catchment_of("NEW.CODE") is FALLBACK
    assert all(c.reason for c in DEFAULT_CATCHMENTS.values())


def test_a_national_shelter_covers_far_towns_and_local_counselling_does_not() -> None:
    wanted = [("RS", area, code) for area in CENTRES for code in ("ACC.SECURE", "PSY.COUNSEL")]
    sites = [_site("RS-792680", "ACC.SECURE"), _site("RS-792680", "PSY.COUNSEL")]
    covered = covered_positions(wanted, sites, CENTRES)
    # one high-security shelter in Belgrade covers every town of Serbia
    assert {a for _, a, c in covered if c == "ACC.SECURE"} == set(CENTRES)
    # counselling in Belgrade reaches 30 km: Belgrade only, not Novi Sad (70 km) nor Niš
    assert {a for _, a, c in covered if c == "PSY.COUNSEL"} == {"RS-792680"}
    # another participant's shelter covers nothing in Serbia
    other = Site(
        participant_code="BA", area_code="BA-1", taxonomy_code="ACC.SECURE", latitude=44.8,
        longitude=20.46,
    )  # fmt: skip
    assert covered_positions(wanted, [other], CENTRES) == frozenset()


def test_a_regional_catchment_reaches_its_radius_in_a_straight_line() -> None:
    wanted = [("RS", "RS-3194360", "ACC.EMERG"), ("RS", "RS-787657", "ACC.EMERG")]
    covered = covered_positions(wanted, [_site("RS-792680", "ACC.EMERG")], CENTRES)
    assert covered == {("RS", "RS-3194360", "ACC.EMERG")}  # Novi Sad 70 km, Niš 200 km


def test_a_catchments_file_overrides_the_table(tmp_path: Path) -> None:
    path = tmp_path / "catchments.json"
    path.write_text(json.dumps({"ACC.EMERG": {"kind": "regional", "km": 250, "reason": "x"}}))
    table = load_catchments(path)
    assert catchment_of("ACC.EMERG", table).km == 250
    assert catchment_of("ACC.SECURE", table).kind == "national"
    wanted = [("RS", "RS-787657", "ACC.EMERG")]
    assert covered_positions(wanted, [_site("RS-792680", "ACC.EMERG")], CENTRES, table)
    path.write_text(json.dumps({"ACC.EMERG": {"kind": "local"}}))
    with pytest.raises(ValueError, match=r"ACC\.EMERG"):
        load_catchments(path)


def _inputs(**changes: object) -> Inputs:
    base: dict[str, object] = dict(
        any_demand=True, needs=20, unmet=0, unmet_share=0.0, uncovered=False,
        under_capacity=False, underfunded=False, single_donor=False, stale_services=0,
        capacity=100, free=50, utilisation=0.5, coverage=1.0, cliff_months=None,
        units_ending=0.0,
    )  # fmt: skip
    base.update(changes)
    return Inputs(**base)  # type: ignore[arg-type]


@given(
    capacity=st.integers(1, 1000),
    free_share=st.floats(0.001, 1.0),
    ending_share=st.floats(0.0, 1.0),
    months=st.sampled_from([3, 6, 12, None]),
    single_donor=st.booleans(),
    underfunded=st.booleans(),
    stale=st.integers(0, 3),
)
def test_a_cell_without_demand_and_with_free_places_is_never_above_2(
    capacity: int,
    free_share: float,
    ending_share: float,
    months: int | None,
    single_donor: bool,
    underfunded: bool,
    stale: int,
) -> None:
    free = max(1, round(capacity * free_share))
    x = _inputs(
        any_demand=False, needs=0, unmet=0, unmet_share=None, capacity=capacity, free=free,
        utilisation=(capacity - free) / capacity, cliff_months=months,
        units_ending=capacity * ending_share, single_donor=single_donor,
        underfunded=underfunded, stale_services=stale, coverage=0.1 if underfunded else 1.0,
    )  # fmt: skip
    assert classify(x)[0] <= QUIET_CAP


def test_the_old_worst_case_a_quiet_funding_cliff_is_now_2() -> None:
    # rights information: no need recorded, 335 of 800 places free, funding ends in 40 days
    x = _inputs(
        any_demand=False, needs=0, unmet=0, unmet_share=None, capacity=800, free=335,
        utilisation=465 / 800, cliff_months=3, units_ending=800.0,
    )  # fmt: skip
    assert classify(x) == (2, "quiet")


def test_a_cliff_weighs_in_proportion_to_the_places_it_closes() -> None:
    def severity(ending: float, months: int = 3, utilisation: float = 0.9) -> int:
        free = round(100 * (1 - utilisation))
        x = _inputs(cliff_months=months, units_ending=ending, utilisation=utilisation, free=free)
        return classify(x)[0]

    # 90 of 100 places in use, funding ends within 3 months for 60, 30, 12, 5 of them
    assert [severity(60), severity(30), severity(12), severity(5)] == [5, 4, 3, 2]
    # the same places further away weigh less: within 6 and 12 months
    assert [severity(60, 6), severity(60, 12)] == [4, 3]
    # and less when fewer of them serve demand (half in use)
    assert severity(60, utilisation=0.5) == 4
    weights = [cliff_weight(_inputs(cliff_months=3, units_ending=float(n))) for n in (10, 20)]
    assert weights[1] == pytest.approx(2 * weights[0])


def test_unmet_demand_sets_the_class() -> None:
    assert classify(_inputs(unmet=12, unmet_share=0.6)) == (5, "unmet")
    assert classify(_inputs(unmet=6, unmet_share=0.3)) == (4, "unmet")
    assert classify(_inputs(unmet=1, unmet_share=0.05)) == (2, "unmet")
    assert classify(_inputs(uncovered=True, unmet=0, free=None, capacity=0)) == (4, "uncovered")
    assert classify(_inputs(unmet=None, unmet_share=None)) == (2, "unmet")  # hidden: 1-4
    assert classify(_inputs()) == (1, "none")


CODE = re.compile(r"\b[A-Z]{2,}\.[A-Z]{2,}\b|\b(AL|BA|XK|ME|MK|RS)-\d+\b")


def _demand(area: str, code: str, needs: int, unmet: int) -> DemandRow:
    return DemandRow(
        participant_code="RS", area_code=area, taxonomy_code=code, month=dt.date(2026, 11, 1),
        needs=needs, unmet=unmet, unmet_capacity=unmet, declines=0, searches=0,
    )  # fmt: skip


def _supply(area: str, code: str, capacity: int, free: int, ending: float) -> SupplyRow:
    return SupplyRow(
        period="2026-11", participant_code="RS", area_code=area, taxonomy_code=code,
        services=1, stale_services=0, capacity=capacity, known_capacity=capacity,
        known_free=free, funded_units=float(capacity), estimated_units=0.0, funded_services=1,
        funded_through=dt.date(2026, 12, 31) if ending else None, units_ending=ending,
        funder_refs=["eu"], funder_names=["A Fund"], funder_units=[float(capacity)],
    )  # fmt: skip


def test_every_cell_has_a_sentence_in_words_without_codes() -> None:
    demand = [
        _demand("RS-792680", "ACC.EMERG", 12, 7),
        _demand("RS-787657", "DOC.ID", 9, 0),
        _demand("RS-3194360", "PSY.COUNSEL", 2, 1),
        _demand("RS-787657", "ACC.SECURE", 6, 0),
    ]
    supply = [
        _supply("RS-792680", "ACC.EMERG", 10, 0, 10.0),
        _supply("RS-792680", "ACC.SECURE", 8, 2, 0.0),
        _supply("RS-3194360", "INFO.RIGHTS", 800, 335, 800.0),
    ]
    sites = [_site("RS-792680", "ACC.EMERG"), _site("RS-792680", "ACC.SECURE")]
    wanted = {(d.participant_code, str(d.area_code), d.taxonomy_code) for d in demand}
    wanted |= {("RS", "ALL", d.taxonomy_code) for d in demand}
    context = Context(covered=covered_positions(wanted, sites, CENTRES), names=NAMES)
    cells = build_cells(
        demand_rows=demand, reason_rows=[], supply_rows=supply,
        periods=[parse_period("2026-11")], today=dt.date(2026, 12, 3), stale_hours=72,
        context=context,
    )  # fmt: skip
    assert {c.sentence for c in cells} == {""}  # written for the cells a query returns
    cells = explain_cells(cells, context)
    by_key = {c.key: c for c in cells}
    assert len(cells) > 5
    for cell in cells:
        assert cell.sentence_template in TEMPLATES
        assert cell.sentence, cell.key
        assert not CODE.search(cell.sentence), cell.sentence
        for flag in cell.flags:
            assert not CODE.search(flag.why), flag.why
    bel = by_key["RS:RS-792680:ACC.EMERG:2026-11"]
    assert bel.severity == 5
    assert bel.sentence == (
        "Emergency safe accommodation in Belgrade: 7 people could not be placed in November "
        "2026; 10 of 10 places lose their funding by 2026-12-31."
    )
    assert bel.sentence_values["unmet"] == 7
    # the high-security shelter in Belgrade covers Niš: not uncovered
    assert by_key["RS:RS-787657:ACC.SECURE:2026-11"].flags == []
    # identity documents in Niš: none within 100 km
    doc = by_key["RS:RS-787657:DOC.ID:2026-11"]
    assert [f.code for f in doc.flags] == ["uncovered"]
    assert doc.sentence == (
        "Identity and travel documents in Niš: 9 needs in November 2026 and no eligible "
        "provider within 100 km."
    )
    quiet = by_key["RS:RS-3194360:INFO.RIGHTS:2026-11"]
    assert (quiet.severity, quiet.sentence_template) == (2, "quiet")
    # a code without a name in the names given is still no code
    assert "a service without a name" in quiet.sentence


def test_the_catchments_file_is_a_setting_that_must_exist(tmp_path: Path) -> None:
    from csomatch.settings import Settings, SettingsError

    path = tmp_path / "catchments.json"
    path.write_text("{}")
    assert Settings.from_env({"CSOMATCH_CATCHMENTS_FILE": str(path)}).catchments_file == path
    with pytest.raises(SettingsError, match="CSOMATCH_CATCHMENTS_FILE"):
        Settings.from_env({"CSOMATCH_CATCHMENTS_FILE": str(tmp_path / "missing.json")})
