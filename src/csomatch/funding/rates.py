"""Exchange rates to EUR that the user keeps: a CSV of currency, valid_from, eur_per_unit.

A rate holds from its date until the next date of the same currency; a ledger amount is
converted at its value date (else the start of its period). Importing rates recomputes the
EUR amounts of every ledger row and transaction in the currencies it touched.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

import asyncpg

from csomatch.db import funding as funding_db
from csomatch.errors import InvalidInput
from csomatch.funding.records import FeedError, parse_currency, parse_date
from csomatch.i18n import _

_ALIASES = {
    "currency": ("currency", "code"),
    "valid_from": ("valid_from", "date", "from"),
    "eur_per_unit": ("eur_per_unit", "rate", "eur"),
    "source": ("source",),
}


def parse_rates(data: bytes, *, default_source: str) -> list[funding_db.Rate]:
    """Read a rates CSV; any bad row raises InvalidInput naming its row and column."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("the rates file is not UTF-8 text"), field="file") from None
    reader = csv.reader(io.StringIO(text))
    columns = _rate_columns(next(reader, []))
    rates = []
    for record in reader:
        if not any(c.strip() for c in record):
            continue
        try:
            rates.append(_rate(record, columns, default_source))
        except FeedError as exc:
            raise InvalidInput(
                _(
                    "row {line_num}, column {field}: {reason}",
                    line_num=reader.line_num,
                    field=exc.field,
                    reason=exc.reason,
                ),
                field=exc.field,
            ) from None
    return rates


def _rate_columns(header: list[str]) -> dict[str, int]:
    """Field -> column index; raise InvalidInput when a required column is missing."""
    names_in_file = [h.strip().lower() for h in header]
    columns: dict[str, int] = {}
    for field, names in _ALIASES.items():
        for i, name in enumerate(names_in_file):
            if name in names:
                columns[field] = i
                break
    for field in ("currency", "valid_from", "eur_per_unit"):
        if field not in columns:
            raise InvalidInput(
                _(
                    "the rates header needs currency, valid_from and eur_per_unit (no {field})",
                    field=field,
                ),
                field="header",
            )
    return columns


def _rate(record: list[str], columns: dict[str, int], default_source: str) -> funding_db.Rate:
    """The rate one row states; a bad cell raises FeedError naming its column."""

    def cell(field: str) -> str:
        i = columns.get(field)
        return record[i].strip() if i is not None and i < len(record) else ""

    currency = parse_currency(cell("currency"), "currency")
    valid_from = parse_date(cell("valid_from"), "valid_from")
    try:
        rate = Decimal(cell("eur_per_unit"))
    except InvalidOperation:
        raise FeedError("eur_per_unit", f"{cell('eur_per_unit')!r} is not a number") from None
    if not rate.is_finite() or rate <= 0:
        raise FeedError("eur_per_unit", "a rate is a positive number")
    return funding_db.Rate(
        currency=currency,
        valid_from=valid_from,
        eur_per_unit=rate,
        source=(cell("source") or default_source)[:200],
        illustrative=False,
    )


async def import_rates(conn: asyncpg.Connection, rates: list[funding_db.Rate]) -> int:
    """Store rates and recompute EUR amounts; return how many ledger rows were recomputed."""
    await funding_db.upsert_rates(conn, rates)
    return await funding_db.recompute_eur(conn, sorted({r.currency for r in rates}))


async def list_rates(conn: asyncpg.Connection) -> list[funding_db.Rate]:
    """Every EUR rate in use, by currency and date (``illustrative``: a shipped default)."""
    return await funding_db.list_rates(conn)
