"""The towns' names: which gazetteer names are kept, how they are keyed, which one is shown."""

from __future__ import annotations

import pytest

from csomatch.registry.gazetteer import load_gazetteer
from csomatch.registry.placenames import (
    NAMED_LOCALES,
    PlaceNames,
    ReviewedTown,
    Town,
    is_cyrillic,
    load_table,
    name_key,
    place_names,
)

BELGRADE, TIRANA, BERAT, SUVA_REKA = "RS-792680", "AL-3183875", "AL-3186084", "XK-785238"
SKOPJE, NIS, NIKSIC = "MK-785842", "RS-787657", "ME-3194494"


@pytest.fixture(scope="module")
def gazetteer() -> tuple[dict[str, str], dict[str, PlaceNames]]:
    areas, names = load_gazetteer()
    return {a.code: a.name for a in areas}, {n.code: n for n in names}


def keys_of(place: PlaceNames) -> set[str]:
    return {name_key(n) for n in place.names}


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Београд", "beograd"),
        ("BEOGRAD", "beograd"),
        ("Priština", "pristina"),
        ("Prishtinë", "prishtine"),
        ("Скопје", "skopje"),
        ("Ѓорче Петров", "gorce petrov"),
        ("Đakovica", "djakovica"),
        ("Ђаковица", "djakovica"),
        ("  Banja-Luka ", "banja luka"),
        ("Ниш", "nis"),
        ("%_", ""),
    ],
)
def test_name_key_ignores_script_accents_case_and_punctuation(written: str, key: str) -> None:
    assert name_key(written) == key


def test_codes_and_other_towns_names_are_not_names(gazetteer) -> None:
    _, places = gazetteer
    assert "beg" not in keys_of(places[BELGRADE])  # the airport's code
    assert "tia" not in keys_of(places[TIRANA])
    assert "trnava" not in keys_of(places[TIRANA])  # a town in Slovakia (the table's "not")
    assert "theranda" not in keys_of(places[TIRANA])
    assert "theranda" in keys_of(places[SUVA_REKA])
    # Belgrad is an old name of Berat too; the bigger town keeps it.
    assert "belgrad" in keys_of(places[BELGRADE])
    assert "belgrad" not in keys_of(places[BERAT])
    # Romanisations of other scripts are not names people write.
    assert "be ogeuladeu" not in keys_of(places[BELGRADE])
    assert all(not n.islower() or is_cyrillic(n) for n in places[BELGRADE].names)


def test_an_alternate_that_is_another_towns_own_name_is_dropped() -> None:
    towns = [
        Town(code="RS-1", participant_code="RS", name="Alpha", population=10,
             alternate_names=("Beta", "BGX", "Gamma", "Гама")),
        Town(code="RS-2", participant_code="RS", name="Beta", population=5),
        Town(code="RS-3", participant_code="RS", name="Delta", population=50,
             alternate_names=("Gamma",)),
    ]  # fmt: skip
    names = {p.code: set(p.names) for p in place_names(towns, [])}
    # Beta is RS-2's own name, BGX a code, Gamma goes to the bigger RS-3; Алпха is derived.
    assert names["RS-1"] == {"Alpha", "Гама", "Алпха"}
    assert names["RS-3"] == {"Delta", "Gamma", "Делта"}


def test_the_table_adds_names_and_removes_non_names() -> None:
    town = Town(code="AL-1", participant_code="AL", name="Tirana", population=9,
                alternate_names=("Trnava", "Tiranë"))  # fmt: skip
    row = ReviewedTown(code="AL-1", en="Tirana", sq="Tiranë", also=["Tirona"], not_names=["Trnava"])
    (place,) = place_names([town], [row])
    assert set(place.names) == {"Tirana", "Tiranë", "Tirona", "Тирана"}
    assert place.shown["sq"] == "Tiranë"
    assert place.shown["sr-Cyrl"] == "Тирана"


def test_every_row_of_the_table_names_a_gazetteer_town_by_its_name(gazetteer) -> None:
    names, _ = gazetteer
    rows = load_table()
    assert len({row.code for row in rows}) == len(rows), "a town has two rows"
    for row in rows:
        assert names.get(row.code) == row.en, row.code


def test_shown_names_per_locale(gazetteer) -> None:
    _, places = gazetteer
    skopje = places[SKOPJE].shown
    assert skopje == {
        "en": "Skopje", "sq": "Shkup", "sr-Latn": "Skoplje", "sr-Cyrl": "Скопље",
        "mk": "Скопје", "bs": "Skoplje",
    }  # fmt: skip
    assert places[NIS].shown["sq"] == "Nish"
    assert places[NIS].shown["sr-Cyrl"] == "Ниш"
    # An exact transliteration, not a Russian spelling of the same key (Никшич).
    assert places[NIKSIC].shown["sr-Cyrl"] == "Никшић"
    assert places[NIKSIC].shown["mk"] == "Никшиќ"


def test_every_town_is_named_in_every_locale_in_its_script(gazetteer) -> None:
    _, places = gazetteer
    for place in places.values():
        assert set(place.shown) == set(NAMED_LOCALES), place.code
        for locale, name in place.shown.items():
            cyrillic = locale in ("sr-Cyrl", "mk")
            assert all(is_cyrillic(ch) == cyrillic for ch in name if ch.isalpha()), (
                place.code,
                locale,
                name,
            )
            assert name in place.names
