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
import functools
import string
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec

from csomatch.gaps.catchments import DEFAULT_CATCHMENTS, Catchment, Position, catchment_of
from csomatch.gaps.severity import Driver, Inputs

if TYPE_CHECKING:
    from csomatch.gaps.cells import GapCell

#: The sentence templates, by id. Placeholders: service, town, period, needs, unmet, share,
#: places, free, in_use, at_risk, date, reach, funded, funder, funder_share, stale, services.
TEMPLATES: Final[Mapping[str, str]] = {
    "unmet": "{service} in {town}: {unmet} of {needs} needs could not be placed in {period} "
    "({share}).",
    "unmet_hidden": "{service} in {town}: {unmet} people could not be placed in {period}.",
    "unmet_cliff": "{service} in {town}: {unmet} people could not be placed in {period}; "
    "{at_risk} of {places} places lose their funding by {date}.",
    "uncovered": "{service} in {town}: {needs} needs in {period} and no eligible provider {reach}.",
    "cliff": "{service} in {town}: {at_risk} of {places} places lose their funding by {date}; "
    "{in_use} of the {places} were in use in {period}.",
    "cliff_unknown_use": "{service} in {town}: {at_risk} of {places} places lose their "
    "funding by {date}; {needs} needs were recorded in {period} and how many places are in "
    "use is not known.",
    "full": "{service} in {town}: {in_use} of {places} places were in use in {period} while "
    "people still asked for it.",
    "under_capacity": "{service} in {town}: needs in {period} found no free place or were "
    "declined for lack of places ({needs} needs, {places} places).",
    "underfunded": "{service} in {town}: funding pays for {funded} of {places} places while "
    "there were {needs} needs in {period}.",
    "quiet": "{service} in {town}: {at_risk} of {places} places lose their funding by {date}, "
    "but no need was recorded in {period} and {free} places are free.",
    "stale": "{service} in {town}: no unmet need in {period}, but {stale} of {services} "
    "services have not reported their places lately.",
    "donor": "{service} in {town}: no unmet need in {period}; {funder} pays for "
    "{funder_share} of the funded places.",
    "thin_funding": "{service} in {town}: no unmet need in {period}; funding pays for "
    "{funded} of {places} places.",
    "none": "{service} in {town}: no gap in {period} ({needs} needs, none unmet).",
    "reached": "{service} in {town}: {needs} needs in {period}, none unmet; no provider in "
    "the town, but one {reach}.",
}
#: The placeholders of each template, in order.
FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    tid: tuple(name for _, name, _, _ in string.Formatter().parse(text) if name)
    for tid, text in TEMPLATES.items()
}
#: A count in a sentence that suppression hides.
HIDDEN: Final = "an undisclosed number of"
#: ``reach`` of a national catchment, and of a regional or local one.
REACH_NATIONAL: Final = "anywhere in {participant}"
REACH_KM: Final = "within {km:g} km"
#: ``town`` of a participant-wide cell and of demand recorded without an area.
TOWN_ALL: Final = "all of {participant}"
TOWN_UNKNOWN: Final = "an unrecorded town of {participant}"

# A number is `float` only (an int is one too): `int | float` made the OpenAPI document's
# oneOf match a whole number twice, which a client's validator refuses.
Value = str | float | None


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


#: What a cell's sentence is made of: the driver, the inputs, places in use, funded places,
#: funded through, the top funder (``ref``, ``name``, ``share``), services and the period.
Pending = tuple[Driver, Inputs, "int | None", float, "dt.date | None", Any, int, str]


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
    #: What each cell's sentence is made of, by cell key: filled as the cells are built, read
    #: by ``explain_cells`` for the cells a query returns (writing every sentence of every
    #: cell took a third of the time of building them).
    pending: dict[str, Pending] = dataclasses.field(default_factory=dict)


