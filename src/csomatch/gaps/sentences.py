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
from babel.dates import format_date, format_skeleton

from csomatch.gaps.catchments import DEFAULT_CATCHMENTS, Catchment, Position, catchment_of
from csomatch.gaps.severity import Driver, Inputs
from csomatch.i18n import (
    DEFAULT_LOCALE,
    N_,
    _,
    babel_locale,
    current_locale,
    format_value,
    percent,
)

if TYPE_CHECKING:
    from csomatch.gaps.cells import GapCell

#: The sentence templates, by id. Placeholders: service, town, period, needs, unmet, share,
#: places, free, in_use, at_risk, date, reach, funded, funder, funder_share, stale, services.
TEMPLATES: Final[Mapping[str, str]] = {
    "unmet": N_(
        "{service} in {town}: {unmet} of {needs} needs could not be placed in {period} ({share})."
    ),
    "unmet_hidden": N_("{service} in {town}: {unmet} people could not be placed in {period}."),
    "unmet_cliff": N_(
        "{service} in {town}: {unmet} people could not be placed in {period}; "
        "{at_risk} of {places} places lose their funding by {date}."
    ),
    "uncovered": N_(
        "{service} in {town}: {needs} needs in {period} and no eligible provider {reach}."
    ),
    "cliff": N_(
        "{service} in {town}: {at_risk} of {places} places lose their funding by {date}; "
        "{in_use} of the {places} were in use in {period}."
    ),
    "cliff_unknown_use": N_(
        "{service} in {town}: {at_risk} of {places} places lose their "
        "funding by {date}; {needs} needs were recorded in {period} and how many places are in "
        "use is not known."
    ),
    "full": N_(
        "{service} in {town}: {in_use} of {places} places were in use in {period} while "
        "people still asked for it."
    ),
    "under_capacity": N_(
        "{service} in {town}: needs in {period} found no free place or were "
        "declined for lack of places ({needs} needs, {places} places)."
    ),
    "underfunded": N_(
        "{service} in {town}: funding pays for {funded} of {places} places while "
        "there were {needs} needs in {period}."
    ),
    "quiet": N_(
        "{service} in {town}: {at_risk} of {places} places lose their funding by {date}, "
        "but no need was recorded in {period} and {free} places are free."
    ),
    "stale": N_(
        "{service} in {town}: no unmet need in {period}, but {stale} of {services} "
        "services have not reported their places lately."
    ),
    "donor": N_(
        "{service} in {town}: no unmet need in {period}; {funder} pays for "
        "{funder_share} of the funded places."
    ),
    "thin_funding": N_(
        "{service} in {town}: no unmet need in {period}; funding pays for "
        "{funded} of {places} places."
    ),
    "none": N_("{service} in {town}: no gap in {period} ({needs} needs, none unmet)."),
    "reached": N_(
        "{service} in {town}: {needs} needs in {period}, none unmet; no provider in "
        "the town, but one {reach}."
    ),
}
#: The placeholders of each template, in order.
FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    tid: tuple(name for _, name, _, _ in string.Formatter().parse(text) if name)
    for tid, text in TEMPLATES.items()
}
#: A count in a sentence that suppression hides.
HIDDEN: Final = N_("an undisclosed number of")
#: ``reach`` of a national catchment, and of a regional or local one.
REACH_NATIONAL: Final = N_("anywhere in {participant}")
REACH_KM: Final = N_("within {km} km")
#: ``town`` of a participant-wide cell and of demand recorded without an area.
TOWN_ALL: Final = N_("all of {participant}")
TOWN_UNKNOWN: Final = N_("an unrecorded town of {participant}")

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


def period_words(label: str) -> str:
    """``2026-11`` as ``November 2026``; ``2026-Q4`` as ``the fourth quarter of 2026``.

    In the current locale (Babel's month and quarter names) when it is not English.
    """
    return _period_words(label, current_locale())


@functools.lru_cache(maxsize=256)
def _period_words(label: str, locale: str) -> str:
    year, _sep, part = label.partition("-")
    if part.startswith("Q"):
        if locale != DEFAULT_LOCALE and part[1:] in ("1", "2", "3", "4"):
            first = dt.date(int(year), 3 * int(part[1:]) - 2, 1)
            return format_date(first, "QQQQ y", locale=babel_locale(locale))
        nth = {"1": "first", "2": "second", "3": "third", "4": "fourth"}.get(part[1:], part)
        return f"the {nth} quarter of {year}"
    try:
        month = dt.date(int(year), int(part), 1)
    except ValueError:
        return label
    if locale != DEFAULT_LOCALE:
        return format_skeleton("yMMMM", month, locale=babel_locale(locale))
    return month.strftime("%B %Y")


def service_name(where: Where, names: Names) -> str:
    """The taxonomy's name of the cell's service code, in the current locale."""
    name = names.codes.get(where.code)
    return _(name) if name else _("a service without a name in the taxonomy")


def town_name(where: Where, names: Names) -> str:
    """The town of the cell, in words (all of a participant; an unrecorded town of it)."""
    participant = participant_name(where.participant, names)
    if where.area == "ALL":
        return _(TOWN_ALL, participant=participant)
    if where.area == "UNKNOWN":
        return _(TOWN_UNKNOWN, participant=participant)
    return names.areas.get(where.area) or _("a town whose name is not in the gazetteer")


def participant_name(code: str, names: Names) -> str:
    """A participant's name: the registry's in English, Babel's territory name otherwise."""
    locale = current_locale()
    if locale != DEFAULT_LOCALE:
        territory = babel_locale(locale).territories.get(code)
        if territory:
            return str(territory)
    return names.participants.get(code, code)


def reach_words(where: Where, names: Names) -> str:
    """How far the cell's catchment reaches, in words."""
    km = catchment_of(where.code, where.catchments).km
    if km is None or where.area == "ALL":
        return _(REACH_NATIONAL, participant=participant_name(where.participant, names))
    return _(REACH_KM, km=float(km))


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
    return None if share is None else percent(share)


#: How each placeholder's value is read: a name, a count (None: hidden), a date or a share.
_VALUES: Final[Mapping[str, Callable[[Inputs, Figures, Where, Names], Value]]] = {
    "service": lambda x, f, w, n: service_name(w, n),
    "town": lambda x, f, w, n: town_name(w, n),
    "period": lambda x, f, w, n: period_words(w.period),
    "share": lambda x, f, w, n: _share(x.unmet_share),
    "date": lambda x, f, w, n: None if f.through is None else f.through.isoformat(),
    "reach": lambda x, f, w, n: reach_words(w, n),
    "funder": lambda x, f, w, n: f.top_funder or _("no funder"),
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


def _said(name: str, value: Value, locale: str) -> str:
    """One value as the sentence says it: a hidden count in words, a date in the locale."""
    if value is None:
        return _(HIDDEN)
    if type(value) is not str:
        return format_value(value, locale)
    if name == "date" and locale != DEFAULT_LOCALE:
        return format_value(dt.date.fromisoformat(value), locale)
    return value


def explain(driver: Driver, x: Inputs, f: Figures, where: Where, names: Names) -> Sentence:
    """The sentence of a cell whose severity ``driver`` set: only its template's values.

    In the current locale: the template's translation, numbers as the locale writes them.
    """
    template = _template(driver, x, f)
    values = {name: _VALUES[name](x, f, where, names) for name in FIELDS[template]}
    locale = current_locale()
    # Counts in words: a hidden one (None) as HIDDEN, a float without trailing zeros.
    text = _(TEMPLATES[template]).format_map({k: _said(k, v, locale) for k, v in values.items()})
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
