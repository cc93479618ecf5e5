"""Gap cells as CSV with HXL hashtags, and as an aligned text table for the terminal."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from typing import Final

from csomatch.gaps.cells import GapCell

Column = tuple[str, str, Callable[[GapCell], object]]


def _top(cell: GapCell) -> str:
    return cell.funders[0].name if cell.funders else ""


#: (header, HXL hashtag, value) of each CSV column, in order.
CSV_COLUMNS: Final[tuple[Column, ...]] = (
    ("cell", "#meta+id", lambda c: c.key),
    ("participant", "#country+code", lambda c: c.participant_code),
    ("area", "#adm2+code", lambda c: c.area_code),
    ("service_code", "#sector+code", lambda c: c.taxonomy_code),
    ("period", "#date+period", lambda c: c.period),
    ("needs", "#affected+need+num", lambda c: c.needs),
    ("unmet", "#affected+unmet+num", lambda c: c.unmet),
    ("unmet_no_capacity", "#affected+unmet+capacity+num", lambda c: c.unmet_capacity),
    ("declines_no_capacity", "#affected+declined+num", lambda c: c.declines),
    ("searches_empty", "#affected+search+empty+num", lambda c: c.searches),
    ("unmet_share", "#affected+unmet+pct", lambda c: c.unmet_share),
    ("services", "#service+num", lambda c: c.services),
    ("stale_services", "#service+stale+num", lambda c: c.stale_services),
    ("capacity", "#capacity+num", lambda c: c.capacity),
    ("free", "#capacity+free+num", lambda c: c.free),
    ("utilisation", "#capacity+used+pct", lambda c: c.utilisation),
    ("funded_units", "#capacity+funded+num", lambda c: c.funded_units),
    ("estimated_units", "#capacity+funded+estimated+num", lambda c: c.estimated_units),
    ("funding_coverage", "#capacity+funded+pct", lambda c: c.funding_coverage),
    ("funded_through", "#date+funded_through", lambda c: c.funded_through),
    ("runway_days", "#indicator+runway+days", lambda c: c.runway_days),
    ("top_funder", "#org+funder+top+name", _top),
    (
        "top_funder_share",
        "#indicator+donor+top+pct",
        lambda c: c.funders[0].share if c.funders else None,
    ),
    ("hhi", "#indicator+donor+hhi", lambda c: c.hhi),
    (
        "survivor_led_capacity_share",
        "#capacity+survivor_led+pct",
        lambda c: c.survivor_led_capacity_share,
    ),
    (
        "survivor_led_funding_share",
        "#value+funding+survivor_led+pct",
        lambda c: c.survivor_led_funding_share,
    ),
    ("public_share", "#value+funding+public+pct", lambda c: c.public_share),
    ("severity", "#severity+num", lambda c: c.severity),
    ("flags", "#status+flags", lambda c: " ".join(f.code for f in c.flags)),
    ("suppressed", "#meta+suppressed", lambda c: " ".join(c.suppressed)),
    ("sentence", "#description+severity", lambda c: c.sentence),
)


def to_csv(cells: Sequence[GapCell]) -> str:
    """CSV text: a header row, the HXL hashtag row, one row per cell; suppressed counts empty."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([name for name, _, _ in CSV_COLUMNS])
    writer.writerow([tag for _, tag, _ in CSV_COLUMNS])
    for cell in cells:
        writer.writerow(["" if (v := get(cell)) is None else v for _, _, get in CSV_COLUMNS])
    return out.getvalue()


def _count(value: int | None) -> str:
    return "<5*" if value is None else str(value)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.0%}"


#: (header, value, right-aligned) of each text-table column.
_TEXT_COLUMNS: Final[tuple[tuple[str, Callable[[GapCell], str], bool], ...]] = (
    ("SEV", lambda c: str(c.severity), True),
    ("PERIOD", lambda c: c.period, False),
    ("AREA", lambda c: c.area_code, False),
    ("SERVICE", lambda c: c.taxonomy_code, False),
    ("NEEDS", lambda c: _count(c.needs), True),
    ("UNMET", lambda c: _count(c.unmet), True),
    ("PLACES", lambda c: str(c.capacity), True),
    ("FREE", lambda c: "" if c.free is None else str(c.free), True),
    ("FUNDED", lambda c: _pct(c.funding_coverage), True),
    (
        "FUNDED TO",
        lambda c: "" if c.funded_through is None else c.funded_through.isoformat(),
        False,
    ),
    ("HHI", lambda c: "" if c.hhi is None else f"{c.hhi:.2f}", True),
    ("PUBLIC", lambda c: _pct(c.public_share), True),
    ("FLAGS", lambda c: ",".join(f.code for f in c.flags), False),
)


def to_text(cells: Sequence[GapCell], *, reasons: bool = False) -> str:
    """An aligned table, one cell a line; with ``reasons`` why, in sentences, under each."""
    rows = [[get(cell) for _, get, _ in _TEXT_COLUMNS] for cell in cells]
    widths = [
        max([len(name), *(len(row[i]) for row in rows)])
        for i, (name, _, _) in enumerate(_TEXT_COLUMNS)
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, (_, _, right) in zip(values, widths, _TEXT_COLUMNS, strict=True)
        ).rstrip()

    out = [line([name for name, _, _ in _TEXT_COLUMNS])]
    for cell, row in zip(cells, rows, strict=True):
        out.append(line(row))
        if reasons:
            if cell.sentence:
                out.append(f"      severity {cell.severity}: {cell.sentence}")
            out.extend(f"      {f.code}: {f.why}" for f in cell.flags)
    out.append(f"{len(cells)} cells; <5* = suppressed (fewer than 5, or hidden to protect one)")
    return "\n".join(out) + "\n"
