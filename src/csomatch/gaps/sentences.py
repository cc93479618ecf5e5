"""One sentence per cell that says, in words, why it has its severity.

Every sentence is a template of ``TEMPLATES`` (id -> text with named placeholders) filled
with its values, so that a later translation replaces the templates and nothing else. The
values are names (a town, a service, a participant), numbers and dates, never codes: a
service's taxonomy name, the gazetteer's town name. A hidden count is ``None`` in the values
and ``HIDDEN`` in the text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Final

import msgspec

from csomatch.gaps.catchments import DEFAULT_CATCHMENTS, Catchment, Position
from csomatch.gaps.severity import Driver, Inputs

#: The sentence templates, by id. Placeholders: service, town, period, needs, unmet, share,
#: places, free, in_use, at_risk, date, reach, funded, funder, funder_share, stale, services.
TEMPLATES: Final[Mapping[str, str]] = {
    "unmet": "{service} in {town}: {unmet} of {needs} needs could not be placed in {period} "
    "({share}).",
    "unmet_cliff": "{service} in {town}: {unmet} people could not be placed in {period}; "
    "{at_risk} of {places} places lose their funding by {date}.",
    "uncovered": "{service} in {town}: {needs} needs in {period} and no eligible provider {reach}.",
    "cliff": "{service} in {town}: {at_risk} of {places} places lose their funding by {date}, "
    "while {in_use} are in use and {unmet} people could not be placed in {period}.",
    "full": "{service} in {town}: {in_use} of {places} places were in use in {period} while "
    "people still asked for it.",
    "under_capacity": "{service} in {town}: needs in {period} found no free place or were "
    "declined for lack of places ({needs} needs, {places} places).",
    "underfunded": "{service} in {town}: funding pays for {funded} of {places} places while "
    "there were {needs} needs in {period}.",
    "quiet": "{service} in {town}: {at_risk} of {places} places lose their funding by {date}, "
    "but no need was recorded in {period} and {free} places are free.",
    "minor": "{service} in {town}: no unmet need in {period}; funding pays for {funded} of "
    "{places} places, {funder_share} of it from {funder}, and {stale} of {services} "
    "services have not reported their places lately.",
    "none": "{service} in {town}: no gap in {period} ({needs} needs, {free} of {places} "
    "places free).",
}
#: A count in a sentence that suppression hides.
HIDDEN: Final = "an undisclosed number of"
#: ``reach`` of a national catchment, and of a regional or local one.
REACH_NATIONAL: Final = "anywhere in {participant}"
REACH_KM: Final = "within {km:g} km"
#: ``town`` of a participant-wide cell and of demand recorded without an area.
TOWN_ALL: Final = "all of {participant}"
TOWN_UNKNOWN: Final = "an unrecorded town of {participant}"

Value = str | int | float | None


class Sentence(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A cell's explanation: its template id, the values and the text they make."""

    template: str
    values: dict[str, Value]
    text: str


class Names(msgspec.Struct, frozen=True, kw_only=True):
    """Names to use in place of codes: towns, service codes and participants."""

    areas: Mapping[str, str] = {}
    codes: Mapping[str, str] = {}
    participants: Mapping[str, str] = {}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Context:
    """What the cells need beyond demand and supply: catchments, coverage and names."""

    #: Positions that an eligible service reaches within the code's catchment; None: a
    #: position is covered when it has a service of its own (the pure tests).
    covered: frozenset[Position] | None = None
    catchments: Mapping[str, Catchment] = dataclasses.field(
        default_factory=lambda: DEFAULT_CATCHMENTS
    )
    names: Names = dataclasses.field(default_factory=Names)


class Where(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The cell a sentence is about: participant, area (code), service code and period."""

    participant: str
    area: str
    code: str
    period: str
    catchment: Catchment


class Figures(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The published figures a sentence may quote, beside those of ``Inputs``."""

    in_use: int | None
    funded: float
    through: dt.date | None
    top_funder: str | None
    top_share: float | None
    services: int


def period_words(label: str) -> str:
    """``2026-11`` as ``November 2026``; ``2026-Q4`` as ``the fourth quarter of 2026``."""
    year, _, part = label.partition("-")
    if part.startswith("Q"):
        nth = {"1": "first", "2": "second", "3": "third", "4": "fourth"}.get(part[1:], part)
        return f"the {nth} quarter of {year}"
    try:
        return dt.date(int(year), int(part), 1).strftime("%B %Y")
    except ValueError:
        return label


def _count(value: int | float | None) -> str:
    if value is None:
        return HIDDEN
    return f"{value:g}" if isinstance(value, float) else str(value)


def service_name(where: Where, names: Names) -> str:
    """The taxonomy's name of the cell's service code."""
    return names.codes.get(where.code, "a service without a name in the taxonomy")


def town_name(where: Where, names: Names) -> str:
    """The town of the cell, in words (all of a participant; an unrecorded town of it)."""
    participant = names.participants.get(where.participant, where.participant)
    if where.area == "ALL":
        return TOWN_ALL.format(participant=participant)
    if where.area == "UNKNOWN":
        return TOWN_UNKNOWN.format(participant=participant)
    return names.areas.get(where.area, "a town whose name is not in the gazetteer")


def reach_words(where: Where, names: Names) -> str:
    """How far the cell's catchment reaches, in words."""
    if where.catchment.km is None or where.area == "ALL":
        participant = names.participants.get(where.participant, where.participant)
        return REACH_NATIONAL.format(participant=participant)
    return REACH_KM.format(km=where.catchment.km)


def _template(driver: Driver, x: Inputs) -> str:
    if driver == "unmet" and x.cliff_months is not None and x.units_ending > 0:
        return "unmet_cliff"
    if driver == "unmet" and x.unmet_share is None:
        return "unmet_cliff" if x.cliff_months is not None else "unmet"
    return driver


def explain(driver: Driver, x: Inputs, f: Figures, where: Where, names: Names) -> Sentence:
    """The sentence of a cell whose severity ``driver`` set."""
    template = _template(driver, x)
    values: dict[str, Value] = {
        "service": service_name(where, names),
        "town": town_name(where, names),
        "period": period_words(where.period),
        "needs": x.needs,
        "unmet": x.unmet,
        "share": None if x.unmet_share is None else f"{x.unmet_share:.0%}",
        "places": x.capacity,
        "free": x.free,
        "in_use": f.in_use,
        "at_risk": round(x.units_ending, 1),
        "date": None if f.through is None else f.through.isoformat(),
        "reach": reach_words(where, names),
        "funded": round(f.funded, 1),
        "funder": f.top_funder or "no funder",
        "funder_share": "none" if f.top_share is None else f"{f.top_share:.0%}",
        "stale": x.stale_services,
        "services": f.services,
    }
    text = TEMPLATES[template].format_map(
        {k: v if isinstance(v, str) else _count(v) for k, v in values.items()}
    )
    return Sentence(template=template, values=values, text=text)
