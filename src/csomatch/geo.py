"""Distances on the earth: one earth, several ways to measure on it.

- **On the sphere** of the mean earth radius :data:`EARTH_RADIUS_KM` (the only radius in
  csomatch): the great-circle distance (:func:`haversine_km`), cheap and within 0.5% of the
  geodesic; and the search's chords between unit vectors (:func:`unit_vector`,
  :func:`chord_of_km`, :func:`km_of_chord2`), which order points exactly as great circles do
  and need no trigonometry per row. The search statement (``db/services.py``) and the
  in-memory index compute the same floating-point operations in the same order, bit for bit
  (docs/search.md); the statement's SQL spells the radius from :data:`EARTH_RADIUS_KM` too.
- **On the WGS84 ellipsoid**, many at a time (:func:`distance_matrix_km`): geopy's
  ``geodesic`` is exact but costs ~0.1 ms a pair, and a batch of 500 needs against 300
  services needs tens of thousands of distances. Andoyer-Lambert's formula corrects the
  great-circle distance for the earth's flattening and stays within a few metres of the
  geodesic at the distances of the region (well under the matcher's 100 m resolution); a
  test checks it against geopy. It runs vectorised over numpy arrays.
- **Exactly**, only where a cheap bound cannot decide (:func:`at_least_km`).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt
from geopy.distance import geodesic

FloatArray = npt.NDArray[np.float64]
#: A point: latitude and longitude in degrees.
Point = tuple[float, float]

#: Mean earth radius (km, IUGG): the sphere of every great-circle distance and chord.
EARTH_RADIUS_KM: Final = 6371.0088
#: The haversine distance is within 0.5% of the geodesic one; outside this band the cheap
#: bound already decides a distance comparison and the exact geodesic is not needed.
HAVERSINE_TOLERANCE: Final = 0.005
#: WGS84 semi-major axis (km) and flattening.
WGS84_A_KM: Final = 6378.137
WGS84_F: Final = 1 / 298.257223563


def haversine_km(a: Point, b: Point) -> float:
    """Great-circle distance on the sphere: cheap, within 0.5% of the geodesic."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def at_least_km(a: Point, b: Point, km: float) -> bool:
    """Whether ``a`` is at least ``km`` from ``b``; geodesic only when the bound cannot tell."""
    rough = haversine_km(a, b)
    if rough >= km * (1 + HAVERSINE_TOLERANCE):
        return True
    if rough < km * (1 - HAVERSINE_TOLERANCE):
        return False
    return bool(geodesic(a, b).km >= km)


def unit_vector(latitude: float, longitude: float) -> tuple[float, float, float]:
    """The point as a unit vector (x, y, z), as the SQL functions ``unit_x/y/z`` compute it."""
    return (
        math.cos(math.radians(latitude)) * math.cos(math.radians(longitude)),
        math.cos(math.radians(latitude)) * math.sin(math.radians(longitude)),
        math.sin(math.radians(latitude)),
    )


def chord_of_km(km: float) -> float:
    """The chord between unit vectors ``km`` apart on the sphere (a radius of a search)."""
    return 2 * math.sin(min(km / EARTH_RADIUS_KM, math.pi) / 2)


def km_of_chord2(d2: float) -> float:
    """The great-circle km between unit vectors whose squared chord is ``d2``."""
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(d2) / 2))


def distance_matrix_km(origins: FloatArray, sites: FloatArray) -> FloatArray:
    """Distances in km from each origin (rows) to each site (columns).

    Args:
        origins: shape (k, 2), latitude and longitude in degrees.
        sites: shape (m, 2), latitude and longitude in degrees.

    Returns:
        Shape (k, m).
    """
    lat1 = np.radians(origins[:, 0])[:, None]
    lon1 = np.radians(origins[:, 1])[:, None]
    lat2 = np.radians(sites[:, 0])[None, :]
    lon2 = np.radians(sites[:, 1])[None, :]
    # Reduced latitudes, then the central angle between them (haversine form: stable).
    b1 = np.arctan((1 - WGS84_F) * np.tan(lat1))
    b2 = np.arctan((1 - WGS84_F) * np.tan(lat2))
    h = np.sin((b2 - b1) / 2) ** 2 + np.cos(b1) * np.cos(b2) * np.sin((lon2 - lon1) / 2) ** 2
    sigma = 2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    p = (b1 + b2) / 2
    q = (b2 - b1) / 2
    # Guard the 0/0 at coincident points; the correction there is zero anyway.
    half_cos2 = np.maximum(np.cos(sigma / 2) ** 2, 1e-300)
    half_sin2 = np.maximum(np.sin(sigma / 2) ** 2, 1e-300)
    x = (sigma - np.sin(sigma)) * np.sin(p) ** 2 * np.cos(q) ** 2 / half_cos2
    y = (sigma + np.sin(sigma)) * np.cos(p) ** 2 * np.sin(q) ** 2 / half_sin2
    km = WGS84_A_KM * (sigma - WGS84_F / 2 * (x + y))
    return np.where(sigma > 1e-12, km, 0.0)


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in km between two points (latitude, longitude in degrees)."""
    return float(distance_matrix_km(np.array([a], dtype=np.float64), np.array([b]))[0, 0])
