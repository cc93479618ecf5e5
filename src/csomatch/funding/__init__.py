"""Funding feeds: readers of IATI 2.03, CSV (HXL) and 360Giving files, and the ledger.

``parse(data, fmt)`` turns a file into normalised lines (pure); ``ledger.import_parsed``
matches and merges them into the one funding ledger. See docs/funding.md.
"""

from __future__ import annotations

from typing import Literal

from csomatch.errors import InvalidInput
from csomatch.funding.records import Parsed
from csomatch.i18n import _

FileFormat = Literal["iati", "csv", "360giving"]
FORMATS = ("auto", "iati", "csv", "360giving")


def detect_format(data: bytes, filename: str | None = None) -> FileFormat:
    """The format of a file, by its name and its first non-blank character."""
    name = (filename or "").lower()
    if name.endswith(".xml"):
        return "iati"
    if name.endswith(".json"):
        return "360giving"
    if name.endswith((".csv", ".tsv", ".txt")):
        return "csv"
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "iati"
    if head.startswith((b"{", b"[")):
        return "360giving"
    return "csv"


def parse(data: bytes, fmt: str, filename: str | None = None) -> Parsed:
    """Read a funding file of format ``fmt`` (``auto`` detects it)."""
    from csomatch.funding.csvfeed import parse_csv
    from csomatch.funding.giving360 import parse_360giving
    from csomatch.funding.iati import parse_iati

    chosen = detect_format(data, filename) if fmt == "auto" else fmt
    if chosen == "iati":
        return parse_iati(data)
    if chosen == "csv":
        return parse_csv(data)
    if chosen == "360giving":
        return parse_360giving(data)
    raise InvalidInput(
        _("unknown format {fmt}; use one of {value}", fmt=repr(fmt), value=", ".join(FORMATS)),
        field="format",
    )
