"""The users' languages: which locales csomatch serves, and how a request picks one.

Catalogues are gettext ``.po`` files managed with Babel under ``csomatch/locale/<locale>/
LC_MESSAGES/<domain>.po``: the domain ``messages`` holds what the Python code says (problem
details, reasons, flags, sentences, taxonomy names, the CLI), the domain ``web`` what the
pages say (their templates and scripts). Locales are BCP 47 tags on the wire (``sr-Latn``)
and Babel identifiers on disk (``sr_Latn``).
"""

from __future__ import annotations

import datetime
import gettext
import io
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

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


# -- The locale of what is being done now (a request, a command) and ``_()``. --

#: The cookie the pages' language switch sets (a BCP 47 tag such as ``sr-Cyrl``).
COOKIE = "csomatch.lang"
#: Environment variables a command reads its locale from, first set first.
ENVIRONMENT = ("CSOMATCH_LANG", "LC_ALL", "LC_MESSAGES", "LANG")

_current: ContextVar[str] = ContextVar("csomatch_locale", default=DEFAULT_LOCALE)


def choose_locale(cookie: str | None, accept_language: str | None) -> str:
    """The served locale of a request: the language switch's cookie, else Accept-Language.

    The cookie is a person's explicit choice on the pages and wins over the browser's
    ``Accept-Language`` (which the browser sends on every request, chosen or not); a cookie
    naming no served language is ignored. No cookie and no header: English.
    """
    if cookie:
        chosen = _canonical(cookie)
        if chosen is not None:
            return chosen
    return negotiate(accept_language)


def environment_locale(environ: Mapping[str, str] | None = None) -> str:
    """A command's locale: ``CSOMATCH_LANG``, ``LC_ALL``, ``LC_MESSAGES`` or ``LANG``.

    POSIX values such as ``sq_AL.UTF-8`` or ``sr_RS@latin`` are read as language tags;
    ``C`` and ``POSIX`` mean English.
    """
    environ = os.environ if environ is None else environ
    for name in ENVIRONMENT:
        value = environ.get(name, "").strip()
        if not value:
            continue
        tag, _, modifier = value.partition(".")[0].partition("@")
        if tag in ("C", "POSIX"):
            return DEFAULT_LOCALE
        if modifier.lower() in ("latin", "cyrillic"):
            tag = f"{tag.split('_')[0]}-{'Latn' if modifier.lower() == 'latin' else 'Cyrl'}"
        return negotiate(tag)
    return DEFAULT_LOCALE


def current_locale() -> str:
    """The locale of the request or command being served now (English outside one)."""
    return _current.get()


def set_locale(locale: str) -> None:
    """Make ``locale`` the current one for the rest of this task (a request, a command)."""
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@contextmanager
def using_locale(locale: str) -> Iterator[None]:
    """The current locale is ``locale`` inside the block, and what it was after it."""
    token = _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


#: Whole numbers from this one up are grouped (``12 345``); smaller ones, years among them,
#: are written as they are.
GROUPED_FROM = 10_000


def format_value(value: object, locale: str, *, digits: int | None = None) -> str:
    """One dynamic part of a message as the locale writes it (numbers, dates).

    A fraction keeps up to two decimals, or exactly ``digits``.
    """
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) and abs(value) < GROUPED_FROM:
        return str(value)
    if isinstance(value, int | float | Decimal | datetime.date):
        # The gap analysis writes a sentence for each of tens of thousands of cells, and the
        # same figures recur: Babel's formatting (tens of microseconds) is done once each.
        return _formatted(type(value).__name__, value, locale, digits)
    return str(value)


@lru_cache(maxsize=65_536)
def _formatted(
    kind: str, value: int | float | Decimal | datetime.date, locale: str, digits: int | None
) -> str:
    """``format_value`` of a number or date (``kind`` keeps 1 and 1.0 apart in the cache)."""
    tag = babel_locale(locale)
    if digits is not None and isinstance(value, float | Decimal):
        return format_decimal(value, format="#,##0." + "0" * digits, locale=tag)
    if isinstance(value, int):
        return format_decimal(value, locale=tag)
    if isinstance(value, float | Decimal):
        return format_decimal(value, format="#,##0.##", locale=tag)
    if isinstance(value, datetime.date) and locale == DEFAULT_LOCALE:
        return value.isoformat()  # English keeps ISO dates, as the API's fields are written
    if isinstance(value, datetime.datetime):
        return format_datetime(value, format="medium", locale=tag)
    return format_date(value, format="medium", locale=tag)


def percent(share: float) -> str:
    """A share (0.38) as a whole percentage in the current locale (``38%``, ``38 %``)."""
    return _percent(share, current_locale())


@lru_cache(maxsize=16_384)
def _percent(share: float, locale: str) -> str:
    return format_percent(share, locale=babel_locale(locale))


class _Values(dict[str, str]):
    """Placeholder values; a name without one stays ``{name}`` (an error message must not fail)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(text: str, values: Mapping[str, object], locale: str) -> str:
    """``text`` with its ``{name}`` placeholders filled by ``values``, formatted for ``locale``."""
    if not values:
        return text
    # Words (most values: names, sentences already written) go in as they are.
    filled = _Values(
        {name: v if type(v) is str else format_value(v, locale) for name, v in values.items()}
    )
    try:
        return text.format_map(filled)
    except (ValueError, IndexError):  # a stray brace in a translation: say it unfilled
        return text


def _(message: str, /, **values: object) -> str:
    """``message`` in the current locale, its ``{name}`` placeholders filled by ``values``.

    Numbers and dates among the values are written as the locale writes them.
    """
    locale = current_locale()
    return _fill(translations(locale, "messages").gettext(message), values, locale)


def ngettext(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The form of a message for ``n`` in the current locale (``n`` is also ``{n}``)."""
    locale = current_locale()
    text = translations(locale, "messages").ngettext(singular, plural, n)
    return _fill(text, {"n": n, **values}, locale)


def pgettext(context: str, message: str, /, **values: object) -> str:
    """``message`` in the current locale where the same English says different things."""
    locale = current_locale()
    return _fill(translations(locale, "messages").pgettext(context, message), values, locale)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it (translated where used)."""
    return message
