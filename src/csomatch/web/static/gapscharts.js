// The charts of /gaps, drawn as plain inline SVG (no library): when places lose their funding
// (funding cliffs by month), who pays (donor concentration), and the what-if and allocation
// results as bars. Every figure comes from the API's aggregates; each chart has its numbers
// written beside its bars, so nothing is told by colour or length alone.

import { decimal, number as formatNumber, plural, t, tParts } from "./i18n.js";
import { el } from "./session.js";

const NS = "http://www.w3.org/2000/svg";
/** Capacity units of a purchase, in words. */
const UNITS = {
  bed: t("beds"), place: t("places"), session_per_week: t("sessions a week"),
  hour_per_week: t("hours a week"), case: t("cases"),
};

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const number = (x) => formatNumber(Math.round(x));
const percent = (share) => formatNumber(share, { style: "percent" });

/**
 * Horizontal bars: each row its label and value in words (HTML, so that it wraps on a
 * phone) above an inline SVG bar. `rows` are {label, value, text, kind}; `kind` (optional)
 * is a class for the bar ("before", "after").
 */
export function barChart(title, rows, { empty = t("Nothing to show."), id } = {}) {
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
      el("span", { class: "bar-label" },
        ...tParts(t("{label}: {value}"), { label: row.label, value: el("strong", {}, row.text) })), bar));
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
      label: month, value: units,
      text: plural(units, { one: t("{count} place"), few: t("{count} places (few)"), other: t("{count} places") }),
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
    text: t("{share} ({count} places)", { share: percent(f.units / total), count: number(f.units) }),
  }));
  const rest = sorted.slice(top).reduce((sum, f) => sum + f.units, 0);
  if (rest) {
    rows.push({
      label: t("{count} other funders", { count: sorted.length - top }), value: rest / total,
      text: t("{share} ({count} places)", { share: percent(rest / total), count: number(rest) }),
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
    { label: t("As things are"), value: value(before), text: text(before), kind: "before" },
    { label: t("With the change"), value: value(after), text: text(after), kind: "after" },
  ];
  const km = (run) => (run.mean_km === null ? "—" : t("{distance} km", { distance: decimal(run.mean_km) }));
  return [
    barChart(t("Needs placed"), pair((r) => r.placed, (r) => number(r.placed))),
    barChart(t("Needs left unmet"), pair((r) => r.unmet, (r) => number(r.unmet))),
    barChart(t("Mean distance to the service"), pair((r) => r.mean_km || 0, km)),
  ];
}

/** An allocation's purchases as bars of cost (the `top` largest, then the rest summed). */
export function allocationRows(result, names, top = 10) {
  const sorted = [...result.purchases].sort((a, b) => b.cost - a.cost);
  const rest = sorted.slice(top);
  const rows = sorted.slice(0, top).map((p) => ({
    label: t("{service} ({town})", { service: p.service_name, town: names.get(p.area_code) || p.area_code }),
    value: p.cost,
    text: t("{cost} {currency}, {units} {unit}, {people} people a year", {
      cost: number(p.cost), currency: result.currency, units: p.units,
      unit: UNITS[p.unit] || p.unit || t("units"), people: number(p.people),
    }),
  }));
  if (rest.length) {
    const cost = rest.reduce((sum, p) => sum + p.cost, 0);
    rows.push({
      label: t("{count} more services", { count: rest.length }), value: cost,
      text: t("{cost} {currency}", { cost: number(cost), currency: result.currency }), kind: "before",
    });
  }
  return rows;
}
