"""360Giving JSON: a package ``{"grants": [...]}`` or a list of grants.

Read per grant: id, title, amountAwarded, currency, awardDate, plannedDates (start, and end
or duration in months), recipientOrganization (id, name, charityNumber, companyNumber) and
fundingOrganization (id, name). A grant is awarded money: status ``committed``.
Classifications with vocabulary ``csomatch`` name services (taxonomy codes or service ids).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from csomatch.domain import decoding
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


def _text(grant: dict[str, Any], key: str) -> str:
    value = grant.get(key)
    return str(value).strip() if value is not None else ""


def _first(grant: dict[str, Any], key: str) -> dict[str, Any]:
    value = grant.get(key)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    if isinstance(value, dict):
        return value
    return {}


def _add_months(start: dt.date, months: int) -> dt.date:
    month = start.month - 1 + months
    year, month = start.year + month // 12, month % 12 + 1
    day = min(start.day, 28)
    return dt.date(year, month, day) - dt.timedelta(days=1)


def parse_360giving(data: bytes) -> Parsed:
    """Read 360Giving grants; refuse a file that is not JSON or holds no list of grants.

    A file that is not JSON raises MalformedInput (naming where), one that holds no list of
    grants InvalidInput.
    """
    document = decoding.decode(data)
    grants = document.get("grants") if isinstance(document, dict) else document
    if not isinstance(grants, list):
        raise InvalidInput(_("a 360Giving file holds a list of grants"), field="$.grants")
    lines: list[FeedLine] = []
    skips: list[Skip] = []
    for i, grant in enumerate(grants):
        where = f"grants[{i}]"
        if not isinstance(grant, dict):
            skips.append(Skip(where=where, reason="a grant is a JSON object"))
            continue
        try:
            lines.append(_grant(grant, where))
        except FeedError as exc:
            skips.append(Skip(where=f"{where} {_text(grant, 'id')}".strip(), field=exc.field,
                              reason=exc.reason))  # fmt: skip
    return Parsed(format="360giving", rows_read=len(grants), lines=lines, skips=skips)


def _grant(grant: dict[str, Any], where: str) -> FeedLine:
    grant_id = _text(grant, "id")
    if not grant_id:
        raise FeedError("id", "empty")
    if grant.get("amountAwarded") is None:
        raise FeedError("amountAwarded", "empty")
    amount = parse_amount(str(grant["amountAwarded"]), "amountAwarded")
    currency = parse_currency(_text(grant, "currency"), "currency")
    award = (
        parse_date(_text(grant, "awardDate"), "awardDate") if _text(grant, "awardDate") else None
    )
    planned = _first(grant, "plannedDates")
    if not planned.get("startDate"):
        raise FeedError(
            "plannedDates", "no plannedDates.startDate: the period the grant pays for is unknown"
        )
    start = parse_date(str(planned["startDate"]), "plannedDates.startDate")
    if planned.get("endDate"):
        end = parse_date(str(planned["endDate"]), "plannedDates.endDate")
    elif isinstance(planned.get("duration"), int | float) and 0 < planned["duration"] <= 1200:
        end = _add_months(start, int(planned["duration"]))
    else:
        raise FeedError("plannedDates", "no endDate and no duration (1 to 1200 months)")
    check_period(start, end, "plannedDates.endDate")
    recipient = _first(grant, "recipientOrganization")
    funder = _first(grant, "fundingOrganization")
    recipient_ref = next(
        (
            str(recipient[k]).strip()
            for k in ("id", "charityNumber", "companyNumber")
            if recipient.get(k)
        ),
        None,
    )
    if not recipient_ref and not recipient.get("name"):
        raise FeedError("recipientOrganization", "no id or name")
    if not funder.get("id") and not funder.get("name"):
        raise FeedError("fundingOrganization", "no id or name")
    services = tuple(
        str(c.get("code")).strip()
        for c in grant.get("classifications") or []
        if isinstance(c, dict)
        and str(c.get("vocabulary", "")).lower() == "csomatch"
        and c.get("code")
    )
    return FeedLine(
        where=f"{where} {grant_id}",
        external_id=grant_id,
        funder_ref=str(funder.get("id") or "").strip() or None,
        funder_name=str(funder.get("name") or "").strip() or None,
        recipient_ref=recipient_ref,
        recipient_name=str(recipient.get("name") or "").strip(),
        amount=amount,
        currency=currency,
        value_date=award,
        period_start=start,
        period_end=end,
        status="committed",
        service_refs=services,
        title=_text(grant, "title") or None,
        activity_ref=grant_id,
    )
