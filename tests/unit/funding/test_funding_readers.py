"""Feed readers without a database: CSV (with HXL), IATI 2.03 and 360Giving."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from tests.reference import IATI_EXAMPLE as EXAMPLE

from csomatch.errors import InvalidInput
from csomatch.funding import detect_format, parse
from csomatch.funding.csvfeed import field_of_hashtag, parse_csv
from csomatch.funding.giving360 import parse_360giving
from csomatch.funding.iati import parse_iati

HEADER = (
    "funder,recipient,registration number,service codes,amount,currency,start,end,status,"
    "funded units,unit,external id\n"
)


def test_csv_with_the_documented_header() -> None:
    data = HEADER + (
        "Marigold Foundation,Amber Heron Legal Aid Centre,AL-DEMO-96954632,LEGAL.AID;INFO.RIGHTS,"
        "12500.50,eur,2025-01-01,2025-12-31,committed,4,place,G-1\n"
    )
    parsed = parse_csv(data.encode())
    assert parsed.rows_read == 1
    assert not parsed.skips
    line = parsed.lines[0]
    assert line.funder_name == "Marigold Foundation"
    assert line.recipient_ref == "AL-DEMO-96954632"
    assert line.service_refs == ("LEGAL.AID", "INFO.RIGHTS")
    assert line.amount == Decimal("12500.50")
    assert line.currency == "EUR"
    assert (line.period_start, line.period_end) == (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert (line.funded_units, line.unit, line.external_id) == (4, "place", "G-1")


def test_csv_hxl_hashtags_as_the_header_row() -> None:
    data = (
        "#org+funder,#org+impl,#org+impl+code,#sector,#value+amount,#currency,#date+start,"
        "#date+end,#status,#activity+id\n"
        "Marigold Foundation,Amber Heron,AL-DEMO-96954632,LEGAL.AID,100,EUR,2025-01-01,"
        "2025-06-30,planned,H-1\n"
    )
    line = parse_csv(data.encode()).lines[0]
    assert (line.funder_name, line.recipient_name, line.recipient_ref) == (
        "Marigold Foundation",
        "Amber Heron",
        "AL-DEMO-96954632",
    )
    assert line.status == "planned"
    assert line.external_id == "H-1"


def test_csv_hxl_hashtags_as_a_second_row_decide_the_columns() -> None:
    data = (
        "Donor;Who gets it;Money;Cur;From;To\n"
        "#org +funder;#org +impl;#value +amount;#currency;#date +start;#date +end\n"
        "Marigold Foundation;Amber Heron;1 234,50;EUR;01.02.2025;31.12.2025\n"
    )
    parsed = parse_csv(data.encode())
    line = parsed.lines[0]
    assert line.amount == Decimal("1234.50")
    assert line.period_start == dt.date(2025, 2, 1)
    assert line.where == "row 3"


def test_hashtag_attributes_in_any_order() -> None:
    assert field_of_hashtag("#org+code+funder") == "funder_ref"
    assert field_of_hashtag("#ORG +IMPL") == "recipient"
    assert field_of_hashtag("#value") == "amount"
    assert field_of_hashtag("#affected") is None


def test_csv_errors_name_row_and_column() -> None:
    data = HEADER + (
        "F,R,,,abc,EUR,2025-01-01,2025-12-31,committed,,,A\n"
        "F,R,,,10,EURO,2025-01-01,2025-12-31,committed,,,B\n"
        "F,R,,,10,EUR,2025-01-01,2024-12-31,committed,,,C\n"
        "F,R,,,10,EUR,2025-01-01,2025-12-31,committed,two,,D\n"
        "F,R,,,10,EUR,2025-01-01,2025-12-31,committed,,,E\n"
    )
    parsed = parse_csv(data.encode())
    assert parsed.rows_read == 5
    assert len(parsed.lines) == 1
    found = [(s.where, s.field) for s in parsed.skips]
    assert found == [
        ("row 2", "amount"),
        ("row 3", "currency"),
        ("row 4", "end"),
        ("row 5", "funded units"),
    ]
    assert "'abc' is not an amount" in parsed.skips[0].reason


def test_csv_header_without_a_required_column_is_refused() -> None:
    with pytest.raises(InvalidInput, match="no amount column"):
        parse_csv(b"funder,recipient,currency,start,end\nF,R,EUR,2025-01-01,2025-02-01\n")


def test_csv_without_external_id_derives_a_stable_one() -> None:
    data = (
        "funder,recipient,amount,currency,start,end\nF,R,10,EUR,2025-01-01,2025-12-31\n"
        "F,R,20,EUR,2025-01-01,2025-12-31\n"
    )
    first, second = parse_csv(data.encode()).lines
    # The amount is not part of the derived id: a changed amount updates the same line.
    assert first.external_id == second.external_id
    assert first.external_id.startswith("row:")


def test_the_official_iati_example_is_valid_and_read() -> None:
    parsed = parse_iati(EXAMPLE.read_bytes())
    assert parsed.rows_read == 1
    assert not parsed.skips
    (line,) = parsed.lines
    assert line.funder_ref == "BB-BBB-123456789"  # participating-org role 1
    assert line.recipient_ref == "AA-AAA-123456789"  # the reporting org, no role 4 given
    assert line.amount == Decimal("3000.00")
    assert line.currency == "EUR"
    assert line.status == "planned"  # budget status 1: indicative
    assert (line.period_start, line.period_end) == (dt.date(2014, 1, 1), dt.date(2014, 12, 31))
    (tx,) = parsed.transactions
    assert (tx.transaction_type, tx.amount, tx.currency) == (1, Decimal("1000.00"), "EUR")


def iati_activity(
    ident: str,
    *,
    budgets: str = "",
    transactions: str = "",
    extra: str = "",
    sectors: str = "",
    currency: str = "EUR",
    funder: tuple[str, str] = ("XM-DAC-99-1", "Northwind Development Cooperation Agency"),
    recipient: tuple[str, str] = ("RS-DEMO-78985660", "Amber Heron Rights Advocacy Group"),
) -> str:
    """One synthetic IATI 2.03 activity (a donor funds a CSO)."""
    return f"""
 <iati-activity default-currency="{currency}" last-updated-datetime="2025-01-01T00:00:00Z">
  <iati-identifier>{ident}</iati-identifier>
  <reporting-org ref="{funder[0]}" type="10">
   <narrative>{funder[1]}</narrative></reporting-org>
  <title><narrative>Shelter support {ident}</narrative></title>
  <description><narrative>Synthetic test activity</narrative></description>
  <participating-org ref="{funder[0]}" role="1" type="10">
   <narrative>{funder[1]}</narrative></participating-org>
  <participating-org ref="{recipient[0]}" role="4" type="22">
   <narrative>{recipient[1]}</narrative></participating-org>
  {extra}
  <activity-status code="2"/>
  <activity-date iso-date="2025-01-01" type="1"/>
  <activity-date iso-date="2026-12-31" type="3"/>
  {sectors}
  {budgets}
  {transactions}
 </iati-activity>"""


def iati_file(*activities: str) -> bytes:
    """A synthetic IATI 2.03 activities file."""
    body = "".join(activities)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03" '
        f'generated-datetime="2025-01-01T00:00:00Z">{body}\n</iati-activities>\n'
    ).encode()


def budget(start: str, end: str, amount: str, *, kind: str = "1", status: str = "1") -> str:
    """A budget element."""
    return (
        f'<budget type="{kind}" status="{status}"><period-start iso-date="{start}"/>'
        f'<period-end iso-date="{end}"/><value value-date="{start}">{amount}</value></budget>'
    )


def test_revised_budget_replaces_the_original_of_the_same_period() -> None:
    data = iati_file(
        iati_activity(
            "XM-DAC-99-1-A1",
            budgets=budget("2025-01-01", "2025-12-31", "100000")
            + budget("2025-01-01", "2025-12-31", "80000", kind="2", status="2")
            + budget("2026-01-01", "2026-12-31", "90000"),
        )
    )
    parsed = parse_iati(data)
    amounts = [(str(line.period_start), line.amount, line.status) for line in parsed.lines]
    assert amounts == [
        ("2025-01-01", Decimal("80000.00"), "committed"),
        ("2026-01-01", Decimal("90000.00"), "planned"),
    ]


def test_activity_without_budgets_uses_commitments_and_keeps_all_transactions() -> None:
    txs = "".join(
        f'<transaction ref="T{n}"><transaction-type code="{code}"/>'
        f'<transaction-date iso-date="2025-0{n}-01"/>'
        f'<value currency="USD" value-date="2025-0{n}-01">{amount}</value></transaction>'
        for n, (code, amount) in enumerate([(2, "50000"), (3, "20000"), (4, "5000")], 1)
    )
    parsed = parse_iati(iati_file(iati_activity("XM-DAC-99-1-A2", transactions=txs)))
    (line,) = parsed.lines
    assert (line.status, line.amount, line.currency) == ("committed", Decimal("50000.00"), "USD")
    assert [t.transaction_type for t in parsed.transactions] == [2, 3, 4]


def test_csomatch_conventions_name_services_and_units() -> None:
    extra = (
        '<other-identifier ref="csomatch:service:0817d313-cb4a-522f-9e0c-f8a523b524c2" type="A1"/>'
        '<other-identifier ref="csomatch:units:12:bed" type="A1"/>'
    )
    sectors = (
        '<sector vocabulary="99" vocabulary-uri="urn:csomatch:taxonomy" code="ACC.EMERG"/>'
        '<sector vocabulary="1" code="15180"/>'
    )
    data = iati_file(
        iati_activity(
            "XM-DAC-99-1-A3",
            extra=extra,
            sectors=sectors,
            budgets=budget("2025-01-01", "2025-12-31", "1"),
        )
    )
    (line,) = parse_iati(data).lines
    assert line.service_refs == ("ACC.EMERG", "0817d313-cb4a-522f-9e0c-f8a523b524c2")
    assert (line.funded_units, line.unit) == (12, "bed")


def test_an_invalid_activity_is_skipped_with_the_schema_error() -> None:
    good = iati_activity("XM-DAC-99-1-OK", budgets=budget("2025-01-01", "2025-12-31", "10"))
    bad = good.replace("XM-DAC-99-1-OK", "XM-DAC-99-1-BAD").replace(
        '<activity-status code="2"/>', '<activity-status code="2"/><not-iati/>'
    )
    parsed = parse_iati(iati_file(good, bad))
    assert [line.activity_ref for line in parsed.lines] == ["XM-DAC-99-1-OK"]
    (skip,) = parsed.skips
    assert skip.field == "schema"
    assert "not-iati" in skip.reason


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<iati-activities version="2.03"><iati-activity><iati-identifier>&lol9;</iati-identifier>
</iati-activity></iati-activities>"""


