"""The pages' templates in the reader's language: how their words are marked, found and swapped.

Every piece of text a person reads in ``templates/*.html`` is written inside a marker,
``[[Sign in]]``, in a text node or an attribute (``aria-label="[[Pages]]"``). The words inside
are the English msgid of the ``web`` catalogue, with runs of white space taken as one space, so
a sentence may wrap over lines. A text marker may hold inline markup (``<code>``, ``<strong>``,
``<a href>``): the translator keeps the same tags around the translated words
(tests/unit/test_web_templates.py checks that). :func:`extract_markers` is the Babel
extractor of those markers; :func:`localise` swaps them for the translation when the page is
rendered (once per page and locale, at start). Page titles are marked in ``web/pages.py`` with
``page_title("...")`` and found by Babel's Python extractor (:data:`TITLE_KEYWORDS`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import IO, Any

#: A marked message: ``[[words]]``, possibly across lines (never nested).
MARKER = re.compile(r"\[\[(.+?)\]\]", re.DOTALL)
_SPACE = re.compile(r"\s+")


def msgid(marked: str) -> str:
    """The msgid of a marker's words: white space runs become one space, ends trimmed."""
    return _SPACE.sub(" ", marked).strip()


def _in_attribute(source: str, start: int) -> bool:
    """Whether the marker at ``start`` is an attribute's value (``name="[[...]]"``)."""
    return source[max(0, start - 2) : start] in ('="', "='")


def localise(source: str, gettext: Callable[[str], str]) -> str:
    """The template with every marker replaced by its translation.

    A translation in an attribute is escaped; one in text is inserted as written, since it
    may carry the msgid's inline markup (the catalogues are part of the repository).
    """

    def swap(match: re.Match[str]) -> str:
        text = gettext(msgid(match.group(1)))
        return html.escape(text, quote=True) if _in_attribute(source, match.start()) else text

    return MARKER.sub(swap, source)


#: The keyword that marks a page's title in ``web/pages.py`` (for Babel's Python extractor).
TITLE_KEYWORDS = {"page_title": None}


def extract_markers(
    fileobj: IO[bytes],
    keywords: Any,
    comment_tags: Any,
    options: dict[str, Any],
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor of the ``[[...]]`` markers in a page template.

    Yields ``(line, funcname, message, comments)`` as Babel's extractors do; the line is where
    the marker starts.
    """
    source = fileobj.read().decode(options.get("encoding", "utf-8"))
    for match in MARKER.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        yield line, "_", msgid(match.group(1)), []
