"""Hard rules one by one on synthetic services, and cost parts that add up."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
from matching_factories import (
    BELGRADE,
    NIS,
    NOW,
    make_ctx,
    make_profile,
    make_service,
    run_suggest,
)

from csomatch import geo
from csomatch.domain import Service, may_serve, serving_participant
from csomatch.matching import rules, terms
from csomatch.matching.profile import Need, NeedsProfile


def reason(profile: NeedsProfile, service: Service, **ctx: Any) -> str | None:
    return rules.exclusion_reason(profile, profile.needs[0], service, make_ctx(**ctx))


def test_the_baseline_service_is_eligible() -> None:
    assert reason(make_profile(), make_service()) is None


def test_service_code() -> None:
    assert reason(make_profile(), make_service(taxonomy_code="ACC.LONG")) == "service_code"


def test_gender() -> None:
    assert reason(make_profile(), make_service(genders=["male"])) == "gender"
    assert reason(make_profile(), make_service(genders=["female"])) is None


def test_age_band_and_children() -> None:
    child = make_profile(age_band="14-17")
    assert reason(child, make_service()) == "age"
    alone = make_service(serves_unaccompanied_minors=True, age_bands=["14-17"])
    assert reason(child, alone) is None
    adult = make_profile()
    assert reason(adult, make_service(child_only=True, serves_unaccompanied_minors=True)) == "age"
    assert reason(make_profile(age_band="60+"), make_service(age_bands=["18-24"])) == "age"


def test_age_uncertain_is_treated_as_a_child() -> None:
    uncertain = make_profile(age_band="18-24", age_uncertain=True)
    assert reason(uncertain, make_service()) == "age"
    child_service = make_service(
        serves_unaccompanied_minors=True, age_bands=["14-17"], child_only=True
    )
    assert reason(uncertain, child_service) is None


# An adult women's shelter that takes children who come with their mother (and 14-17).
_ADULT_SHELTER = {"accepts_accompanied_children": True, "age_bands": ["14-17", "18-24", "25-59"]}


@pytest.mark.parametrize("code", ["ACC.EMERG", "PSY.COUNSEL", "LEGAL.AID"])
def test_an_unaccompanied_child_only_where_unaccompanied_minors_are_served(code: str) -> None:
    need = [Need(code=code)]
    for child in (
        make_profile(age_band="14-17", needs=need),
        make_profile(age_band="18-24", age_uncertain=True, needs=need),
    ):
        adult_place = make_service(taxonomy_code=code, **_ADULT_SHELTER)
        assert reason(child, adult_place) == "age"
        for_minors = make_service(
            taxonomy_code=code, serves_unaccompanied_minors=True, age_bands=["14-17"]
        )
        assert reason(child, for_minors) is None


def test_an_accompanied_child_is_placed_where_accompanied_children_are_accepted() -> None:
    child = make_profile(age_band="14-17", accompanied=True, group_adults=1)
    assert reason(child, make_service(**_ADULT_SHELTER)) is None
    # Accommodation for unaccompanied minors only is not a place for a child with a parent.
    minors_only = make_service(serves_unaccompanied_minors=True, age_bands=["14-17"])
    assert reason(child, minors_only) == "age"
    # Other services serve an accompanied child where they serve children at all.
    counselling = make_profile(age_band="14-17", accompanied=True, needs=[Need(code="PSY.COUNSEL")])
    youth = make_service(
        taxonomy_code="PSY.COUNSEL", serves_unaccompanied_minors=True, age_bands=["14-17"]
    )
    assert reason(counselling, youth) is None
    adults_only = make_service(taxonomy_code="PSY.COUNSEL", age_bands=["14-17", "18-24"])
    assert reason(counselling, adults_only) == "age"


def test_group_needs_families_and_size() -> None:
    family = make_profile(group_adults=1, group_children_age_bands=["0-5", "6-13"])
    assert reason(family, make_service()) == "group"
    roomy = {"accepts_families": True, "accepts_accompanied_children": True}
    assert reason(family, make_service(max_group_size=2, **roomy)) == "group"
    assert reason(family, make_service(max_group_size=3, **roomy)) is None
    # Children in the group need a shelter that accepts accompanied children.
    no_children = make_service(accepts_families=True, max_group_size=3)
    assert reason(family, no_children) == "group"
    assert reason(make_profile(group_adults=2), no_children) is None


@pytest.mark.parametrize("code", ["PSY.COUNSEL", "LEGAL.AID"])
def test_the_group_rule_is_for_accommodation_only(code: str) -> None:
    # A mother with two children gets counselling and legal aid from a service for one.
    mother = make_profile(group_children_age_bands=["0-5", "6-13"], needs=[Need(code=code)])
    assert reason(mother, make_service(taxonomy_code=code, max_group_size=1)) is None


def test_accepting_referrals() -> None:
    assert reason(make_profile(), make_service(accepting_referrals=False)) == "not_accepting"


def test_a_licence_is_needed_only_where_the_service_requires_one() -> None:
    profile = make_profile()
    unlicensed = make_service(licence_required=True)
    assert reason(profile, unlicensed) == "licence"
    assert reason(profile, unlicensed, licensed=frozenset({unlicensed.id})) is None
    # A service that needs no licence passes without one.
    assert reason(profile, make_service()) is None


def test_accommodation_needs_known_fresh_free_places() -> None:
    profile = make_profile()
    assert reason(profile, make_service(available=0)) == "no_capacity"
    assert reason(profile, make_service(available=3, held=3)) == "no_capacity"
    stale = NOW - dt.timedelta(hours=80)
    assert reason(profile, make_service(capacity_updated_at=stale)) == "no_capacity"
    assert reason(profile, make_service(available=None, held=None)) == "no_capacity"
    pair = make_profile(group_adults=2)
    roomy = {"accepts_families": True, "max_group_size": 4}
    assert reason(pair, make_service(available=1, **roomy)) == "no_capacity"
    assert reason(pair, make_service(available=2, **roomy)) is None


def test_capacity_does_not_exclude_other_services() -> None:
    legal = make_profile(needs=[Need(code="LEGAL.AID")])
    assert reason(legal, make_service(taxonomy_code="LEGAL.AID", available=0)) is None


def test_language_shared_or_interpreter() -> None:
    pashto = make_profile(languages=["ps"])
    assert reason(pashto, make_service()) == "language"
    assert reason(pashto, make_service(languages=["ps"])) is None
    needs_interpreter = make_profile(languages=["ps"], interpreter_needed=True)
    assert reason(needs_interpreter, make_service()) == "language"
    assert reason(needs_interpreter, make_service(), interpretation_available=True) is None


def test_interpretation_must_cover_a_language_of_the_person() -> None:
    interp = make_service(taxonomy_code="LANG.INTERP", languages=["sr", "ps"])
    assert rules.interpretation_available(make_profile(languages=["ps"]), [interp])
    assert not rules.interpretation_available(make_profile(languages=["ar"]), [interp])
    closed = msgspec.structs.replace(interp, accepting_referrals=False)
    assert not rules.interpretation_available(make_profile(languages=["ps"]), [closed])


def test_excluded_areas_and_minimum_distance() -> None:
    assert reason(make_profile(excluded_areas=["RS-1"]), make_service()) == "excluded_area"
    away = make_profile(excluded_areas=["RS-2"], min_distance_km=150)
    # Belgrade to Niš is about 200 km.
    assert reason(away, make_service(), excluded_points=(NIS,)) is None
    further = make_profile(excluded_areas=["RS-2"], min_distance_km=250)
    assert reason(further, make_service(), excluded_points=(NIS,)) == "excluded_area"


def test_high_risk_needs_high_security_accommodation() -> None:
    risky = make_profile(risk_level="high")
    assert reason(risky, make_service(security_level="elevated")) == "security"
    assert reason(risky, make_service(security_level="high")) is None
    counselling = make_profile(risk_level="high", needs=[Need(code="PSY.COUNSEL")])
    assert reason(counselling, make_service(taxonomy_code="PSY.COUNSEL")) is None


def test_every_need_is_served_in_the_referrals_own_jurisdiction() -> None:
    # Shelters, counselling, legal aid... abroad are never suggested, cross-border or not.
    for code in ("ACC.EMERG", "PSY.COUNSEL", "LEGAL.AID", "RET.VOLUNTARY", "REINT.VOC"):
        profile = make_profile(needs=[Need(code=code)])
        home = make_service(taxonomy_code=code)
        assert reason(profile, home) is None, code
        for cross_border in (False, True):
            abroad = make_service(
                taxonomy_code=code, participant_code="AL", cross_border=cross_border
            )
            assert reason(profile, abroad) == "jurisdiction", (code, cross_border)


def test_a_transnational_referral_returns_with_the_receiving_participant() -> None:
    # RS refers a person returning to AL: return and reintegration with AL's cross-border
    # services; everything else (the shelter before departure) stays in RS.
    for code in ("RET.VOLUNTARY", "REINT.EMPLOY"):
        profile = make_profile(needs=[Need(code=code)], receiving_participant="AL")
        albania = {"taxonomy_code": code, "participant_code": "AL"}
        assert reason(profile, make_service(cross_border=True, **albania)) is None
        assert reason(profile, make_service(**albania)) == "jurisdiction"
        at_home = make_service(taxonomy_code=code, cross_border=True)
        assert reason(profile, at_home) == "jurisdiction"
        elsewhere = make_service(taxonomy_code=code, participant_code="ME", cross_border=True)
        assert reason(profile, elsewhere) == "jurisdiction"
    shelter = make_profile(receiving_participant="AL")
    assert reason(shelter, make_service()) is None
    assert reason(shelter, make_service(participant_code="AL", cross_border=True)) == "jurisdiction"


def test_receiving_the_own_jurisdiction_is_not_transnational() -> None:
    ret = make_profile(needs=[Need(code="RET.VOLUNTARY")], receiving_participant="RS")
    assert reason(ret, make_service(taxonomy_code="RET.VOLUNTARY")) is None


def test_the_one_jurisdiction_rule() -> None:
    assert serving_participant("ACC.EMERG", "RS", "AL") == "RS"
    assert serving_participant("RET.VOLUNTARY", "RS", "AL") == "AL"
    assert serving_participant("REINT.EDU", "RS", None) == "RS"
    assert may_serve("REINT.EDU", "RS", "AL", "AL", cross_border=True)
    assert not may_serve("REINT.EDU", "RS", "AL", "AL", cross_border=False)
    assert may_serve("REINT.EDU", "RS", "RS", "RS", cross_border=False)
    assert not may_serve("LEGAL.AID", "RS", "AL", "AL", cross_border=True)


@pytest.mark.parametrize(
    ("a", "b"), [(BELGRADE, NIS), (BELGRADE, (44.9, 20.5)), ((41.3, 19.8), (46.1, 19.7))]
)
def test_the_cheap_bound_agrees_with_the_geodesic(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    from geopy.distance import geodesic

    exact = geodesic(a, b).km
    assert abs(geo.haversine_km(a, b) - exact) <= exact * geo.HAVERSINE_TOLERANCE
    assert geo.at_least_km(a, b, exact * 0.999)
    assert not geo.at_least_km(a, b, exact * 1.001)


def test_suggestions_rank_by_cost_and_parts_sum_to_totals() -> None:
    near = make_service(name="near")
    far = make_service(name="far", latitude=NIS[0], longitude=NIS[1], area_code="RS-2")
    full = make_service(name="full", available=0)
    profile = make_profile(
        needs=[Need(code="ACC.EMERG"), Need(code="PSY.COUNSEL", priority="should")]
    )
    result = run_suggest(profile, [far, near, full])
    shelter, counselling = result.needs
    assert [s.service_name for s in shelter.suggestions] == ["near", "far"]
    for s in shelter.suggestions:
        assert sum(s.parts.values()) == s.total
    assert shelter.suggestions[0].delta == 0
    assert (
        shelter.suggestions[1].delta == shelter.suggestions[1].total - shelter.suggestions[0].total
    )
    assert shelter.suggestions[1].parts["distance"] > 1500  # about 200 km at 10 points per km
    assert shelter.excluded == {"no_capacity": 1}
    assert shelter.planned_service_id == near.id
    assert counselling.suggestions == []
    assert counselling.unmet_reasons == ["no_provider"]
    assert counselling.unmet_reason == "no_provider"
    assert result.plan.unmet_needs == [1]
    assert result.plan.status == "optimal"


def test_a_need_no_one_can_meet_says_why() -> None:
    profile = make_profile(languages=["ps"])
    result = run_suggest(profile, [make_service(), make_service(genders=["male"])])
    (need,) = result.needs
    assert need.suggestions == []
    assert need.excluded == {"gender": 1, "language": 1}
    assert set(need.unmet_reasons) == {"gender", "language"}
    assert result.plan.unmet_needs == [0]


def test_the_plan_respects_capacity_across_needs() -> None:
    # Two needs of the same code compete for one free place at the nearer site.
    near = make_service(name="near", taxonomy_code="PSY.COUNSEL", available=1)
    far = make_service(name="far", taxonomy_code="PSY.COUNSEL", latitude=NIS[0], longitude=NIS[1])
    profile = make_profile(needs=[Need(code="PSY.COUNSEL"), Need(code="PSY.COUNSEL")])
    result = run_suggest(profile, [near, far])
    chosen = sorted(str(n.planned_service_id) for n in result.needs)
    assert chosen == sorted([str(near.id), str(far.id)])
    assert result.plan.unmet_needs == []


# Profiles that differ in one field each, and services that differ in what the rules read.
_VARIANTS: dict[str, list[Any]] = {
    "gender": ["male", "other"],
    "age_band": ["14-17", "60+", "0-5"],
    "age_uncertain": [True],
    "accompanied": [True],
    "languages": [["ps"], ["en", "sr"]],
    "interpreter_needed": [True],
    "excluded_areas": [["RS-1"], ["RS-2"]],
    "min_distance_km": [50.0, 300.0],
    "risk_level": ["high", "medium"],
    "group_adults": [2, 4],
    "group_children_age_bands": [["0-5"], ["0-5", "6-13", "14-17"]],
    "jurisdiction": ["AL"],
    "receiving_participant": ["AL", "RS"],
    "current_area": ["RS-2"],
    "urgency": ["emergency", "planned"],
}
_SERVICES = [
    make_service(),
    make_service(
        genders=["male"], child_only=True, serves_unaccompanied_minors=True, age_bands=["14-17"]
    ),
    make_service(
        accepts_families=True,
        max_group_size=3,
        available=2,
        security_level="high",
        accepts_accompanied_children=True,
        age_bands=["0-5", "6-13", "14-17", "18-24"],
    ),
    make_service(taxonomy_code="PSY.COUNSEL", serves_unaccompanied_minors=True),
    make_service(taxonomy_code="RET.VOLUNTARY", participant_code="AL", languages=["ps"]),
    make_service(taxonomy_code="RET.VOLUNTARY", cross_border=True, latitude=NIS[0]),
    make_service(taxonomy_code="RET.VOLUNTARY", participant_code="AL", cross_border=True),
    make_service(participant_code="AL", cross_border=True),
    make_service(licence_required=True, accepting_referrals=False, available=None, held=None),
]


def reads_field(declared: tuple[str, ...], field: str) -> bool:
    """Whether ``field`` is among ``declared``, directly or through a derived property."""
    return any(field in rules.DERIVED_FROM.get(name, (name,)) for name in declared)


@pytest.mark.parametrize("field", sorted(_VARIANTS))
def test_a_rule_reads_only_the_fields_it_declares(field: str) -> None:
    # The matcher shares a rule's answers between profiles that agree on what `rule_reads`
    # declares for the code, so a rule must not change its answer when any other field
    # changes.
    for code in ("ACC.EMERG", "RET.VOLUNTARY", "PSY.COUNSEL"):
        base = make_profile(needs=[Need(code=code)])
        for value in _VARIANTS[field]:
            other = msgspec.structs.replace(base, **{field: value})
            for reason, rule in rules.RULES:
                if reads_field(rules.rule_reads(reason, code), field):
                    continue
                for service in _SERVICES:
                    ctx = {"excluded_points": (NIS,), "interpretation_available": True}
                    assert rule(base, base.needs[0], service, make_ctx(**ctx)) == rule(
                        other, other.needs[0], service, make_ctx(**ctx)
                    ), (reason, field, value)


@pytest.mark.parametrize("field", sorted(_VARIANTS))
def test_a_service_term_reads_only_the_fields_it_declares(field: str) -> None:
    # The matcher shares a term's points between profiles that agree on TERM_READS too.
    profile_terms = {
        "language": terms.language_cost,
        "specialisation": terms.specialisation_cost,
        "availability": terms.availability_cost,
    }
    # The other terms (freshness, track record) take no profile at all.
    assert all(not read for name, read in terms.TERM_READS.items() if name not in profile_terms)
    base = make_profile()
    for value in _VARIANTS[field]:
        other = msgspec.structs.replace(base, **{field: value})
        for name, term in profile_terms.items():
            if reads_field(terms.TERM_READS[name], field):
                continue
            for service in _SERVICES:
                assert term(base, service, terms.DEFAULT_WEIGHTS) == term(
                    other, service, terms.DEFAULT_WEIGHTS
                ), (name, field, value)