def test_entity_expansion_is_refused() -> None:
    # libxml2 stops the amplification itself; a DTD that slips under its limit is refused
    # by csomatch (next test): either way the file is rejected, never expanded.
    with pytest.raises(InvalidInput):
        parse_iati(BILLION_LAUGHS)


def test_a_small_internal_dtd_is_refused() -> None:
    small = (
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa">]>\n'
        b'<iati-activities version="2.03"><iati-activity><iati-identifier>&a;'
        b"</iati-identifier></iati-activity></iati-activities>"
    )
    with pytest.raises(InvalidInput, match="document type"):
        parse_iati(small)


def test_external_entities_are_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = (
        f'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<iati-activities version="2.03"><iati-activity><iati-identifier>&xxe;'
        "</iati-identifier></iati-activity></iati-activities>"
    ).encode()
    with pytest.raises(InvalidInput) as caught:
        parse_iati(xxe)
    assert "TOP-SECRET-VALUE" not in caught.value.detail


def test_the_safe_parser_leaves_entities_unexpanded() -> None:
    from lxml import etree

    from csomatch.funding.iati import safe_parser

    mild = BILLION_LAUGHS.replace(b"&lol9;", b"&lol3;")
    root = etree.fromstring(mild, safe_parser())
    assert b"lollol" not in etree.tostring(root)


