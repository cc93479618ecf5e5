// The map of /gaps: the six participants' outlines (Natural Earth via world-atlas 2.0.2,
// vendored and cut by scripts/world_atlas.py; no tiles, nothing from the internet) in inline
// SVG, and the towns of the gap cells as circles: colour and a ring count for the most severe
// cell, area for the unmet needs. Click or tap a town (or Enter on it) for its cells.

import { plural, t } from "./i18n.js";
import { PARTICIPANTS, api, el } from "./session.js";

const NS = "http://www.w3.org/2000/svg";
const REGION = "/static/vendor/world-atlas/region.json";
/** Pixels (viewBox units) per degree of latitude; longitude is scaled by cos(43°). */
const SCALE = 60;
const LAT0 = (43 * Math.PI) / 180;
/** Where each participant's name is written (lon, lat). */
const LABELS = {
  AL: [19.95, 40.85], BA: [17.75, 44.25], XK: [20.9, 42.55],
  ME: [19.15, 42.95], MK: [21.65, 41.55], RS: [20.75, 44.05],
};

let region = null;
const places = new Map(); // area code -> {name, participant, latitude, longitude}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** The participants' name as the page writes it (Kosovo with its asterisk). */
export function participantName(code) {
  const name = PARTICIPANTS[code] || code;
  return code === "XK" && !name.endsWith("*") ? `${name}*` : name;
}

async function outlines() {
  if (!region) {
    const response = await fetch(REGION);
    if (!response.ok) throw new Error(`${REGION}: ${response.status}`);
    region = await response.json();
  }
  return region;
}

/** The areas' names and centres (GET /api/v1/areas?area=...), each asked once. */
export async function areaPlaces(codes) {
  const missing = [...new Set(codes)].filter((c) => /^[A-Z]{2}-\d+$/.test(c) && !places.has(c));
  for (let i = 0; i < missing.length; i += 100) {
    const params = new URLSearchParams({ limit: "100" });
    for (const code of missing.slice(i, i + 100)) params.append("area", code);
    const { data } = await api(`/api/v1/areas?${params}`);
    for (const area of data) places.set(area.code, area);
  }
  return places;
}

function frame(features) {
  let [west, south, east, north] = [180, 90, -180, -90];
  for (const f of features.filter((x) => x.properties.participant)) {
    for (const polygon of f.geometry.coordinates) {
      for (const [lon, lat] of polygon[0]) {
        west = Math.min(west, lon); east = Math.max(east, lon);
        south = Math.min(south, lat); north = Math.max(north, lat);
      }
    }
  }
  const pad = 0.25;
  [west, south, east, north] = [west - pad, south - pad, east + pad, north + pad];
  const project = ([lon, lat]) => [
    (lon - west) * Math.cos(LAT0) * SCALE, (north - lat) * SCALE,
  ];
  const [width, height] = project([east, south]);
  return { project, width, height };
}

function pathOf(geometry, project) {
  const parts = [];
  for (const polygon of geometry.coordinates) {
    for (const ring of polygon) {
      parts.push(`M${ring.map((p) => project(p).map((v) => v.toFixed(1)).join(",")).join("L")}Z`);
    }
  }
  return parts.join("");
}

/** Group the area cells by town: worst severity, published unmet needs, the cells. */
export function towns(cells) {
  const byArea = new Map();
  for (const cell of cells) {
    if (!/^[A-Z]{2}-\d+$/.test(cell.area_code)) continue;
    const town = byArea.get(cell.area_code) ||
      { area: cell.area_code, participant: cell.participant_code, severity: 0, unmet: 0,
        hidden: 0, cells: [] };
    town.severity = Math.max(town.severity, cell.severity);
    // A hidden count is known to be at least 1 (docs/gaps.md), nothing more.
    if (cell.unmet === null) town.hidden += cell.suppressed.includes("unmet") ? 1 : 0;
    else town.unmet += cell.unmet;
    town.cells.push(cell);
    byArea.set(cell.area_code, town);
  }
  return [...byArea.values()];
}

