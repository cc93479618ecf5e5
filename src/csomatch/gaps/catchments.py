"""Catchments: how far people travel for each service code, and which towns that covers.

A cell of a town is ``uncovered`` only when no *eligible* service of its code lies within the
code's catchment of the town (docs/gaps.md, "Severity and catchments"):

- **national**: any eligible service of the code anywhere in the participant covers every
  town of it (high-security shelters, return: one per country is the norm);
- **regional** / **local**: an eligible service within ``km`` of the town covers it.

Distances are the matcher's (``csomatch.geo``): the ellipsoidal straight line between
gazetteer points (the town's centre and the centre of the service's town; a confidential
site counts at its municipality's centre). There is no road network: 100 km in a straight
line can be a longer drive in the mountains.

The table is ``DEFAULT_CATCHMENTS``; a JSON file named by ``CSOMATCH_CATCHMENTS_FILE``
overrides it code by code (``load_catchments``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final, Literal

import msgspec
import numpy as np

from csomatch.geo import distance_matrix_km

CatchmentKind = Literal["national", "regional", "local"]
#: A position of the gap cells: participant, area, service code.
Position = tuple[str, str, str]


class Catchment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How far a service of a code reaches, and why (published in docs/gaps.md)."""

    kind: CatchmentKind
    #: Radius in km (straight line); None for ``national``.
    km: float | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        """Check that a radius is given exactly when the catchment is not national."""
        if (self.kind == "national") != (self.km is None):
            raise ValueError(f"a {self.kind} catchment needs {'no' if self.km else 'a'} km")
        if self.km is not None and not 0 < self.km <= 1000:
            raise ValueError(f"km must be in (0, 1000], got {self.km}")


def _national(reason: str) -> Catchment:
    return Catchment(kind="national", reason=reason)


def _regional(km: float, reason: str) -> Catchment:
    return Catchment(kind="regional", km=km, reason=reason)


def _local(km: float, reason: str) -> Catchment:
    return Catchment(kind="local", km=km, reason=reason)


#: The catchment of each service code (or of a whole group, by its group code). A code
#: found in neither is local, ``FALLBACK``.
DEFAULT_CATCHMENTS: Final[Mapping[str, Catchment]] = {
    "ACC.SECURE": _national(
        "a high-security shelter takes people from the whole country, away from where they "
        "were at risk; one national shelter is the norm"
    ),
    "ACC.EMERG": _regional(
        100, "emergency accommodation: a person is brought to the nearest shelter of the region"
    ),
    "ACC.LONG": _regional(100, "transitional housing is planned; a move within the region"),
    "ACC.CHILD": _regional(100, "child crisis centres serve a region; children are escorted"),
    "ACC.FOSTER": _regional(100, "foster and kinship placements are found across a region"),
    "RET": _national(
        "return and transnational referral run through one national office and the other "
        "participant's counterpart"
    ),
    "LANG.INTERP": _national("interpretation is given by phone or video, or interpreters travel"),
    "REINT.FAMILY": _national("family tracing is done by national bodies, not locally"),
    "LEGAL.AID": _regional(100, "a lawyer meets a client a few times; courts are regional"),
    "DOC.ID": _regional(100, "identity documents need one or two trips to a regional office"),
    "INFO.RIGHTS": _regional(100, "information on rights is given once, often by phone"),
    "PSY.CRISIS": _regional(100, "crisis teams are mobile and serve a region"),
    "REINT": _regional(60, "education, training and work are within a daily commute"),
    "MED.EMERG": _local(30, "emergency medical care must be close"),
    "PSY.COUNSEL": _local(30, "counselling is weekly: sessions must be within local reach"),
}
FALLBACK: Final = _local(30, "services used often or at once must be within local reach")


def catchment_of(code: str, table: Mapping[str, Catchment] = DEFAULT_CATCHMENTS) -> Catchment:
    """The catchment of a service code: its own entry, else its group's, else ``FALLBACK``."""
    found = table.get(code) or table.get(code.split(".", 1)[0])
    return found or FALLBACK


def load_catchments(path: Path | None) -> Mapping[str, Catchment]:
    """``DEFAULT_CATCHMENTS`` overridden by the JSON object in ``path`` (None: the defaults).

    The file maps codes (``ACC.EMERG``) or groups (``RET``) to ``{"kind": "regional",
    "km": 80, "reason": "..."}``; a ValueError names the entry that is not valid.
    """
    if path is None:
        return DEFAULT_CATCHMENTS
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a JSON object of code -> catchment is expected")
    table = dict(DEFAULT_CATCHMENTS)
    for code, entry in raw.items():
        try:
            table[str(code)] = msgspec.convert(entry, Catchment)
        except (msgspec.ValidationError, ValueError) as exc:
            raise ValueError(f"{path}: catchment of {code!r}: {exc}") from exc
    return table


class Site(msgspec.Struct, frozen=True, kw_only=True):
    """Where an eligible service of a code is: its participant, town and the town's centre."""

    participant_code: str
    area_code: str
    taxonomy_code: str
    latitude: float
    longitude: float


def covered_positions(
    wanted: Iterable[Position],
    sites: Iterable[Site],
    centres: Mapping[str, tuple[float, float]],
    table: Mapping[str, Catchment] = DEFAULT_CATCHMENTS,
) -> frozenset[Position]:
    """The positions of ``wanted`` that an eligible service reaches within its catchment.

    A position of an area not in ``centres`` (``ALL``, ``UNKNOWN``) is covered when the
    participant has an eligible service of the code at all.
    """
    by_code: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for s in sites:
        by_code[(s.participant_code, s.taxonomy_code)].append((s.latitude, s.longitude))
    towns: dict[tuple[str, str], list[str]] = defaultdict(list)
    covered: set[Position] = set()
    for participant, area, code in set(wanted):
        here = by_code.get((participant, code))
        if not here:
            continue
        if catchment_of(code, table).kind == "national" or area not in centres:
            covered.add((participant, area, code))
        else:
            towns[(participant, code)].append(area)
    for (participant, code), areas in towns.items():
        km = catchment_of(code, table).km or 0.0
        origins = np.array([centres[a] for a in areas], dtype=np.float64)
        near = distance_matrix_km(origins, np.array(by_code[(participant, code)])) <= km
        reached: list[bool] = [bool(v) for v in np.any(near, axis=1)]
        covered.update((participant, a, code) for a, ok in zip(areas, reached, strict=True) if ok)
    return frozenset(covered)
