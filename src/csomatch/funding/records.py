"""What every feed reader produces: normalised funding lines, transactions and skips.

Readers (``csvfeed``, ``iati``, ``giving360``) are pure: bytes in, a ``Parsed`` out, no
database. ``ledger`` then matches funders, recipients and services and merges the lines.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal, InvalidOperation
from typing import Literal

import msgspec

Format = Literal["iati", "csv", "360giving", "api"]
#: The largest amount a line may carry (a trillion), far above any real grant.
MAX_AMOUNT = Decimal("1000000000000")


class FeedLine(msgspec.Struct, frozen=True, kw_only=True):
    """One funding line read from a feed, before matching."""

    #: Where the line came from, for the report: "row 12", "activity XM-1 budget 2024".
    where: str
    external_id: str
    funder_ref: str | None
    funder_name: str | None
    #: A hint for a funder created by the import (IATI organisation type).
    funder_kind: str | None = None
    #: A csomatch organisation id given explicitly by the feed.
    recipient_id: uuid.UUID | None = None
    #: An identifier of the recipient: IATI organisation ref, registration number, org id.
    recipient_ref: str | None = None
    recipient_name: str
    #: The participant the recipient is in, when the feed says (narrows name matching).
    participant: str | None = None
    amount: Decimal
    currency: str
    value_date: dt.date | None = None
    period_start: dt.date
    period_end: dt.date
    status: str
    funded_units: int | None = None
    unit: str | None = None
    #: Service ids or taxonomy codes named explicitly by the feed.
    service_refs: tuple[str, ...] = ()
    title: str | None = None
    activity_ref: str | None = None


class FeedTransaction(msgspec.Struct, frozen=True, kw_only=True):
    """One transaction of an IATI activity (detail kept beside the ledger)."""

    activity_ref: str
    position: int
    ref: str | None
    transaction_type: int
    transaction_date: dt.date
    amount: Decimal
    currency: str
    value_date: dt.date
    provider_ref: str | None
    provider_name: str | None
    receiver_ref: str | None
    receiver_name: str | None


class Skip(msgspec.Struct, frozen=True, kw_only=True):
    """A record that was not imported, where it is, which field, and why."""

    where: str
    reason: str
    field: str | None = None


class Parsed(msgspec.Struct, frozen=True, kw_only=True):
    """What a reader found in one file."""

    format: Format
    rows_read: int
    lines: list[FeedLine]
    skips: list[Skip]
    transactions: list[FeedTransaction] = []
    #: Activities whose transactions are replaced by ``transactions`` (IATI only).
    activity_refs: list[str] = []
    warnings: list[str] = []


class FeedError(ValueError):
    """A field value a reader cannot use; the reader turns it into a ``Skip``."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def parse_amount(raw: str, field: str) -> Decimal:
    """An amount such as ``1234.50``, ``1 234,50`` or ``1,234.50``; never negative."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "").replace("_", "")
    if "," in text and "." in text:
        text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FeedError(field, f"{raw!r} is not an amount") from None
    if not value.is_finite():
        raise FeedError(field, f"{raw!r} is not an amount")
    if value < 0:
        raise FeedError(field, "a negative amount cannot be a funding line")
    if value > MAX_AMOUNT:
        raise FeedError(field, "amount is too large")
    return value.quantize(Decimal("0.01"))


def parse_date(raw: str, field: str) -> dt.date:
    """A date as ``YYYY-MM-DD`` (an ISO date-time is cut to its date) or ``DD.MM.YYYY``."""
    text = raw.strip()
    try:
        if len(text) >= 10 and text[4] == "-":
            return dt.date.fromisoformat(text[:10])
        if "." in text:
            day, month, year = text.rstrip(".").split(".")
            return dt.date(int(year), int(month), int(day))
    except ValueError:
        pass
    raise FeedError(field, f"{raw!r} is not a date (YYYY-MM-DD or DD.MM.YYYY)")


def parse_currency(raw: str, field: str) -> str:
    """An ISO 4217 code (three letters)."""
    code = raw.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise FeedError(field, f"{raw!r} is not a currency code such as EUR")
    return code


def check_period(start: dt.date, end: dt.date, field: str) -> None:
    """The period must not end before it starts."""
    if end < start:
        raise FeedError(field, f"the period ends ({end}) before it starts ({start})")
