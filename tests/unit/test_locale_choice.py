"""Which locale a request or a command is served in, and how values are written in it."""

from __future__ import annotations

import contextvars
import datetime as dt

import pytest

from csomatch.cli import main
from csomatch.i18n import (
    _,
    choose_locale,
    current_locale,
    environment_locale,
    format_value,
    negotiate,
    ngettext,
    using_locale,
)


@pytest.mark.parametrize(
    ("cookie", "header", "served"),
    [
        (None, None, "en"),
        (None, "sq-AL,sq;q=0.9,en;q=0.8", "sq"),
        ("mk", "sq", "mk"),  # the switch's cookie wins over the browser's header
        ("sr-Cyrl", None, "sr-Cyrl"),
        ("klingon", "bs", "bs"),  # a cookie naming no served language is ignored
        (None, "cnr-ME", "sr-Latn"),
        (None, "hr", "bs"),
        (None, "sr", "sr-Latn"),
        (None, "sr-RS", "sr-Latn"),
        (None, "sq;q=0, mk", "mk"),
    ],
)
def test_a_request_is_served_in_its_cookie_then_its_header(
    cookie: str | None, header: str | None, served: str
) -> None:
    """Cookie (the person's choice), then Accept-Language, then English."""
    assert choose_locale(cookie, header) == served


@pytest.mark.parametrize(
    ("environ", "served"),
    [
        ({}, "en"),
        ({"LANG": "sq_AL.UTF-8"}, "sq"),
        ({"LANG": "sq_AL.UTF-8", "LC_ALL": "mk_MK.UTF-8"}, "mk"),
        ({"LANG": "sr_RS.UTF-8@latin"}, "sr-Latn"),
        ({"LANG": "sr_RS@cyrillic"}, "sr-Cyrl"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "bs_BA.UTF-8", "CSOMATCH_LANG": "sr-Cyrl"}, "sr-Cyrl"),
    ],
)
def test_a_command_is_served_in_its_environment_locale(
    environ: dict[str, str], served: str
) -> None:
    """CSOMATCH_LANG, LC_ALL, LC_MESSAGES, LANG; POSIX spellings understood."""
    assert environment_locale(environ) == served


def test_the_current_locale_is_restored_after_a_block() -> None:
    """``using_locale`` is scoped; outside any request the locale is English."""
    before = current_locale()
    with using_locale("sq"):
        assert current_locale() == "sq"
        assert _("Not found") == "Nuk u gjet"
    assert current_locale() == before


def test_numbers_and_dates_are_written_as_the_locale_writes_them() -> None:
    """Decimal commas, grouping of large numbers (not of years), month names."""
    assert format_value(2.5, "sr-Latn") == "2,5"
    assert format_value(2.5, "en") == "2.5"
    assert format_value(12345, "sq") == "12\N{NO-BREAK SPACE}345"
    assert format_value(2026, "mk") == "2026"
    assert format_value(dt.date(2026, 12, 3), "mk").startswith("3.12.2026")
    assert "dhj" in format_value(dt.date(2026, 12, 3), "sq")


def test_placeholders_are_filled_and_plurals_follow_the_language() -> None:
    """``_()`` fills named placeholders; ``ngettext`` picks the language's plural form."""
    with using_locale("mk"):
        assert _("no referral {head_id}", head_id="R1") == "нема упатување R1"
    singular = (
        "Only {n} place is free at this service now; hold at most {n} or choose another service."
    )
    plural = (
        "Only {n} places are free at this service now; hold at most {n} or choose another service."
    )
    with using_locale("sr-Latn"):
        assert ngettext(singular, plural, 1).startswith("Samo 1 mesto je")
        assert ngettext(singular, plural, 3).startswith("Samo 3 mesta su")
        assert ngettext(singular, plural, 5).startswith("Samo 5 mesta je")


def test_an_unserved_tag_falls_back_to_english() -> None:
    """A language csomatch has no catalogue for is answered in English."""
    assert negotiate("de-DE, fr;q=0.5") == "en"


def test_a_command_says_its_errors_in_the_locale_of_its_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``CSOMATCH_LANG=sq csomatch token create ...`` refuses in Albanian."""
    monkeypatch.setenv("CSOMATCH_LANG", "sq")
    argv = ["token", "create", "--role", "officer", "--jurisdiction", "RS", "--funder", "X"]
    # main() sets the locale for the rest of its context: run it in a copy of ours.
    code = contextvars.copy_context().run(main, argv)
    assert code == 2
    assert "--funder është vetëm për --role funder" in capsys.readouterr().err