/** Unmet needs at least: the published counts, and 1 for each hidden (small) count. */
const atLeast = (town) => town.unmet + town.hidden;
const radius = (town) => Math.min(16, 3 + 1.6 * Math.sqrt(atLeast(town)));

export function unmetText(town) {
  const n = atLeast(town);
  if (!town.hidden) {
    return plural(n, { one: t("{count} unmet need"), few: t("{count} unmet needs (few)"), other: t("{count} unmet needs") });
  }
  return plural(n, {
    one: t("at least {count} unmet need ({hidden} small counts hidden, each 1 to 4)"),
    few: t("at least {count} unmet needs ({hidden} small counts hidden, each 1 to 4) (few)"),
    other: t("at least {count} unmet needs ({hidden} small counts hidden, each 1 to 4)"),
  }, { hidden: town.hidden });
}

/**
 * Draw the map into `figure`: outlines, then the towns of `cells`. `pick(town)` is called
 * when a town is chosen (click, tap, Enter or Space).
 */
export async function drawMap(figure, cells, pick) {
  const { features } = await outlines();
  const { project, width, height } = frame(features);
  const list = towns(cells);
  await areaPlaces(list.map((town) => town.area));
  const map = svg("svg", {
    viewBox: `0 0 ${width.toFixed(0)} ${height.toFixed(0)}`,
    role: "group",
    "aria-label": t("Map of the six participants with the towns of the gap cells"),
    class: "gap-map",
  });
  for (const f of features) {
    const own = f.properties.participant;
    map.append(svg("path", {
      d: pathOf(f.geometry, project),
      class: own ? "country participant" : "country neighbour",
      "data-participant": own ? f.properties.code : "",
    }));
  }
  for (const [code, point] of Object.entries(LABELS)) {
    const [x, y] = project(point);
    map.append(svg("text", { x: x.toFixed(1), y: y.toFixed(1), class: "country-label" },
      participantName(code)));
  }
  const drawn = list.filter((town) => places.has(town.area))
    .sort((a, b) => radius(b) - radius(a));
  for (const town of drawn) {
    const place = places.get(town.area);
    const [x, y] = project([place.longitude, place.latitude]);
    const label = plural(town.cells.length, {
      one: t("{town}: severity {severity}, {unmet}, {count} cell"),
      few: t("{town}: severity {severity}, {unmet}, {count} cells (few)"),
      other: t("{town}: severity {severity}, {unmet}, {count} cells"),
    }, { town: place.name, severity: town.severity, unmet: unmetText(town) });
    const circle = svg("circle", {
      cx: x.toFixed(1), cy: y.toFixed(1), r: radius(town).toFixed(1),
      class: `town sev-${town.severity}`, tabindex: "0", role: "button",
      "aria-label": label, "data-area": town.area,
    }, svg("title", {}, label));
    const choose = () => {
      for (const other of map.querySelectorAll(".town.chosen")) other.classList.remove("chosen");
      circle.classList.add("chosen");
      pick({ ...town, name: place.name });
    };
    circle.addEventListener("click", choose);
    circle.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        choose();
      }
    });
    map.append(circle);
  }
  figure.replaceChildren(map);
  return drawn.length;
}

/** The legend: each severity's colour with its number in words, and what the size means. */
export function legend() {
  const items = [5, 4, 3, 2, 1].map((s) => el("li", {},
    el("span", { class: `swatch sev-${s}`, "aria-hidden": "true" }),
    s === 5 ? t("Severity 5 (most severe)") : s === 1 ? t("Severity 1 (least)")
      : t("Severity {severity}", { severity: s })));
  return [
    el("ul", { class: "legend" }, ...items),
    el("p", { class: "hint" },
      t("A town's colour is its most severe cell; the larger the circle, the more unmet " +
      "needs (a hidden small count adds 1, the least it can be). Choose a town for its cells.")),
  ];
}
