"""The pages' templates: every word a person reads is marked for translation, and found.

A template's visible text is written inside ``[[...]]`` markers (csomatch.i18n.templates);
these tests fail when a template shows English outside a marker, when the extractor misses a
marker, or when a translation drops the markup its msgid holds.
"""

from __future__ import annotations

import html
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from csomatch.i18n import LOCALES, catalogue_path
from csomatch.i18n.catalogues import extract_templates
from csomatch.i18n.templates import MARKER, extract_markers, localise, msgid
from csomatch.web.pages import LANGUAGE_NAMES, PAGES

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "csomatch" / "web" / "templates"
#: Attributes whose values a person reads (or hears, with a screen reader).
READ_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt", "label", "data-label")
#: What a template may show unmarked: the brand and the layout's substitutions.
UNTRANSLATED = {"csomatch", "$title · csomatch", "$nav", "$languages", "$main"}


class _VisibleText(HTMLParser):
    """The text nodes and read attributes of an HTML fragment (scripts and styles aside)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        self.found += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.found.append(data.strip())


def unmarked_words(source: str) -> list[str]:
    """The pieces of visible text of a template that hold letters outside every marker."""
    parser = _VisibleText()
    parser.feed(MARKER.sub("", source))
    return [
        text
        for text in parser.found
        if re.search(r"[^\W\d_]{2}", text) and " ".join(text.split()) not in UNTRANSLATED
    ]


def _templates() -> list[Path]:
    return sorted(TEMPLATES.glob("*.html"))


@pytest.mark.parametrize("template", _templates(), ids=lambda p: p.name)
def test_every_visible_word_of_a_template_is_inside_a_marker(template: Path) -> None:
    assert unmarked_words(template.read_text("utf-8")) == []


def test_the_check_finds_english_left_outside_a_marker() -> None:
    source = '<h1>[[Find services]]</h1>\n<p class="hint">Nearest first</p>\n<a aria-label="Map">'
    assert unmarked_words(source) == ["Nearest first", "Map"]


def test_the_extractor_finds_every_marker_with_its_line_and_one_spaced_msgid() -> None:
    source = (
        '<h1>[[Sign in]]</h1>\n<p>[[Paste the token\n   you were given.]]</p>\n<i title="[[Tip]]">'
    )
    found = list(extract_markers(io.BytesIO(source.encode()), None, (), {}))
    assert found == [
        (1, "_", "Sign in", []),
        (2, "_", "Paste the token you were given.", []),
        (4, "_", "Tip", []),
    ]


def test_the_web_catalogue_holds_every_marker_and_every_page_title() -> None:
    extracted = {found.msgid for found in extract_templates()}
    for template in _templates():
        for match in MARKER.finditer(template.read_text("utf-8")):
            assert msgid(match.group(1)) in extracted, (template.name, match.group(1))
    assert {title for _, _, title, _, _ in PAGES} <= extracted


def test_a_translation_in_an_attribute_is_escaped_and_one_in_text_keeps_its_markup() -> None:
    source = '<a aria-label="[[Pages]]">[[Use <code>cso_</code> tokens]]</a>'
    words = {
        "Pages": 'Faqet "kryesore"',
        "Use <code>cso_</code> tokens": "Përdor <code>cso_</code>",
    }
    assert localise(source, lambda text: words[text]) == (
        f'<a aria-label="{html.escape(words["Pages"])}">Përdor <code>cso_</code></a>'
    )


@pytest.mark.parametrize("locale", [locale for locale in LOCALES if locale != "en"])
def test_translations_of_the_templates_keep_the_markup_of_their_msgid(locale: str) -> None:
    tags = re.compile(r"</?\w+[^>]*>")
    with catalogue_path(locale, "web").open("rb") as handle:
        catalogue = read_po(handle)
    for message in catalogue:
        if isinstance(message.id, str) and "<" in message.id and message.string:
            assert tags.findall(message.id) == tags.findall(str(message.string)), message.id


def test_the_language_switch_names_every_served_language_in_itself() -> None:
    assert tuple(LANGUAGE_NAMES) == LOCALES
    assert LANGUAGE_NAMES["sr-Cyrl"] == "Српски (ћирилица)"
    assert LANGUAGE_NAMES["mk"] == "Македонски"
