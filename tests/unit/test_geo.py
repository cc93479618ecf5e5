"""One earth: the sphere's distances agree with each other and with the geodesic."""

from __future__ import annotations

import math
import random

import pytest
from geopy.distance import geodesic

from csomatch import geo

BELGRADE = (44.8176, 20.4633)
TIRANA = (41.3275, 19.8187)


def _chord2(a: geo.Point, b: geo.Point) -> float:
    u, v = geo.unit_vector(*a), geo.unit_vector(*b)
    return sum((p - q) * (p - q) for p, q in zip(u, v, strict=True))


def test_chords_and_great_circles_measure_the_same_sphere() -> None:
    rng = random.Random(12)
    for _ in range(1000):
        a = (rng.uniform(39, 47), rng.uniform(13, 24))
        b = (rng.uniform(39, 47), rng.uniform(13, 24))
        assert geo.km_of_chord2(_chord2(a, b)) == pytest.approx(geo.haversine_km(a, b), abs=1e-6)


@pytest.mark.parametrize("km", [0.0, 0.5, 25.0, 400.0, 2000.0])
def test_a_radius_becomes_the_chord_of_that_many_km(km: float) -> None:
    assert geo.km_of_chord2(geo.chord_of_km(km) ** 2) == pytest.approx(km, abs=1e-6)


def test_every_distance_is_within_its_tolerance_of_the_geodesic() -> None:
    exact = geodesic(BELGRADE, TIRANA).km
    assert geo.haversine_km(BELGRADE, TIRANA) == pytest.approx(exact, rel=geo.HAVERSINE_TOLERANCE)
    assert geo.distance_km(BELGRADE, TIRANA) == pytest.approx(exact, abs=0.05)
    assert math.isclose(geo.distance_km(BELGRADE, BELGRADE), 0.0)
