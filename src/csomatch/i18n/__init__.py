"""The users' languages: which locales csomatch serves, and how a request picks one.

Catalogues are gettext ``.po`` files managed with Babel under ``csomatch/locale/<locale>/
LC_MESSAGES/<domain>.po``: the domain ``messages`` holds what the Python code says (problem
details, reasons, flags, sentences, taxonomy names, the CLI), the domain ``web`` what the
pages say (their templates and scripts). Locales are BCP 47 tags on the wire (``sr-Latn``)
and Babel identifiers on disk (``sr_Latn``).
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

#: Where the catalogues live, inside the package so that an installed wheel has them.
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

#: The locales with a catalogue of their own, as BCP 47 tags; English is the source.
LOCALES: tuple[str, ...] = ("en", "sq", "sr-Latn", "sr-Cyrl", "mk", "bs")
DEFAULT_LOCALE = "en"

#: Languages served from another's catalogue until they have their own (docs/glossary.md):
#: Montenegrin reads Serbian in Latin script, Croatian reads Bosnian, plain Serbian and
#: Serbo-Croatian read Serbian in Latin script (the script of most users' keyboards).
FALLBACKS: dict[str, str] = {
    "cnr": "sr-Latn",
    "sr": "sr-Latn",
    "sh": "sr-Latn",
    "hr": "bs",
}

DOMAINS = ("messages", "web")


def _canonical(tag: str) -> str | None:
    """The served locale for one language tag, or None when csomatch has none for it."""
    tag = tag.strip().replace("_", "-")
    if not tag or tag == "*":
        return None
    parts = tag.split("-")
    language = parts[0].lower()
    script = next((p.title() for p in parts[1:] if len(p) == 4 and p.isalpha()), None)
    if language == "sr" and script in ("Latn", "Cyrl"):
        return f"sr-{script}"
    if language == "sr" and any(p.upper() in ("RS", "BA", "XK") for p in parts[1:]):
        # Serbian of Serbia and of Bosnia and Herzegovina is written in both scripts; with no
        # script named, the Latin catalogue (FALLBACKS) answers.
        return FALLBACKS["sr"]
    if language in FALLBACKS:
        return FALLBACKS[language]
    for locale in LOCALES:
        if locale.lower() == language:
            return locale
    return None


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """The served locale an ``Accept-Language`` header (or one tag) asks for first.

    Tags are taken by their quality (``q``), then in order; a tag with ``q=0`` is refused.
    """
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(accept_language.split(",")):
        tag, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, tag))
    for _, _, tag in sorted(ranked):
        locale = _canonical(tag)
        if locale is not None:
            return locale
    return default


def babel_locale(locale: str) -> Locale:
    """The Babel locale for formatting dates, numbers and distances in a served locale."""
    return Locale.parse(locale.replace("-", "_"))


def catalogue_path(locale: str, domain: str) -> Path:
    """The ``.po`` file of one locale and domain."""
    return LOCALE_DIR / locale.replace("-", "_") / "LC_MESSAGES" / f"{domain}.po"


@cache
def translations(locale: str, domain: str = "messages") -> gettext.NullTranslations:
    """The translations of one served locale and domain (English: the messages as they are).

    A compiled ``.mo`` beside the ``.po`` is used when it is at least as new; otherwise the
    ``.po`` is compiled in memory, so that a checkout whose catalogues were just edited
    never serves stale text.
    """
    po = catalogue_path(locale, domain)
    if locale == DEFAULT_LOCALE or not po.exists():
        return gettext.NullTranslations()
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as handle:
            return gettext.GNUTranslations(handle)
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale.replace("-", "_"))
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def gettext_for(locale: str, domain: str = "messages") -> Callable[[str], str]:
    """The translating function of one locale (use as ``_``)."""
    return translations(locale, domain).gettext
