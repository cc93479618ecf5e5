"""The caller's permission rules, one role and jurisdiction at a time."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from csomatch.domain import COORDINATING, ROLES, Principal, Role

ORG, OTHER_ORG = uuid.uuid4(), uuid.uuid4()


def _caller(role: Role, jurisdiction: str = "RS", org: uuid.UUID | None = None) -> Principal:
    return msgspec.convert(
        {"id": str(uuid.uuid4()), "role": role, "jurisdiction": jurisdiction,
         "organization_id": None if org is None else str(org)},
        Principal,
    )  # fmt: skip


def test_coordinators_and_admins_coordinate_and_no_one_else() -> None:
    assert [r for r in ROLES if _caller(r).is_coordinating()] == list(COORDINATING)


def test_a_region_wide_token_covers_every_participant_and_names_none() -> None:
    region = _caller("admin", "MARRI")
    assert region.is_region_wide()
    assert region.participant() is None
    assert region.covers("AL")
    assert region.covers("RS")


def test_a_participant_token_covers_its_own_participant_only() -> None:
    serbia = _caller("coordinator", "RS")
    assert not serbia.is_region_wide()
    assert serbia.participant() == "RS"
    assert serbia.covers("RS")
    assert not serbia.covers("AL")


@pytest.mark.parametrize(
    ("caller", "org", "participant", "manages"),
    [
        (_caller("provider", "RS", ORG), ORG, "RS", True),
        (_caller("provider", "RS", ORG), OTHER_ORG, "RS", False),
        (_caller("coordinator", "RS"), OTHER_ORG, "RS", True),
        (_caller("admin", "RS"), OTHER_ORG, "AL", False),
        (_caller("admin", "MARRI"), OTHER_ORG, "AL", True),
        (_caller("officer", "RS"), ORG, "RS", False),
        (_caller("funder", "MARRI"), ORG, "RS", False),
    ],
)
def test_who_manages_an_organisation(
    caller: Principal, org: uuid.UUID, participant: str, manages: bool
) -> None:
    assert caller.may_manage(org, participant) is manages


def test_a_role_or_jurisdiction_outside_the_vocabulary_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        _caller("root")  # type: ignore[arg-type]
    with pytest.raises(msgspec.ValidationError):
        _caller("admin", "EU")
