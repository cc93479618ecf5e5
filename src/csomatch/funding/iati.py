"""IATI 2.03 activity XML: validated against the shipped schemas, read into funding lines.

Untrusted XML is parsed without entity expansion, DTD loading or network access, and a
document type declaration (which an IATI file never needs) rejects the file outright.

One activity gives ledger lines from the first of these that it has (docs/funding.md):
budgets (one line per period; a revised budget replaces the original of the same period),
else planned disbursements, else commitments (type 2), else disbursements (3), else
incoming funds (1). Its transactions of types 1-4 are kept as detail beside the lines.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

from lxml import etree

from csomatch.domain import CAPACITY_UNITS, PARTICIPANTS
from csomatch.errors import InvalidInput
from csomatch.funding.records import (
    MAX_AMOUNT,
    FeedError,
    FeedLine,
    FeedTransaction,
    Parsed,
    Skip,
    parse_amount,
    parse_currency,
)
from csomatch.i18n import _

#: Sectors with a vocabulary-uri containing this name carry csomatch taxonomy codes.
CSOMATCH_VOCABULARY = "csomatch"
#: other-identifier refs: ``csomatch:service:UUID`` and ``csomatch:units:12:bed``.
SERVICE_PREFIX = "csomatch:service:"
UNITS_PREFIX = "csomatch:units:"
_TRANSACTION_TYPES = {1: "incoming funds", 2: "commitment", 3: "disbursement", 4: "expenditure"}
#: IATI organisation types -> funder kinds (10 government is a ministry at home, else donor).
_ORG_KINDS = {"11": "municipality", "40": "io", "60": "foundation"}

#: An organisation as an activity names it: (ref, name, IATI organisation type).
_Party = tuple[str | None, str | None, str | None]


def safe_parser() -> etree.XMLParser:
    """An lxml parser for untrusted input: no entities, no DTD, no network, no huge trees."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@functools.cache
