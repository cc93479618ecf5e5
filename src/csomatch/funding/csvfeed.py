"""CSV funding feed with a documented header, HXL hashtags accepted (docs/funding.md).

The first row is the header: column names (any order, case and spacing ignored) or HXL
hashtags. A second row of hashtags under a named header is read too; hashtags then decide.
Errors name the row (as numbered in the file, the header being row 1) and the column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

from csomatch.errors import InvalidInput
from csomatch.funding.records import (
    FeedError,
    FeedLine,
    Parsed,
    Skip,
    check_period,
    parse_amount,
    parse_currency,
    parse_date,
)
from csomatch.i18n import _

if TYPE_CHECKING:
    from _csv import Reader  # the type csv.reader() returns; the csv module does not name it

#: Column names accepted for each field (after lower-casing, non-alphanumerics as "_").
NAMES: dict[str, tuple[str, ...]] = {
    "funder": ("funder", "funder_name", "donor", "funding_organisation", "funding_organization"),
    "funder_ref": ("funder_ref", "funder_id", "funder_identifier"),
    "recipient": (
        "recipient", "recipient_name", "organisation", "organization", "implementer",
    ),
    "registration_number": (
        "registration_number", "registration", "recipient_ref", "recipient_identifier",
        "org_id", "recipient_org_id",
    ),
    "recipient_id": ("recipient_id", "csomatch_organization_id", "organization_id"),
    "participant": ("participant", "country"),
    "services": (
        "service_codes", "service_code", "service_code_s", "services", "service_ids", "sector",
    ),
    "amount": ("amount", "value"),
    "currency": ("currency",),
    "value_date": ("value_date",),
    "start": ("start", "start_date", "period_start"),
    "end": ("end", "end_date", "period_end"),
    "status": ("status",),
    "funded_units": ("funded_units", "units"),
    "unit": ("unit",),
    "external_id": ("external_id", "id", "grant_id", "reference"),
    "title": ("title", "description"),
}  # fmt: skip

#: HXL hashtag rules, most specific first: (tag, attributes that must be present) -> field.
HXL: list[tuple[str, frozenset[str], str]] = [
    ("#org", frozenset({"funder", "code"}), "funder_ref"),
    ("#org", frozenset({"funder", "id"}), "funder_ref"),
    ("#org", frozenset({"funder"}), "funder"),
    ("#org", frozenset({"impl", "code"}), "registration_number"),
    ("#org", frozenset({"impl", "id"}), "registration_number"),
    ("#org", frozenset({"impl"}), "recipient"),
    ("#org", frozenset({"recipient", "code"}), "registration_number"),
    ("#org", frozenset({"recipient"}), "recipient"),
    ("#value", frozenset(), "amount"),
    ("#currency", frozenset(), "currency"),
    ("#date", frozenset({"start"}), "start"),
    ("#date", frozenset({"end"}), "end"),
    ("#date", frozenset({"value"}), "value_date"),
    ("#sector", frozenset(), "services"),
    ("#status", frozenset(), "status"),
    ("#capacity", frozenset({"funded"}), "funded_units"),
    ("#capacity", frozenset({"unit"}), "unit"),
    ("#activity", frozenset({"id"}), "external_id"),
    ("#activity", frozenset({"code"}), "external_id"),
    ("#meta", frozenset({"id"}), "external_id"),
    ("#activity", frozenset({"name"}), "title"),
    ("#activity", frozenset(), "title"),
    ("#country", frozenset({"code"}), "participant"),
    ("#adm0", frozenset({"code"}), "participant"),
]

_REQUIRED = (("amount",), ("currency",), ("start",), ("end",))
_ONE_OF = (
    ("funder", "funder_ref"),
    ("recipient", "registration_number", "recipient_id"),
)
_SPLIT = re.compile(r"[;,|\s]+")


def _name_key(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_")


def _is_hashtag(cell: str) -> bool:
    return cell.strip().startswith("#")


def field_of_hashtag(hashtag: str) -> str | None:
    """The field an HXL hashtag stands for (``#org +funder`` -> ``funder``), or None."""
    parts = [p.strip().lower() for p in hashtag.strip().split("+")]
    tag, attributes = parts[0].replace(" ", ""), frozenset(p for p in parts[1:] if p)
    for rule_tag, required, field in HXL:
        if tag == rule_tag and required <= attributes:
            return field
    return None


def field_of_name(name: str) -> str | None:
    """The field a column name stands for, or None."""
    key = _name_key(name)
    for field, names in NAMES.items():
        if key in names:
            return field
    return None


def _columns(header: list[str], hashtags: list[str] | None) -> tuple[dict[str, int], list[str]]:
    """Field -> column index, and the label of each column for messages."""
    columns: dict[str, int] = {}
    labels = []
    for i, name in enumerate(header):
        tag = hashtags[i] if hashtags is not None and i < len(hashtags) else ""
        field = field_of_hashtag(tag) if tag.strip() else None
        if field is None:
            field = field_of_hashtag(name) if _is_hashtag(name) else field_of_name(name)
        labels.append(name.strip() or tag.strip() or f"column {i + 1}")
        if field is not None and field not in columns:
            columns[field] = i
    return columns, labels


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("the CSV file is not UTF-8 text"), field="file") from None


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    first = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:
        return csv.excel