class Where(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The cell a sentence is about: participant, area (code), service code and period."""

    participant: str
    area: str
    code: str
    period: str
    catchments: Mapping[str, Catchment]


class Figures(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The published figures a sentence may quote, beside those of ``Inputs``."""

    in_use: int | None
    funded: float
    through: dt.date | None
    top_funder: str | None
    top_share: float | None
    services: int


@functools.lru_cache(maxsize=256)
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
    km = catchment_of(where.code, where.catchments).km
    if km is None or where.area == "ALL":
        participant = names.participants.get(where.participant, where.participant)
        return REACH_NATIONAL.format(participant=participant)
    return REACH_KM.format(km=km)


def _template(driver: Driver, x: Inputs, f: Figures) -> str:
    """The template that explains a cell whose severity ``driver`` set."""
    if driver == "unmet":
        if x.cliff_months is not None and x.units_ending > 0:
            return "unmet_cliff"
        return "unmet" if x.unmet_share is not None else "unmet_hidden"
    if driver == "cliff" and f.in_use is None:
        return "cliff_unknown_use"
    if driver == "none" and f.services == 0:
        return "reached"
    if driver == "minor":
        if x.stale_services:
            return "stale"
        return "donor" if x.single_donor else "thin_funding"
    return driver


def _share(share: float | None) -> Value:
    return None if share is None else f"{share:.0%}"


#: How each placeholder's value is read: a name, a count (None: hidden), a date or a share.
_VALUES: Final[Mapping[str, Callable[[Inputs, Figures, Where, Names], Value]]] = {
    "service": lambda x, f, w, n: service_name(w, n),
    "town": lambda x, f, w, n: town_name(w, n),
    "period": lambda x, f, w, n: period_words(w.period),
    "share": lambda x, f, w, n: _share(x.unmet_share),
    "date": lambda x, f, w, n: None if f.through is None else f.through.isoformat(),
    "reach": lambda x, f, w, n: reach_words(w, n),
    "funder": lambda x, f, w, n: f.top_funder or "no funder",
    "funder_share": lambda x, f, w, n: _share(f.top_share),
    "needs": lambda x, f, w, n: x.needs,
    "unmet": lambda x, f, w, n: x.unmet,
    "places": lambda x, f, w, n: x.capacity,
    "free": lambda x, f, w, n: x.free,
    "in_use": lambda x, f, w, n: f.in_use,
    "at_risk": lambda x, f, w, n: x.units_ending,
    "funded": lambda x, f, w, n: f.funded,
    "stale": lambda x, f, w, n: x.stale_services,
    "services": lambda x, f, w, n: f.services,
}


def explain(driver: Driver, x: Inputs, f: Figures, where: Where, names: Names) -> Sentence:
    """The sentence of a cell whose severity ``driver`` set: only its template's values."""
    template = _template(driver, x, f)
    values = {name: _VALUES[name](x, f, where, names) for name in FIELDS[template]}
    # Counts in words: a hidden one (None) as HIDDEN, a float without trailing zeros.
    text = TEMPLATES[template].format_map(
        {
            k: v
            if type(v) is str
            else HIDDEN
            if v is None
            else f"{v:g}"
            if type(v) is float
            else str(v)
            for k, v in values.items()
        }
    )
    return Sentence(template=template, values=values, text=text)


def explain_cells(cells: Sequence[GapCell], context: Context) -> list[GapCell]:
    """``cells`` with their sentences (built with ``context``; a cell it did not build: as is)."""
    out = []
    for cell in cells:
        parts = context.pending.get(cell.key)
        if parts is None:
            out.append(cell)
            continue
        driver, inputs, in_use, funded, through, top, services, period = parts
        figures = Figures(
            in_use=in_use,
            funded=funded,
            through=through,
            top_funder=None if top is None else top.name,
            top_share=None if top is None else top.share,
            services=services,
        )
        where = Where(
            participant=cell.participant_code,
            area=cell.area_code,
            code=cell.taxonomy_code,
            period=period,
            catchments=context.catchments,
        )
        said = explain(driver, inputs, figures, where, context.names)
        out.append(
            msgspec.structs.replace(
                cell,
                sentence=said.text,
                sentence_template=said.template,
                sentence_values=said.values,
            )
        )
    return out
