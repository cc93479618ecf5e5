"""The gettext catalogues: complete, placeholders kept, Serbian Cyrillic generated faithfully."""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog, Message

from csomatch.i18n import DEFAULT_LOCALE, DOMAINS, LOCALES, catalogue_path
from csomatch.i18n.catalogues import (
    UNREVIEWED,
    check,
    check_catalogues,
    cyrillic_catalogue,
    main,
    placeholders,
    read_catalogue,
    template,
)
from csomatch.i18n.transliteration import to_cyrillic, to_latin

TRANSLATED = [locale for locale in LOCALES if locale != DEFAULT_LOCALE]


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_has_a_translation_in_every_catalogue(domain: str) -> None:
    """No missing, empty or fuzzy translation, no placeholder that differs from the English."""
    assert check(domain) == []


def test_the_messages_domain_has_the_taxonomy_and_the_python_code() -> None:
    """Extraction finds the taxonomy's names (so a forgotten extractor cannot pass silently)."""
    ids = {message.id for message in template("messages")}
    assert "Emergency safe accommodation" in ids


def _messages(locale: str, domain: str) -> list[Message]:
    path = catalogue_path(locale, domain)
    return [m for m in read_catalogue(path, locale) if m.id] if path.exists() else []


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_serbian_latin_message_round_trips_through_cyrillic(domain: str) -> None:
    """to_latin(to_cyrillic(text)) == text for every msgstr of sr-Latn (the condition for
    generating the Cyrillic catalogue by transliteration)."""
    texts = [
        form
        for message in _messages("sr-Latn", domain)
        for form in (message.string if isinstance(message.string, tuple) else (message.string,))
    ]
    broken = [text for text in texts if to_latin(to_cyrillic(text)) != text]
    assert broken == []


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_cyrillic_catalogue_is_the_latin_one_transliterated(domain: str) -> None:
    """sr_Cyrl/*.po is what ``catalogues cyrillic`` writes now (nobody edited it by hand)."""
    if not catalogue_path("sr-Latn", domain).exists():
        pytest.skip(f"no sr-Latn {domain} catalogue yet")
    generated = {m.id: m.string for m in cyrillic_catalogue("sr-Cyrl", "sr-Latn", domain) if m.id}
    stored = {m.id: m.string for m in _messages("sr-Cyrl", domain)}
    assert stored == generated


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("locale", [locale for locale in TRANSLATED if locale != "sr-Cyrl"])
def test_every_translation_is_marked_unreviewed_until_a_native_speaker_confirms(
    locale: str, domain: str
) -> None:
    """The machine-made translations carry the ``unreviewed`` mark (docs/glossary.md)."""
    unmarked = [
        m.id
        for m in _messages(locale, domain)
        if UNREVIEWED not in m.user_comments and UNREVIEWED not in m.auto_comments
    ]
    assert unmarked == []


def test_transliteration_keeps_placeholders_markup_and_codes() -> None:
    """Only the Serbian words change script."""
    text = "Usluga {code} u mestu %(town)s: <strong>API</strong> `$.needs[0]` nije dostupna"
    cyrillic = to_cyrillic(text)
    assert cyrillic == (
        "Услуга {code} у месту %(town)s: <strong>API</strong> `$.needs[0]` није доступна"
    )
    assert to_latin(cyrillic) == text
    assert to_cyrillic("Njegova ljubav i džep") == "Његова љубав и џеп"


def test_placeholders_are_read_in_both_styles() -> None:
    """``{town}`` and ``%(town)s`` name the same placeholder."""
    assert placeholders("{count} beds in %(town)s") == {"count", "town"}


def _catalogue(*messages: tuple[str, str, bool]) -> Catalog:
    catalog = Catalog(locale="sq")
    for msgid, msgstr, fuzzy in messages:
        catalog.add(msgid, msgstr, flags=("fuzzy",) if fuzzy else ())
    return catalog


def test_check_names_each_kind_of_problem() -> None:
    """A missing, empty, fuzzy or placeholder-changing translation is named with its msgid."""
    source = Catalog()
    for msgid in ("Missing", "Empty", "Fuzzy {n}", "Moved {town}", "Fine {n}", "Positional %s"):
        source.add(msgid)
    stored = _catalogue(
        ("Empty", "", False),
        ("Fuzzy {n}", "Fuzzy {n}", True),
        ("Moved {town}", "Zhvendosur {qyteti}", False),
        ("Fine {n}", "Mirë {n}", False),
        ("Positional %s", "Pozicional %s", False),
    )
    problems = "\n".join(check_catalogues("messages", source, {"sq": stored, "mk": None}))
    assert "sq/messages: 'Missing': missing" in problems
    assert "sq/messages: 'Empty': empty translation" in problems
    assert "sq/messages: 'Fuzzy {n}': fuzzy translation" in problems
    assert "sq/messages: 'Moved {town}': placeholders differ" in problems
    assert "'Fine {n}'" not in problems
    assert "en/messages: 'Positional %s': positional placeholder" in problems
    assert "mk/messages: no catalogue" in problems


def test_the_check_command_exits_zero_when_complete(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m csomatch.i18n.catalogues check`` is what CI and translators run."""
    assert main(["check", "--domain", "messages"]) == 0
    assert "every catalogue complete" in capsys.readouterr().out