def activity_schema() -> etree.XMLSchema:
    """The IATI 2.03 activity schema shipped in ``csomatch/funding/iati_schema``."""
    folder = resources.files("csomatch.funding").joinpath("iati_schema")
    with resources.as_file(folder.joinpath("iati-activities-schema.xsd")) as path:
        return etree.XMLSchema(etree.parse(str(path), safe_parser()))


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def _narrative(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    for narrative in element.iterfind("narrative"):
        if narrative.text and narrative.text.strip():
            return " ".join(narrative.text.split())
    return None


def _org(element: etree._Element | None) -> _Party:
    """(ref, name, type) of an organisation element."""
    if element is None:
        return None, None, None
    ref = (element.get("ref") or "").strip() or None
    return ref, _narrative(element), element.get("type")


def _participant(ref: str | None) -> str | None:
    if ref and ref[2:3] == "-" and ref[:2].upper() in PARTICIPANTS:
        return ref[:2].upper()
    return None


def _funder_kind(ref: str | None, org_type: str | None) -> str:
    if org_type == "10":
        return "ministry" if _participant(ref) else "donor"
    return _ORG_KINDS.get(org_type or "", "other")


def check_document(data: bytes) -> etree._Element:
    """Parse safely; reject a DTD, a non-IATI root or malformed XML (InvalidInput)."""
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(_("the XML is not well formed: {exc}", exc=exc), field="file") from None
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None:
        raise InvalidInput(
            _(
                "the XML declares a document type (DTD); IATI files have none and "
                "csomatch refuses them (entity expansion, external entities)"
            ),
            field="file",
        )
    if root.tag != "iati-activities":
        raise InvalidInput(
            _("the root element is <{tag}>, not <iati-activities>", tag=root.tag), field="file"
        )
    return root


class _Value:
    def __init__(self, amount: Decimal, currency: str, value_date: dt.date) -> None:
        self.amount, self.currency, self.value_date = amount, currency, value_date


def _value(element: etree._Element | None, default_currency: str | None, where: str) -> _Value:
    if element is None or element.text is None:
        raise FeedError(f"{where}/value", "no value")
    currency = (element.get("currency") or default_currency or "").strip().upper()
    if not currency:
        raise FeedError(f"{where}/value", "no currency, and the activity has no default-currency")
    value_date = _date(element.get("value-date"))
    if value_date is None:
        raise FeedError(f"{where}/value", "no value-date")
    try:
        amount = Decimal(element.text.strip())
    except InvalidOperation:
        raise FeedError(f"{where}/value", f"{element.text!r} is not a number") from None
    if not amount.is_finite():
        raise FeedError(f"{where}/value", f"{element.text!r} is not a number")
    return _Value(amount, parse_currency(currency, f"{where}/value/@currency"), value_date)


def parse_iati(data: bytes) -> Parsed:
    """Read an IATI 2.03 activity file; invalid activities are skipped with the schema error."""
    root = check_document(data)
    warnings: list[str] = []
    if root.get("version") != "2.03":
        warnings.append(f"the file says version {root.get('version')!r}; read as 2.03")
    schema = activity_schema()
    invalid: dict[int, str] = {}
    if not schema.validate(root.getroottree()):
        invalid = _invalid_activities(root, schema)
    lines: list[FeedLine] = []
    skips: list[Skip] = []
    transactions: list[FeedTransaction] = []
    activity_refs: list[str] = []
    activities = root.findall("iati-activity")
    for position, activity in enumerate(activities):
        ident = (activity.findtext("iati-identifier") or "").strip()
        where = f"activity {ident or position + 1} (line {activity.sourceline})"
        if not ident:
            skips.append(Skip(where=where, field="iati-identifier", reason="empty"))
            continue
        if position in invalid:
            skips.append(Skip(where=where, field="schema", reason=invalid[position]))
            continue
        try:
            found, txs = _activity(activity, ident, where, warnings)
        except FeedError as exc:
            skips.append(Skip(where=where, field=exc.field, reason=exc.reason))
            continue
        if not found:
            skips.append(
                Skip(
                    where=where,
                    field="budget",
                    reason="no budget, planned disbursement, commitment, disbursement or "
                    "incoming funds to make a funding line of",
                )
            )
            continue
        lines.extend(found)
        transactions.extend(txs)
        activity_refs.append(ident)
    return Parsed(
        format="iati",
        rows_read=len(activities),
        lines=lines,
        skips=skips,
        transactions=transactions,
        activity_refs=activity_refs,
        warnings=warnings,
    )


def _invalid_activities(root: etree._Element, schema: etree.XMLSchema) -> dict[int, str]:
    """Validate each activity alone; position -> first schema error of the invalid ones."""
    found: dict[int, str] = {}
    for position, activity in enumerate(root.findall("iati-activity")):
        wrapper = etree.Element("iati-activities", version=root.get("version") or "2.03")
        wrapper.append(_copy(activity))
        if not schema.validate(wrapper):
            found[position] = (
                f"not valid IATI 2.03 (line {activity.sourceline}): {_first_error(schema)}"
            )
    if not found:
        schema.validate(root.getroottree())
        raise InvalidInput(
            _("the file is not valid IATI 2.03: {schema}", schema=_first_error(schema)),
            field="file",
        )
    return found


def _first_error(schema: etree.XMLSchema) -> str:
    log: Any = schema.error_log  # lxml-stubs do not know the log is iterable
    errors = list(log)
    return str(errors[0].message) if errors else "schema validation failed"


def _copy(element: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(element), safe_parser())


def _activity(
    activity: etree._Element, ident: str, where: str, warnings: list[str]
) -> tuple[list[FeedLine], list[FeedTransaction]]:
    """The funding lines of one activity (see the module docstring) and its transactions."""
    default_currency = activity.get("default-currency")
    title = _narrative(activity.find("title"))
    funder, recipient = _funder_and_recipient(activity, ident, warnings)
    status_code = _attr(activity, "activity-status", "code")
    start, end = _activity_period(activity)
    services, units, unit = _explicit_services(activity)
    participant = _participant(recipient[0]) or _recipient_country(activity)
    base = {
        "title": title,
        "activity_ref": ident,
        "funded_units": units,
        "unit": unit,
        "service_refs": services,
        "participant": participant,
    }

    def line(
        suffix: str,
        value: _Value,
        period: tuple[dt.date, dt.date],
        status: str,
        provider: _Party = (None, None, None),
        receiver: _Party = (None, None, None),
    ) -> FeedLine:
        f = provider if provider[0] or provider[1] else funder
        r = receiver if receiver[0] or receiver[1] else recipient
        if not (r[0] or r[1]):
            raise FeedError(
                "participating-org", "no implementing organisation (role 4) or receiver named"
            )
        if not (f[0] or f[1]):
            raise FeedError("participating-org", "no funding organisation (role 1) named")
        if value.amount < 0:
            raise FeedError(f"{suffix}/value", "a negative amount cannot be a funding line")
        return FeedLine(
            where=f"{where} {suffix}",
            external_id=f"{ident}/{suffix}"[:200],
            funder_ref=f[0],
            funder_name=f[1],
            funder_kind=_funder_kind(f[0], f[2]),
            recipient_ref=r[0],
            recipient_name=r[1] or "",
            amount=parse_amount(str(value.amount), f"{suffix}/value"),
            currency=value.currency,
            value_date=value.value_date,
            period_start=period[0],
            period_end=max(period),
            status=_status(status, status_code),
            **base,  # type: ignore[arg-type]
        )

    lines = _budget_lines(activity, default_currency, line)
    if not lines:
        lines = _planned_disbursement_lines(activity, default_currency, line)
    txs = _transactions(activity, ident, default_currency)
    if not lines:
        lines = _transaction_lines(txs, start, end, line)
    return lines, txs


def _funder_and_recipient(
    activity: etree._Element, ident: str, warnings: list[str]
) -> tuple[_Party, _Party]:
    """The first funding and implementing organisations, else the reporting one; warn of more."""
    reporting = _org(activity.find("reporting-org"))
    funders = [_org(p) for p in activity.iterfind("participating-org") if p.get("role") == "1"]
    implementers = [_org(p) for p in activity.iterfind("participating-org") if p.get("role") == "4"]
    if len(funders) > 1:
        warnings.append(f"{ident}: several funding organisations; budgets go to the first")
    if len(implementers) > 1:
        warnings.append(f"{ident}: several implementing organisations; budgets go to the first")
    funder = funders[0] if funders else reporting
    if implementers:
        recipient = implementers[0]
    elif reporting[0] != funder[0] or reporting[1] != funder[1]:
        recipient = reporting
    else:
        recipient = (None, None, None)
    return funder, recipient


def _activity_period(activity: etree._Element) -> tuple[dt.date | None, dt.date | None]:
    """Start and end of an activity: actual dates, else planned ones (None when neither)."""
    dates = {d.get("type"): _date(d.get("iso-date")) for d in activity.iterfind("activity-date")}
    return dates.get("2") or dates.get("1"), dates.get("4") or dates.get("3")


def _planned_disbursement_lines(
    activity: etree._Element, default_currency: str | None, line: Callable[..., FeedLine]
) -> list[FeedLine]:
    """One planned line per planned disbursement, from and to the organisations it names."""
    lines = []
    for n, pd in enumerate(activity.iterfind("planned-disbursement")):
        period = _period(pd, f"planned-disbursement[{n + 1}]")
        value = _value(pd.find("value"), default_currency, f"planned-disbursement[{n + 1}]")
        lines.append(
            line(
                f"planned-disbursement/{period[0]}/{period[1]}/{n + 1}",
                value,
                period,
                "planned",
                _org(pd.find("provider-org")),
                _org(pd.find("receiver-org")),
            )
        )
    return lines


def _transaction_lines(
    txs: list[FeedTransaction],
    start: dt.date | None,
    end: dt.date | None,
    line: Callable[..., FeedLine],
) -> list[FeedLine]:
    """One line per transaction of the first type present: commitments, disbursements, incoming."""
    lines = []
    for kind, status in ((2, "committed"), (3, "disbursed"), (1, "disbursed")):
        chosen = [t for t in txs if t.transaction_type == kind]
        for t in chosen:
            period = (
                start or t.transaction_date,
                max(end or t.transaction_date, start or t.transaction_date),
            )
            lines.append(
                line(
                    f"transaction/{t.ref or t.position}",
                    _Value(t.amount, t.currency, t.value_date),
                    (min(period[0], t.transaction_date), period[1]),
                    status,
                    (t.provider_ref, t.provider_name, None),
                    (t.receiver_ref, t.receiver_name, None),
                )
            )
        if chosen:
            break
    return lines


def _attr(parent: etree._Element, child: str, name: str) -> str | None:
    """An attribute of a child element (None when either is missing)."""
    element = parent.find(child)
    return None if element is None else element.get(name)


def _status(status: str, activity_status: str | None) -> str:
    if activity_status == "5":
        return "cancelled"
    if activity_status in ("3", "4"):
        return "disbursed"
    return status


def _period(element: etree._Element, where: str) -> tuple[dt.date, dt.date]:
    start = _date(_attr(element, "period-start", "iso-date"))
    end = _date(_attr(element, "period-end", "iso-date"))
    if start is None or end is None:
        raise FeedError(f"{where}/period", "period-start and period-end need an iso-date")
    if end < start:
        raise FeedError(f"{where}/period-end", f"the period ends ({end}) before it starts")
    return start, end


def _budget_lines(
    activity: etree._Element, default_currency: str | None, line: Callable[..., FeedLine]
) -> list[FeedLine]:
    """One line per budget period; a revised budget (type 2) replaces the original (1)."""
    chosen: dict[tuple[dt.date, dt.date], tuple[int, etree._Element, int]] = {}
    for n, budget in enumerate(activity.iterfind("budget")):
        period = _period(budget, f"budget[{n + 1}]")
        kind = 2 if budget.get("type") == "2" else 1
        if period not in chosen or kind >= chosen[period][0]:
            chosen[period] = (kind, budget, n)
    lines = []
    for period, (_kind, budget, n) in sorted(chosen.items(), key=lambda kv: kv[0]):
        value = _value(budget.find("value"), default_currency, f"budget[{n + 1}]")
        status = "committed" if budget.get("status") == "2" else "planned"
        lines.append(line(f"budget/{period[0]}/{period[1]}", value, period, status))
    return lines


def _transactions(
    activity: etree._Element, ident: str, default_currency: str | None
) -> list[FeedTransaction]:
    found = []
    for n, tx in enumerate(activity.iterfind("transaction")):
        code = _attr(tx, "transaction-type", "code")
        if code is None or not code.isdigit() or int(code) not in _TRANSACTION_TYPES:
            continue
        where = f"transaction[{n + 1}]"
        tx_date = _date(_attr(tx, "transaction-date", "iso-date"))
        if tx_date is None:
            raise FeedError(f"{where}/transaction-date", "no iso-date")
        value = _value(tx.find("value"), default_currency, where)
        if not abs(value.amount) <= MAX_AMOUNT:
            raise FeedError(f"{where}/value", f"amount must be within {MAX_AMOUNT}")
        provider = _org(tx.find("provider-org"))
        receiver = _org(tx.find("receiver-org"))
        found.append(
            FeedTransaction(
                activity_ref=ident,
                position=n,
                ref=(tx.get("ref") or "").strip()[:200] or None,
                transaction_type=int(code),
                transaction_date=tx_date,
                amount=value.amount.quantize(Decimal("0.01")),
                currency=value.currency,
                value_date=value.value_date,
                provider_ref=_cut(provider[0], 200),
                provider_name=_cut(provider[1], 300),
                receiver_ref=_cut(receiver[0], 200),
                receiver_name=_cut(receiver[1], 300),
            )
        )
    return found


def _cut(text: str | None, length: int) -> str | None:
    return None if text is None else text[:length]


def _explicit_services(activity: etree._Element) -> tuple[tuple[str, ...], int | None, str | None]:
    """Service refs, funded units and unit named by csomatch conventions (docs/funding.md)."""
    refs: list[str] = []
    units: int | None = None
    unit: str | None = None
    for sector in activity.iterfind("sector"):
        uri = sector.get("vocabulary-uri") or ""
        if sector.get("vocabulary") in ("98", "99") and CSOMATCH_VOCABULARY in uri.lower():
            code = (sector.get("code") or "").strip()
            if code:
                refs.append(code)
    for other in activity.iterfind("other-identifier"):
        ref = (other.get("ref") or "").strip()
        if ref.lower().startswith(SERVICE_PREFIX):
            refs.append(ref[len(SERVICE_PREFIX) :])
        elif ref.lower().startswith(UNITS_PREFIX):
            count, _, named = ref[len(UNITS_PREFIX) :].partition(":")
            if not count.isdigit() or named not in CAPACITY_UNITS:
                raise FeedError(
                    "other-identifier", f"{ref!r}: write csomatch:units:COUNT:UNIT, e.g. :12:bed"
                )
            units, unit = int(count), named
    return tuple(dict.fromkeys(refs)), units, unit


def _recipient_country(activity: etree._Element) -> str | None:
    codes = {(c.get("code") or "").upper() for c in activity.iterfind("recipient-country")}
    return codes.pop() if len(codes) == 1 and next(iter(codes)) in PARTICIPANTS else None