def parse_csv(data: bytes) -> Parsed:
    """Read a CSV funding file; a header that lacks a required column raises InvalidInput."""
    try:
        return _parse_csv(data)
    except csv.Error as exc:
        raise InvalidInput(_("the CSV file cannot be read: {exc}", exc=exc), field="file") from None


def _parse_csv(data: bytes) -> Parsed:
    """Read the header, check it names the required columns, then each row."""
    text = _decode(data)
    if "\x00" in text:
        raise InvalidInput(_("the CSV file holds NUL characters (is it a CSV file?)"), field="file")
    reader = csv.reader(io.StringIO(text), _dialect(text))
    header, hashtags, pending = _read_header(reader)
    columns, labels = _columns(header, hashtags)
    _require_columns(columns)
    ignored = [labels[i] for i in range(len(header)) if i not in columns.values()]
    warnings = [f"columns ignored: {', '.join(ignored)}"] if ignored else []

    lines: list[FeedLine] = []
    skips: list[Skip] = []
    rows_read = 0

    def rows() -> Iterator[tuple[int, list[str]]]:
        yield from pending
        for record in reader:
            yield reader.line_num, record

    for line_num, record in rows():
        if not any(cell.strip() for cell in record):
            continue
        rows_read += 1
        where = f"row {line_num}"
        try:
            lines.append(_line(record, columns, labels, where))
        except FeedError as exc:
            skips.append(Skip(where=where, field=exc.field, reason=exc.reason))
    return Parsed(format="csv", rows_read=rows_read, lines=lines, skips=skips, warnings=warnings)


def _read_header(
    reader: Reader,
) -> tuple[list[str], list[str] | None, list[tuple[int, list[str]]]]:
    """The header, the hashtag row under it if any, else the data row read looking for one."""
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput(_("the CSV file is empty"), field="file") from None
    hashtags: list[str] | None = None
    pending: list[tuple[int, list[str]]] = []
    if not all(_is_hashtag(c) for c in header if c.strip()):
        second = next(reader, None)
        if second is not None:
            if any(c.strip() for c in second) and all(_is_hashtag(c) for c in second if c.strip()):
                hashtags = second
            else:
                pending.append((reader.line_num, second))
    return header, hashtags, pending


def _require_columns(columns: dict[str, int]) -> None:
    """Raise InvalidInput naming the first required column the header lacks."""
    for names in _REQUIRED + _ONE_OF:
        if not any(n in columns for n in names):
            wanted = " or ".join(NAMES[n][0] for n in names)
            raise InvalidInput(
                _("the header has no {wanted} column", wanted=wanted), field="header"
            )


def _line(record: list[str], columns: dict[str, int], labels: list[str], where: str) -> FeedLine:
    def cell(field: str) -> str:
        i = columns.get(field)
        return record[i].strip() if i is not None and i < len(record) else ""

    def label(field: str) -> str:
        return labels[columns[field]] if field in columns else field

    funder, funder_ref = cell("funder"), cell("funder_ref")
    if not funder and not funder_ref:
        raise FeedError(label("funder" if "funder" in columns else "funder_ref"), "empty")
    recipient, registration = cell("recipient"), cell("registration_number")
    recipient_id = None
    if cell("recipient_id"):
        try:
            recipient_id = uuid.UUID(cell("recipient_id"))
        except ValueError:
            raise FeedError(label("recipient_id"), "not a csomatch organisation id") from None
    if not recipient and not registration and recipient_id is None:
        raise FeedError(label("recipient"), "empty")
    for field in ("amount", "currency", "start", "end"):
        if not cell(field):
            raise FeedError(label(field), "empty")
    amount = parse_amount(cell("amount"), label("amount"))
    currency = parse_currency(cell("currency"), label("currency"))
    start = parse_date(cell("start"), label("start"))
    end = parse_date(cell("end"), label("end"))
    check_period(start, end, label("end"))
    value_date = parse_date(cell("value_date"), label("value_date")) if cell("value_date") else None
    units = None
    if cell("funded_units"):
        try:
            units = int(cell("funded_units"))
        except ValueError:
            raise FeedError(label("funded_units"), "not a whole number") from None
    participant = cell("participant").upper() or None
    services = tuple(s for s in _SPLIT.split(cell("services")) if s)
    external_id = cell("external_id")
    if not external_id:
        basis = "|".join(
            [funder_ref or funder, registration or recipient, str(start), str(end), *services]
        )
        external_id = "row:" + hashlib.sha256(basis.encode()).hexdigest()[:20]
    return FeedLine(
        where=where,
        external_id=external_id,
        funder_ref=funder_ref or None,
        funder_name=funder or None,
        recipient_id=recipient_id,
        recipient_ref=registration or None,
        recipient_name=recipient,
        participant=participant,
        amount=amount,
        currency=currency,
        value_date=value_date,
        period_start=start,
        period_end=end,
        status=(cell("status") or "committed").lower(),
        funded_units=units,
        unit=cell("unit").lower() or None,
        service_refs=services,
        title=cell("title") or None,
    )
