// The charts of /gaps, drawn as plain inline SVG (no library): when places lose their funding
// (funding cliffs by month), who pays (donor concentration), and the what-if and allocation
// results as bars. Every figure comes from the API's aggregates; each chart has its numbers
// written beside its bars, so nothing is told by colour or length alone.

import { el } from "./session.js";

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const number = (x) => Math.round(x).toLocaleString("en");

/**
 * Horizontal bars: each row its label and value in words (HTML, so that it wraps on a
 * phone) above an inline SVG bar. `rows` are {label, value, text, kind}; `kind` (optional)
 * is a class for the bar ("before", "after").
 */
export function barChart(title, rows, { empty = "Nothing to show.", id } = {}) {
  const figure = el("figure", { class: "chart", id });
  figure.append(el("figcaption", {}, title));
  if (!rows.length) {
    figure.append(el("p", { class: "hint" }, empty));
    return figure;
  }
  const top = Math.max(...rows.map((r) => r.value), 1e-9);
  const list = el("ol", { class: "bars" });
  for (const row of rows) {
    const length = row.value > 0 ? Math.max(0.5, (100 * row.value) / top) : 0;
    const bar = svg("svg", {
      viewBox: "0 0 100 4", preserveAspectRatio: "none", "aria-hidden": "true", class: "bar-svg",
    }, svg("rect", {
      x: "0", y: "0", width: length.toFixed(2), height: "4", class: `bar ${row.kind || ""}`.trim(),
    }));
    list.append(el("li", { class: "bar-row" },
      el("span", { class: "bar-label" }, `${row.label}: `, el("strong", {}, row.text)), bar));
  }
  figure.append(list);
  return figure;
}

/** The latest period's cell of each participant and code (the charts read one period). */
function latest(cells) {
  const kept = new Map();
  for (const cell of cells) {
    const key = `${cell.participant_code}:${cell.taxonomy_code}`;
    const old = kept.get(key);
    if (!old || old.period < cell.period) kept.set(key, cell);
  }
  return [...kept.values()];
}

/** Funding cliffs: the places whose funding ends, summed by the month it ends in. */
export function cliffRows(cells, monthsAhead = 12) {
  const byMonth = new Map();
  for (const cell of latest(cells)) {
    if (!cell.funded_through || !cell.units_ending) continue;
    const month = cell.funded_through.slice(0, 7);
    byMonth.set(month, (byMonth.get(month) || 0) + cell.units_ending);
  }
  return [...byMonth.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).slice(0, monthsAhead)
    .map(([month, units]) => ({
      label: month, value: units, text: `${number(units)} place${units === 1 ? "" : "s"}`,
    }));
}

/** Donor concentration: each funder's share of all funded places, the largest first. */
export function donorRows(cells, top = 6) {
  const byFunder = new Map();
  let total = 0;
  for (const cell of latest(cells)) {
    for (const f of cell.funders) {
      const seen = byFunder.get(f.ref) || { name: f.name, units: 0 };
      seen.units += f.units;
      byFunder.set(f.ref, seen);
      total += f.units;
    }
  }
  if (!total) return [];
  const sorted = [...byFunder.values()].sort((a, b) => b.units - a.units);
  const rows = sorted.slice(0, top).map((f) => ({
    label: f.name, value: f.units / total,
    text: `${Math.round((100 * f.units) / total)} % (${number(f.units)} places)`,
  }));
  const rest = sorted.slice(top).reduce((sum, f) => sum + f.units, 0);
  if (rest) {
    rows.push({
      label: `${sorted.length - top} other funders`, value: rest / total,
      text: `${Math.round((100 * rest) / total)} % (${number(rest)} places)`,
    });
  }
  return rows;
}

/** The funders paying for the cells, for the what-if's choice: [{ref, name}]. */
export function fundersOf(cells) {
  const seen = new Map();
  for (const cell of cells) for (const f of cell.funders) seen.set(f.ref, f.name);
  return [...seen.entries()].map(([ref, name]) => ({ ref, name }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A what-if's result: three charts (placed, unmet, mean travel), before and after. */
export function whatIfCharts(result) {
  const { baseline: before, scenario: after } = result;
  const pair = (value, text) => [
    { label: "As things are", value: value(before), text: text(before), kind: "before" },
    { label: "With the change", value: value(after), text: text(after), kind: "after" },
  ];
  const km = (run) => (run.mean_km === null ? "—" : `${run.mean_km.toFixed(1)} km`);
  return [
    barChart("Needs placed", pair((r) => r.placed, (r) => number(r.placed))),
    barChart("Needs left unmet", pair((r) => r.unmet, (r) => number(r.unmet))),
    barChart("Mean distance to the service", pair((r) => r.mean_km || 0, km)),
  ];
}

/** An allocation's purchases as bars of cost (the `top` largest, then the rest summed). */
export function allocationRows(result, names, top = 10) {
  const sorted = [...result.purchases].sort((a, b) => b.cost - a.cost);
  const rest = sorted.slice(top);
  const rows = sorted.slice(0, top).map((p) => ({
    label: `${p.service_name} (${names.get(p.area_code) || p.area_code})`,
    value: p.cost,
    text: `${number(p.cost)} ${result.currency}, ${p.units} ${p.unit || "units"}, ` +
      `${number(p.people)} people a year`,
  }));
  if (rest.length) {
    const cost = rest.reduce((sum, p) => sum + p.cost, 0);
    rows.push({
      label: `${rest.length} more services`, value: cost,
      text: `${number(cost)} ${result.currency}`, kind: "before",
    });
  }
  return rows;
}
