"""Cut the six participants (and their neighbours, for context) out of world-atlas.

Reads ``countries-50m.json`` of the npm package ``world-atlas`` 2.0.2 (Natural Earth 1:50m,
TopoJSON, ISC licence) and writes the GeoJSON that the /gaps map draws:
``src/csomatch/web/static/vendor/world-atlas/region.json``. Run it again only to change the
cut; the page reads the committed result (nothing is fetched at run time)::

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python3 scripts/world_atlas.py package/countries-50m.json

The TopoJSON is decoded here (quantised, delta-encoded arcs; a negative arc index is the
arc reversed), so no JavaScript library is needed to read it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src/csomatch/web/static/vendor/world-atlas/region.json"
#: Natural Earth's names in world-atlas 2.0.2 -> our codes. Participants first.
PARTICIPANTS = {
    "Albania": "AL",
    "Bosnia and Herz.": "BA",
    "Kosovo": "XK",
    "Montenegro": "ME",
    "Macedonia": "MK",
    "Serbia": "RS",
}
NEIGHBOURS = {
    "Croatia": "HR",
    "Hungary": "HU",
    "Romania": "RO",
    "Bulgaria": "BG",
    "Greece": "GR",
    "Italy": "IT",
    "Slovenia": "SI",
    "Austria": "AT",
}
#: west, south, east, north: the participants (15.7-23.1 E, 39.6-46.2 N) with a margin.
BOX = (13.0, 38.8, 25.0, 47.0)


def arcs_of(topology: dict) -> list[list[tuple[float, float]]]:
    """The arcs in degrees: undo the quantisation and the delta encoding."""
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x * sx + tx, y * sy + ty))
        arcs.append(points)
    return arcs


def ring(indices: list[int], arcs: list[list[tuple[float, float]]]) -> list[list[float]]:
    """A closed ring from arc indices (``~i``: arc ``i`` reversed), rounded to 0.001°."""
    points: list[tuple[float, float]] = []
    for i in indices:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        points.extend(arc if not points else arc[1:])
    return [[round(x, 3), round(y, 3)] for x, y in points]


def inside(points: list[list[float]]) -> bool:
    """Whether a ring has any point in the box (rings wholly outside are left out)."""
    west, south, east, north = BOX
    return any(west <= x <= east and south <= y <= north for x, y in points)


def main(source: str) -> None:
    """Write region.json: one feature per country, participants marked."""
    topology = json.loads(Path(source).read_text("utf-8"))
    arcs = arcs_of(topology)
    features = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        name = geometry["properties"]["name"]
        code = PARTICIPANTS.get(name) or NEIGHBOURS.get(name)
        if code is None:
            continue
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        kept = []
        for polygon in polygons:
            rings = [ring(r, arcs) for r in polygon]
            if inside(rings[0]):
                kept.append(rings)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": code, "participant": code in PARTICIPANTS.values()},
                "geometry": {"type": "MultiPolygon", "coordinates": kept},
            }
        )
    features.sort(key=lambda f: (f["properties"]["participant"], f["properties"]["code"]))
    collection = {"type": "FeatureCollection", "bbox": list(BOX), "features": features}
    OUT.write_text(json.dumps(collection, separators=(",", ":")) + "\n", "utf-8")
    print(f"{OUT}: {len(features)} countries, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
