"""Language and country codes come from a maintained list (pycountry), never any letters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from csomatch.domain import CountryCode, LanguageCode, decode_code, language_codes

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "src" / "csomatch" / "web" / "static"


class _Langs(msgspec.Struct, forbid_unknown_fields=True):
    languages: list[LanguageCode]
    nationality: CountryCode | None = None


def _decode(body: object) -> _Langs:
    return msgspec.convert(body, _Langs, dec_hook=decode_code)


@pytest.mark.parametrize("code", ["sr", "sq", "ar", "rom", "cnr", "und"])
def test_iso_639_1_codes_and_639_3_codes_without_one_are_accepted(code: str) -> None:
    assert _decode({"languages": ["sr", code]}).languages == ["sr", code]


def test_a_decoded_code_is_a_plain_string_that_encodes_as_one() -> None:
    decoded = _decode({"languages": ["rom"], "nationality": "XK"})
    assert type(decoded.languages[0]) is str
    assert msgspec.json.decode(msgspec.json.encode(decoded)) == {
        "languages": ["rom"],
        "nationality": "XK",
    }


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("sr\n", "ISO 639-1"),
        (" sr", "ISO 639-1"),
        ("qqq", "ISO 639-1"),  # three letters, but no language
        ("Ivan", "ISO 639-1"),
        ("srp", "send 'sr'"),  # Serbian has a two-letter code: one code per language
        ("alb", "send 'sq'"),  # ISO 639-2/B form of Albanian
        ("SR", "lower case: 'sr'"),
        ("", "ISO 639-1"),
    ],
)
def test_anything_else_is_refused_at_its_index_saying_what_to_send(code: str, hint: str) -> None:
    assert "qqq" not in language_codes()
    with pytest.raises(msgspec.ValidationError) as refused:
        _decode({"languages": ["sr", code]})
    message = str(refused.value)
    assert hint in message
    assert message.endswith("- at `$.languages[1]`")


def test_a_language_code_must_be_text() -> None:
    with pytest.raises(msgspec.ValidationError, match=r"got `int`.*\$\.languages\[0\]"):
        _decode({"languages": [5]})


@pytest.mark.parametrize("code", ["AL", "RS", "XK", "SY", "AF", "UA"])
def test_nationality_is_iso_3166_alpha_2_or_xk(code: str) -> None:
    assert _decode({"languages": ["sr"], "nationality": code}).nationality == code


@pytest.mark.parametrize(
    ("code", "hint"),
    [("XX", "ISO 3166-1"), ("ALB", "ISO 3166-1"), ("al", "capitals: 'AL'"), ("RS\n", "3166")],
)
def test_any_other_nationality_is_refused(code: str, hint: str) -> None:
    with pytest.raises(msgspec.ValidationError) as refused:
        _decode({"languages": ["sr"], "nationality": code})
    assert hint in str(refused.value)
    assert str(refused.value).endswith("- at `$.nationality`")


def test_isinstance_means_on_the_list() -> None:
    assert isinstance("sr", LanguageCode)
    assert not isinstance("sr\n", LanguageCode)
    assert not isinstance("srp", LanguageCode)
    assert isinstance("XK", CountryCode)
    assert not isinstance("XX", CountryCode)


def test_every_language_the_pages_offer_is_accepted() -> None:
    source = (STATIC / "languages.js").read_text("utf-8")
    body = source[source.index("LANGUAGES = {") : source.index("};")]
    offered = re.findall(r"\b([a-z]{2,3}):\s*(?:t\()?\"", body)
    assert len(offered) >= 20
    assert sorted(set(offered) - language_codes()) == []


def test_every_language_of_the_demo_registry_is_accepted() -> None:
    registry = json.loads((ROOT / "seed_data" / "registry.json").read_text("utf-8"))
    used = {
        code
        for org in registry["organizations"]
        for service in org["services"]
        for code in service["languages"]
    }
    assert "sr" in used
    assert sorted(used - language_codes()) == []
