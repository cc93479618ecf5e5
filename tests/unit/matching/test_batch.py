"""Batch placement without a database: groups in one provider, capacity, shared rule work."""

from __future__ import annotations

from typing import Any

from matching_factories import NIS, PARAMS, make_service, make_snapshot

from csomatch.matching.batch import BatchPerson, place
from csomatch.matching.profile import Need
from csomatch.matching.terms import DEFAULT_WEIGHTS


def person(key: str, **overrides: Any) -> BatchPerson:
    """A synthetic adult woman in Belgrade who needs emergency shelter."""
    values: dict[str, Any] = {
        "key": key,
        "needs": [Need(code="ACC.EMERG")],
        "age_band": "25-59",
        "gender": "female",
        "languages": ["sr"],
        "current_area": "RS-1",
        "jurisdiction": "RS",
    }
    values.update(overrides)
    return BatchPerson(**values)


FAMILY = {"accepts_families": True, "accepts_accompanied_children": True, "max_group_size": 5}


def test_a_family_takes_its_places_in_one_shelter_and_capacity_holds() -> None:
    big = make_service(name="big", available=4, **FAMILY)
    small = make_service(name="small", available=2, **FAMILY)
    people = [
        person("f1", group_children_age_bands=["0-5", "6-13"]),
        person("p1"),
        person("p2"),
        person("p3"),
    ]
    result = place(people, make_snapshot([big, small]), DEFAULT_WEIGHTS, PARAMS)
    placed = {p.key: p.needs[0] for p in result.people}
    family = placed["f1"]
    assert family.places == 3
    assert family.assigned is not None
    used: dict[str, int] = {}
    for need in placed.values():
        if need.assigned:
            used[need.assigned.service_name] = used.get(need.assigned.service_name, 0)
            used[need.assigned.service_name] += need.places
    assert used["big"] <= 4
    assert used.get("small", 0) <= 2
    # 6 places for 6 people: everyone fits, so the plan finds the arrangement.
    assert result.plan.unmet == 0
    assert "cp-sat" in result.plan.solver
    assert result.plan.status == "optimal"


def test_a_family_counts_as_its_people_when_places_are_short() -> None:
    # Three places: the family of three, or two single women. Leaving three people
    # without shelter costs more than leaving two, so the family is placed.
    shelter = make_service(available=3, **FAMILY)
    people = [
        person("p1"),
        person("p2"),
        person("f1", group_children_age_bands=["0-5", "6-13"]),
    ]
    result = place(people, make_snapshot([shelter]), DEFAULT_WEIGHTS, PARAMS)
    placed = {p.key: p.needs[0] for p in result.people}
    assert placed["f1"].assigned is not None
    assert placed["p1"].unmet_reason == placed["p2"].unmet_reason == "no_capacity"


def test_people_with_the_same_facts_keep_their_own_distances() -> None:
    # The rules run once for both (same facts, same code), but each is measured from
    # their own area.
    shelter = make_service(available=5)
    people = [person("a"), person("b", current_area="RS-2")]
    result = place(people, make_snapshot([shelter]), DEFAULT_WEIGHTS, PARAMS)
    a, b = (p.needs[0].assigned for p in result.people)
    assert a is not None
    assert b is not None
    assert a.distance_km < 1
    assert b.distance_km > 150  # Niš to Belgrade, about 200 km
    assert b.parts["distance"] > a.parts["distance"]
    assert (shelter.latitude, shelter.longitude) != NIS


def test_the_joint_plan_beats_first_come_first_served() -> None:
    anyone = make_service(name="anyone", available=1)
    men_only = make_service(
        name="men only", available=1, genders=["male"], latitude=NIS[0], longitude=NIS[1]
    )
    man, woman = person("m", gender="male"), person("w")
    result = place([man, woman], make_snapshot([anyone, men_only]), DEFAULT_WEIGHTS, PARAMS)
    him, her = (p.needs[0].assigned for p in result.people)
    assert him is not None
    assert her is not None
    assert (him.service_name, her.service_name) == ("men only", "anyone")
