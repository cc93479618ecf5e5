"""Feedback codes as people read them, the one score an answer gives the matcher, the
settings of the feedback card, and the public page's catalogue of words (pure functions)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from csomatch.feedback.answers import QUESTIONS, Answers, score_of
from csomatch.feedback.codes import ALPHABET, BITS, code_hash, grouped, new_code, normalised
from csomatch.settings import Settings, SettingsError


def test_a_code_holds_80_random_bits_of_crockford_base32() -> None:
    assert BITS >= 80
    assert len(ALPHABET) == 32
    assert not set("ILOU") & set(ALPHABET)
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 16 and set(c) <= set(ALPHABET) for c in codes)
    # Every character is used: not a narrower alphabet by mistake.
    assert set("".join(codes)) == set(ALPHABET)
    assert math.log2(len(ALPHABET)) * 16 == BITS


def test_a_code_is_read_back_however_it_is_typed() -> None:
    code = "7K3M09XD2HRTW8PB"
    assert grouped(code) == "7K3M-09XD-2HRT-W8PB"
    for typed in ("7K3M-09XD-2HRT-W8PB", "7k3m 09xd 2hrt w8pb", "7K3MO9XD2HRTW8PB",
                  " 7k3m-o9xd-2hrt-w8pb "):  # fmt: skip
        assert normalised(typed) == code
    assert normalised("7K1M09XD2HRTW8PB") == normalised("7KIM09XD2HRTW8PB")
    assert normalised("7KlM09XD2HRTW8PB") == "7K1M09XD2HRTW8PB"
    for wrong in ("7K3M-09XD-2HRT-W8P", "7K3M-09XD-2HRT-W8PBB", "UUUU-UUUU-UUUU-UUUU", ""):
        assert normalised(wrong) is None
    assert code_hash(code) != code_hash(grouped(code))  # the hash is of the normalised form
    assert len(code_hash(code)) == 32


@pytest.mark.parametrize(
    ("values", "score"),
    [
        ((5, 5, 5, 5), 5),
        ((1, 1, 1, 1), 1),
        ((4, 5, None, 2), 4),  # 11 / 3 = 3.67
        ((1, 1, 2, 1), 1),  # 5 / 4 = 1.25
        ((3, 4, None, None), 4),  # 3.5, half up
        ((2, 3, None, None), 3),  # 2.5, half up
        ((None, None, None, 3), 3),
        ((None, None, None, None), None),
    ],
)
def test_one_score_per_answer(values: tuple[int | None, ...], score: int | None) -> None:
    safe, respected, understood, helped = values
    answers = Answers(safe=safe, respected=respected, understood=understood, helped=helped)
    assert score_of(answers) == score


def test_the_public_address_of_the_card() -> None:
    assert Settings(port=8123).public_base() == "http://localhost:8123"
    url = Settings.from_env({"CSOMATCH_PUBLIC_URL": "https://csomatch.example.org/"})
    assert url.public_base() == "https://csomatch.example.org"
    assert Settings.from_env({"CSOMATCH_FEEDBACK_CODES_PER_DAY": "7"}).feedback_codes_per_day == 7
    for bad in ({"CSOMATCH_PUBLIC_URL": "csomatch.example.org"},
                {"CSOMATCH_FEEDBACK_CODES_PER_DAY": "0"}):  # fmt: skip
        with pytest.raises(SettingsError):
            Settings.from_env(bad)


STATIC = Path(__file__).resolve().parents[2] / "src" / "csomatch" / "web" / "static"
#: The languages the public page speaks now (docs/feedback.md), and their direction.
LANGUAGES = {"en": "ltr", "ar": "rtl", "fa": "rtl", "uk": "ltr"}


def test_the_pages_catalogue_speaks_four_languages_with_every_string() -> None:
    source = (STATIC / "feedbackwords.js").read_text("utf-8")
    found = re.search(r"^export const QUESTIONS = \[(?P<body>[^\]]*)\]", source, re.M)
    assert found is not None
    assert tuple(re.findall(r'"([a-z]+)"', found["body"])) == QUESTIONS
    blocks = re.split(r"^  ([a-z]{2}): \{$", source, flags=re.M)[1:]
    languages = dict(zip(blocks[::2], blocks[1::2], strict=True))
    assert set(languages) == set(LANGUAGES)
    keys_of_english = set(re.findall(r"^    ([a-zA-Z]+):", languages["en"], re.M))
    for code, block in languages.items():
        assert f'dir: "{LANGUAGES[code]}"' in block, code
        assert set(re.findall(r"^    ([a-zA-Z]+):", block, re.M)) == keys_of_english, code
        for question in QUESTIONS:
            assert re.search(rf"^      {question}: \"", block, re.M), (code, question)
        scale = re.search(r"scale: \[(?P<words>[^\]]*)\]", block)
        assert scale is not None
        assert len(re.findall(r'"[^"]+"', scale["words"])) == 5, code
