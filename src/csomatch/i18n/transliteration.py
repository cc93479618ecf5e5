"""Serbian between its two scripts: Latin to Cyrillic and back, leaving code untouched.

The Serbian Cyrillic catalogues are generated from the Latin ones (``catalogues cyrillic``);
a message may hold parts that are not Serbian words and must stay as they are: named
placeholders (``{town}``, ``%(town)s``), markup (``<strong>``, ``&nbsp;``), code in
backticks, web addresses, and the Latin acronyms and names of formats and standards that
Serbian Cyrillic text keeps in Latin (``API``, ``CSV``, ``IATI``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import cyrtranslit

#: Words that Serbian Cyrillic text writes in Latin letters: names of formats, protocols and
#: standards (a reader searches for them as they are written).
LATIN_WORDS: frozenset[str] = frozenset(
    {
        "AL",
        "API",
        "CSV",
        "EUR",
        "GeoJSON",
        "HTTP",
        "HTTPS",
        "IATI",
        "ID",
        "ISO",
        "JSON",
        "OpenAPI",
        "Natural Earth",
        "PDF",
        "QR",
        "SQL",
        "URL",
        "UTC",
        "XML",
        "csomatch",
        "webhook",
        "world-atlas",
    }
)
#: Names and field names the messages domain quotes (a program or a person types them).
NAMES_AND_FIELDS: frozenset[str] = frozenset(
    {
        *("PostgreSQL", "Herfindahl", "YYYY-MM", "YYYY-Qn", "UTF-8", "lat", "lon", "url"),
        *("DTD", "ETag", "EUR", "FILE", "GET", "IPv6", "NUL", "POST", "PUT", "RS", "TOKEN"),
        *("TRM", "UUID", "webhook"),
    }
)

_PROTECTED = re.compile(
    r"\{[^{}\s]*\}"  # {placeholder}
    r"|%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifrx]"  # %(placeholder)s
    r"|%%"  # a literal percent sign in a %-format
    r"|<code>.*?</code>"  # code in markup, with its tags
    r"|<[^<>]+>"  # markup
    r"|&#?\w+;"  # entities
    r"|`[^`]*`"  # code
    r"|https?://\S+"  # addresses
    r"|\$[.\w\[\]]*"  # JSON paths ($.needs[2].code)
    r"|'[^'\s][^']*'"  # quoted values ('child_best_interest')
    r"|(?<![\w.])(?:\.\.\.)?/[\w/.{}?=&-]*"  # API paths (/api/v1/areas, .../capacity)
    r"|--role \w+|--[\w-]+"  # command-line options (and a role named as one's value)
    r"|csomatch(?: [a-z][\w-]*)*(?=[:)])"  # a command (csomatch token create:)
    r"|\b\w+_\w+\b|\b\w+=\w+\b"  # field names (receiving_participant), by=code
    r"|\b[A-Z][a-z]*-[A-Z][\w-]*"  # headers (If-Match, Last-Event-ID)
    r"|\b(?:" + "|".join(sorted(LATIN_WORDS | NAMES_AND_FIELDS, key=len, reverse=True)) + r")\b"
)


def _outside_protected(text: str, convert: Callable[[str], str]) -> str:
    """Apply ``convert`` to the parts of ``text`` that are words, keeping protected parts."""
    parts: list[str] = []
    position = 0
    for match in _PROTECTED.finditer(text):
        parts.append(convert(text[position : match.start()]))
        parts.append(match.group(0))
        position = match.end()
    parts.append(convert(text[position:]))
    return "".join(parts)


def to_cyrillic(text: str) -> str:
    """Serbian Latin text in Cyrillic script, placeholders, markup and code kept as they are."""
    return _outside_protected(text, lambda part: cyrtranslit.to_cyrillic(part, "sr"))


def to_latin(text: str) -> str:
    """Serbian Cyrillic text in Latin script, placeholders, markup and code kept as they are."""
    return _outside_protected(text, lambda part: cyrtranslit.to_latin(part, "sr"))
