"""Soft terms: weights from settings, track records with a prior, proximity to accommodation."""

from __future__ import annotations

import random
import uuid

import msgspec
import numpy as np
import pytest
from geopy.distance import geodesic
from matching_factories import NIS, PARAMS, make_profile, make_service, make_snapshot, run_suggest

from csomatch.db.track_records import TrackRecord
from csomatch.domain import Service
from csomatch.geo import distance_km, distance_matrix_km
from csomatch.matching import terms
from csomatch.matching.profile import Need, NeedsProfile
from csomatch.matching.suggest import suggest
from csomatch.settings import Settings, SettingsError

W = terms.DEFAULT_WEIGHTS
SKOPJE = (41.9981, 21.4254)


def record(offers: int = 0, accepted: int = 0, n: int = 0, total: int = 0) -> TrackRecord:
    return TrackRecord(
        service_id=uuid.uuid4(), offers=offers, accepted=accepted, feedback_n=n, feedback_sum=total
    )


def test_the_ellipsoidal_distance_agrees_with_geopy_within_ten_metres() -> None:
    rng = random.Random(3)
    pairs = [
        ((rng.uniform(39, 47), rng.uniform(13, 24)), (rng.uniform(39, 47), rng.uniform(13, 24)))
        for _ in range(200)
    ]
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    ours = np.diag(distance_matrix_km(a, b))
    exact = np.array([geodesic(p, q).km for p, q in pairs])
    assert np.max(np.abs(ours - exact)) < 0.01
    assert distance_km(NIS, NIS) == 0.0


def test_weights_come_from_settings_in_kilometres() -> None:
    w = terms.weights_from_settings(
        Settings(match_interpreter_km=2.5, match_proximity_weight=0.25, match_acceptance_km=0)
    )
    assert w.interpreter == 25
    assert w.proximity_milli == 250
    assert w.acceptance == 0
    assert terms.weights_from_settings(Settings()) == W


def test_settings_read_match_weights_from_the_environment() -> None:
    s = Settings.from_env({"CSOMATCH_MATCH_FEEDBACK_KM": "7.5", "CSOMATCH_MATCH_TIME_LIMIT_S": "2"})
    assert (s.match_feedback_km, s.match_time_limit_s) == (7.5, 2.0)
    with pytest.raises(SettingsError, match="CSOMATCH_MATCH_ACCEPTANCE_KM"):
        Settings.from_env({"CSOMATCH_MATCH_ACCEPTANCE_KM": "-1"})


def test_a_new_service_is_not_punished_for_having_no_record() -> None:
    assert terms.acceptance_cost(None, W) == 0
    assert terms.feedback_cost(None, W) == 0
    assert terms.acceptance_cost(record(offers=10, accepted=10), W) == 0
    assert terms.feedback_cost(record(n=4, total=20), W) == 0


def test_declines_and_poor_feedback_cost_more_the_more_there_are() -> None:
    few = terms.acceptance_cost(record(offers=2, accepted=0), W)
    many = terms.acceptance_cost(record(offers=50, accepted=0), W)
    assert 0 < few < many <= W.acceptance
    poor = terms.feedback_cost(record(n=3, total=3), W)
    worse = terms.feedback_cost(record(n=60, total=60), W)
    assert 0 < poor < worse <= W.feedback


def test_a_poor_track_record_ranks_a_service_lower() -> None:
    good, poor = make_service(name="good"), make_service(name="poor")
    result = run_suggest(
        make_profile(),
        [poor, good],
        records={
            poor.id: msgspec.structs.replace(record(offers=20, accepted=2), service_id=poor.id)
        },
    )
    (shelter,) = result.needs
    assert [s.service_name for s in shelter.suggestions] == ["good", "poor"]
    assert shelter.suggestions[1].parts["acceptance"] > 0
    assert shelter.suggestions[0].parts["acceptance"] == 0
    assert set(shelter.suggestions[0].parts) == set(terms.TERMS)


def _nis_person_needing_shelter_and_counselling() -> tuple[NeedsProfile, list[Service]]:
    belgrade_shelter = make_service(name="Belgrade shelter")
    skopje_shelter = make_service(
        name="Skopje shelter", latitude=SKOPJE[0], longitude=SKOPJE[1], area_code="MK-1"
    )
    counselling = make_service(name="Belgrade counselling", taxonomy_code="PSY.COUNSEL")
    profile = make_profile(
        current_area="RS-2", needs=[Need(code="ACC.EMERG"), Need(code="PSY.COUNSEL")]
    )
    return profile, [skopje_shelter, belgrade_shelter, counselling]


def test_the_shelter_near_the_other_services_wins_and_they_are_measured_from_it() -> None:
    # From Niš, Skopje (~150 km) is nearer than Belgrade (~200 km), but the only
    # counselling is in Belgrade: one coherent plan puts the person in Belgrade.
    profile, services = _nis_person_needing_shelter_and_counselling()
    result = run_suggest(profile, services)
    shelter, counselling = result.needs
    assert shelter.suggestions[0].service_name == "Belgrade shelter"
    assert shelter.suggestions[0].in_plan
    assert shelter.suggestions[0].parts["proximity"] == 0
    assert shelter.suggestions[1].parts["proximity"] > 3000  # ~320 km to Belgrade
    (chosen,) = counselling.suggestions
    assert chosen.in_plan
    assert chosen.distance_from == "accommodation"
    assert chosen.distance_km < 1
    for need in result.needs:
        for s in need.suggestions:
            assert sum(s.parts.values()) == s.total
    assert result.plan.objective == shelter.suggestions[0].total + chosen.total


def test_without_the_proximity_weight_the_nearest_shelter_wins() -> None:
    profile, services = _nis_person_needing_shelter_and_counselling()
    weights = msgspec.structs.replace(W, proximity_milli=0)

    result = suggest(profile, make_snapshot(services), weights, PARAMS)  # type: ignore[arg-type]
    shelter, counselling = result.needs
    assert shelter.suggestions[0].service_name == "Skopje shelter"
    assert counselling.suggestions[0].distance_km > 300
