"""Matching recipients to registry organisations: identifier, then name with a score."""

from __future__ import annotations

import uuid

from csomatch.db.funding import MatchDecision, RegistryOrg
from csomatch.funding.orgmatch import AUTO_MATCH, OrgIndex, match_key, normalise_name

HERON = RegistryOrg(
    id=uuid.uuid4(),
    participant_code="AL",
    name="Amber Heron Legal Aid Centre",
    registration_number="AL-DEMO-96954632",
)
NIS = RegistryOrg(
    id=uuid.uuid4(),
    participant_code="RS",
    name="Centre for Social Work Niš",
    registration_number="RS-DEMO-11111111",
)
DJAKOVICA = RegistryOrg(
    id=uuid.uuid4(),
    participant_code="XK",
    name="Đakovica Women's Shelter",
    registration_number=None,
)
ORGS = [HERON, NIS, DJAKOVICA]


def index(*decisions: MatchDecision) -> OrgIndex:
    """An index of the three synthetic organisations."""
    return OrgIndex(ORGS, list(decisions))


def test_normalisation_folds_accents_case_punctuation_and_cyrillic() -> None:
    assert normalise_name("Centre for Social Work Niš") == "centre for social work nis"
    assert normalise_name("Центар за социјални рад Ниш") == "centar za socijalni rad nis"
    assert normalise_name("ĐAKOVICA  women’s-shelter") == "djakovica women s shelter"


def test_identifier_first() -> None:
    found = index().match(
        org_id=None, identifier="al-demo-96954632", name="Something else", participant=None
    )
    assert (found.organization_id, found.method, found.score) == (HERON.id, "identifier", 100)


def test_iati_style_identifier_ending_in_the_registration_number() -> None:
    found = index().match(
        org_id=None, identifier="XM-OCHA-AL-DEMO-96954632", name="", participant=None
    )
    assert found.organization_id == HERON.id


def test_exact_name_without_accents_matches() -> None:
    found = index().match(
        org_id=None, identifier=None, name="CENTRE FOR SOCIAL WORK NIS", participant=None
    )
    assert (found.organization_id, found.method, found.score) == (NIS.id, "name", 100)
    found = index().match(
        org_id=None, identifier=None, name="Djakovica Women's Shelter", participant="XK"
    )
    assert found.organization_id == DJAKOVICA.id


def test_a_close_name_is_proposed_for_review_not_applied() -> None:
    found = index().match(
        org_id=None, identifier=None, name="Amber Heron Legal Aid", participant=None
    )
    assert found.organization_id is None
    assert found.candidate_id == HERON.id
    assert found.score is not None
    assert found.score < AUTO_MATCH


def test_an_unrelated_name_has_no_candidate() -> None:
    found = index().match(
        org_id=None, identifier=None, name="Zebra Mountain Bicycle Club", participant=None
    )
    assert found.organization_id is None
    assert found.candidate_id is None


def test_a_confirmed_decision_is_reused_and_a_rejected_one_is_respected() -> None:
    key = match_key(None, "Amber Heron Legal Aid")
    confirmed = index(MatchDecision(match_key=key, status="confirmed", organization_id=HERON.id))
    found = confirmed.match(
        org_id=None, identifier=None, name="Amber Heron Legal Aid", participant=None
    )
    assert (found.organization_id, found.method) == (HERON.id, "confirmed")
    rejected = index(MatchDecision(match_key=key, status="rejected", organization_id=None))
    found = rejected.match(
        org_id=None, identifier=None, name="Amber Heron Legal Aid", participant=None
    )
    assert found.organization_id is None
    assert found.rejected


def test_an_explicit_organisation_id_wins() -> None:
    found = index().match(org_id=NIS.id, identifier="AL-DEMO-96954632", name="x", participant=None)
    assert (found.organization_id, found.method) == (NIS.id, "id")


NOVI_SAD = RegistryOrg(
    id=uuid.uuid4(),
    participant_code="RS",
    name="Centre for Social Work Novi Sad",
    registration_number=None,
    other_names=["Centar za socijalni rad Novi Sad", "Центар за социјални рад Нови Сад"],
)
BELGRADE = RegistryOrg(
    id=uuid.uuid4(),
    participant_code="RS",
    name="Centre for Social Work Belgrade",
    registration_number=None,
    other_names=["Centar za socijalni rad Beograd"],
)
TOWNS = {
    "nis": frozenset({"RS-787657"}),
    "novi sad": frozenset({"RS-3194360"}),
    "beograd": frozenset({"RS-792680"}),
    "belgrade": frozenset({"RS-792680"}),
}
CYRILLIC_NIS = "Центар за социјални рад Ниш"


def test_a_name_in_another_script_matches_an_organisations_other_name() -> None:
    nis = RegistryOrg(
        id=NIS.id,
        participant_code="RS",
        name=NIS.name,
        registration_number=None,
        other_names=["Центар за социјални рад Ниш"],
    )
    found = OrgIndex([nis, NOVI_SAD, BELGRADE], [], TOWNS).match(
        org_id=None, identifier=None, name="CENTAR ZA SOCIJALNI RAD NIŠ", participant="RS"
    )
    assert (found.organization_id, found.method, found.score) == (NIS.id, "name", 100)


def test_a_name_of_another_town_is_no_candidate() -> None:
    # Without the towns, "... Ниш" is close to Novi Sad's Serbian name and proposed as it.
    blind = OrgIndex([NIS, NOVI_SAD, BELGRADE], []).match(
        org_id=None, identifier=None, name=CYRILLIC_NIS, participant="RS"
    )
    assert blind.candidate_id == NOVI_SAD.id
    found = OrgIndex([NIS, NOVI_SAD, BELGRADE], [], TOWNS).match(
        org_id=None, identifier=None, name=CYRILLIC_NIS, participant="RS"
    )
    assert found.organization_id is None
    assert found.candidate_id not in (NOVI_SAD.id, BELGRADE.id)


def test_two_names_of_one_town_are_not_other_towns() -> None:
    found = OrgIndex([NIS, NOVI_SAD, BELGRADE], [], TOWNS).match(
        org_id=None, identifier=None, name="Centar za socijalni rad Belgrade", participant="RS"
    )
    assert BELGRADE.id in (found.organization_id, found.candidate_id)