def test_malformed_xml_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not well formed"):
        parse_iati(b"<iati-activities><oops></iati-activities>")


def test_360giving_grants() -> None:
    package = {
        "grants": [
            {
                "id": "360G-MARIGOLD-0001",
                "title": "Safe accommodation, Tirana",
                "amountAwarded": 45000,
                "currency": "GBP",
                "awardDate": "2025-02-01",
                "plannedDates": [{"startDate": "2025-03-01", "duration": 12}],
                "recipientOrganization": [
                    {"id": "AL-DEMO-96954632", "name": "Amber Heron Legal Aid Centre"}
                ],
                "fundingOrganization": [{"id": "GB-CHC-0000000", "name": "Marigold Foundation"}],
                "classifications": [{"vocabulary": "csomatch", "code": "LEGAL.AID"}],
            },
            {"id": "360G-MARIGOLD-0002", "amountAwarded": 1, "currency": "GBP"},
        ]
    }
    parsed = parse_360giving(msgspec.json.encode(package))
    (line,) = parsed.lines
    assert (line.period_start, line.period_end) == (dt.date(2025, 3, 1), dt.date(2026, 2, 28))
    assert (line.funder_ref, line.recipient_ref) == ("GB-CHC-0000000", "AL-DEMO-96954632")
    assert line.service_refs == ("LEGAL.AID",)
    (skip,) = parsed.skips
    assert skip.field == "plannedDates"


def test_format_detection() -> None:
    assert detect_format(b"\xef\xbb\xbf <iati-activities/>") == "iati"
    assert detect_format(b'{"grants": []}') == "360giving"
    assert detect_format(b"funder,amount") == "csv"
    assert detect_format(b"<x/>", "grants.csv") == "csv"
    with pytest.raises(InvalidInput):
        parse(b"x", "pdf")


def test_hostile_inputs_are_refused_or_skipped_never_crash() -> None:
    with pytest.raises(InvalidInput):
        parse_csv(b"funder,amount\x00\n")
    with pytest.raises(InvalidInput):
        parse_csv(b"\xff\xfe not utf-8")
    grants = [
        {
            "id": "G",
            "amountAwarded": 1,
            "currency": "EUR",
            "plannedDates": [{"startDate": "2025-01-01", "duration": 10**12}],
            "recipientOrganization": [{"name": "R"}],
            "fundingOrganization": [{"name": "F"}],
        },
        {"id": "H", "amountAwarded": {"x": 1}, "currency": "EUR"},
        "not a grant",
    ]
    parsed = parse_360giving(msgspec.json.encode(grants))
    assert parsed.lines == []
    assert [s.field for s in parsed.skips] == ["plannedDates", "amountAwarded", None]
    tx = (
        '<transaction><transaction-type code="3"/><transaction-date iso-date="2025-01-01"/>'
        '<value currency="EURO" value-date="2025-01-01">10</value></transaction>'
    )
    parsed = parse_iati(iati_file(iati_activity("XM-DAC-99-1-T", transactions=tx)))
    (skip,) = parsed.skips
    assert "currency" in (skip.field or "")
