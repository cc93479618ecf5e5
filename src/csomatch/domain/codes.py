"""Codes that must be on a maintained list: languages (ISO 639) and countries (ISO 3166)."""

from __future__ import annotations

import functools
from typing import Any

import pycountry


class _ListedCodeType(type):
    """Makes ``isinstance(value, LanguageCode)`` mean "a string on the list".

    Decoding leaves codes as plain ``str`` (msgspec encodes a subclass of str only through a
    hook, which every encoder would then need); msgspec accepts what the decode hook returns
    when it is an instance of the field's type, and this is how a plain string is one.
    """

    def __instancecheck__(cls, value: object) -> bool:
        if cls is ListedCode:
            return type.__instancecheck__(cls, value)
        return isinstance(value, str) and cls.refusal(value) is None  # type: ignore[attr-defined]


class ListedCode(str, metaclass=_ListedCodeType):
    """A code that must be on a maintained list (pycountry's ISO 639 and ISO 3166 tables).

    Declared once: every input field typed with a subclass is checked by :func:`decode_code`
    (Litestar's ``type_decoders`` in ``app.py``, or ``dec_hook=decode_code`` for msgspec),
    so no free text, whitespace or newline slips in through a code field. A decoded code is
    a plain ``str``.
    """

    #: What the OpenAPI document says about the field.
    SCHEMA_PATTERN = ""
    SCHEMA_DESCRIPTION = ""

    @classmethod
    def refusal(cls, value: str) -> str | None:
        """Why ``value`` is not accepted (a sentence saying how to fix it), or None."""
        raise NotImplementedError


class LanguageCode(ListedCode):
    """A language: its ISO 639-1 code where it has one (``sr``), else ISO 639-3 (``rom``)."""

    SCHEMA_PATTERN = "^[a-z]{2,3}$"
    SCHEMA_DESCRIPTION = (
        "ISO 639-1 code where the language has one (sr, ar), else ISO 639-3 (rom, cnr)"
    )

    @classmethod
    def refusal(cls, value: str) -> str | None:
        """Why ``value`` is not an accepted language code, or None."""
        accepted, preferred = _language_table()
        if value in accepted:
            return None
        if value in preferred:
            return (
                f"{value!r} is the longer code of a language that has an ISO 639-1 code:"
                f" send {preferred[value]!r}"
            )
        lower = value.lower()
        if lower != value and (lower in accepted or lower in preferred):
            return f"send language codes in lower case: {preferred.get(lower, lower)!r}"
        return (
            "not a language code: send the ISO 639-1 code of the language (two lower-case"
            " letters, e.g. 'sr', 'ar') or, when it has none, its ISO 639-3 code (e.g. 'rom')"
        )


class CountryCode(ListedCode):
    """A country: its ISO 3166-1 alpha-2 code, or ``XK`` (Kosovo, user-assigned)."""

    SCHEMA_PATTERN = "^[A-Z]{2}$"
    SCHEMA_DESCRIPTION = "ISO 3166-1 alpha-2 country code (AL, SY), or XK"

    @classmethod
    def refusal(cls, value: str) -> str | None:
        """Why ``value`` is not an accepted country code, or None."""
        accepted = _country_table()
        if value in accepted:
            return None
        if value.upper() in accepted:
            return f"send country codes in capitals: {value.upper()!r}"
        return (
            "not a country code: send the ISO 3166-1 alpha-2 code of the country (two capital"
            " letters, e.g. 'AL', 'SY'), or 'XK' for Kosovo"
        )


@functools.cache
def _language_table() -> tuple[frozenset[str], dict[str, str]]:
    """(accepted codes, longer code -> the ISO 639-1 code to send instead), from pycountry."""
    accepted: set[str] = set()
    preferred: dict[str, str] = {}
    for lang in pycountry.languages:
        two = getattr(lang, "alpha_2", None)
        if two is None:
            accepted.add(lang.alpha_3)
            continue
        accepted.add(two)
        preferred[lang.alpha_3] = two
        if (bibliographic := getattr(lang, "bibliographic", None)) is not None:
            preferred[bibliographic] = two
    return frozenset(accepted), preferred


@functools.cache
def _country_table() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes from pycountry, plus XK (Kosovo*).

    XK is user-assigned, used by the EU and MARRI.
    """
    return frozenset({c.alpha_2 for c in pycountry.countries} | {"XK"})


def language_codes() -> frozenset[str]:
    """Every language code csomatch accepts."""
    return _language_table()[0]


def is_listed_code(kind: Any) -> bool:
    """Whether a type is a code checked against a maintained list (for ``type_decoders``)."""
    return isinstance(kind, type) and issubclass(kind, ListedCode)


def decode_code(kind: Any, value: Any) -> Any:
    """The msgspec ``dec_hook``: a listed code, or ``ValueError`` with a sentence saying how to fix.

    msgspec adds where the value was (``- at `$.languages[1]```).
    """
    if not is_listed_code(kind):
        raise NotImplementedError(f"no decoder for {kind!r}")
    if not isinstance(value, str):
        raise ValueError(f"Expected `str`, got `{type(value).__name__}`: send the code as text")
    reason = kind.refusal(value)
    if reason is not None:
        raise ValueError(reason)
    return value  # a plain str, which is an instance of ``kind`` (see _ListedCodeType)
