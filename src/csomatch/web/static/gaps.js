// Gaps: the gap analysis for funders (GET /api/v1/gaps): a map of the towns (gapsmap.js),
// charts of the money (gapscharts.js), and the cells, most severe first.
// Every figure is an aggregate; a count the API suppressed is shown as hidden, never guessed.

import { date, number, plural, t } from "./i18n.js";
import {
  PARTICIPANTS, api, areaNames, el, signedIn, taxonomy, taxonomyOptions,
} from "./session.js";
import { drawMap, legend, participantName, unmetText } from "./gapsmap.js";
import { earlyWarningSection, loadEarlyWarnings } from "./earlywarnings.js";
import {
  allocationRows, barChart, cliffRows, donorRows, fundersOf, whatIfCharts,
} from "./gapscharts.js";

const FLAGS = {
  uncovered: t("Uncovered"),
  under_capacity: t("Under capacity"),
  underfunded: t("Underfunded"),
  funding_cliff: t("Funding cliff"),
  single_donor: t("Single-donor dependent"),
  stale_data: t("Stale capacity data"),
};
const PAGE = 25;
/** A town's cells shown at first when it is chosen on the map (the most severe). */
const TOWN_CARDS = 4;

const form = document.getElementById("filters");
const participant = document.getElementById("participant");
const service = document.getElementById("service");
const status = document.getElementById("status");
const list = document.getElementById("cells");
const more = document.getElementById("more");

let codeNames = new Map();
let placeNames = new Map();
let cells = [];
let shown = 0;
let asked = 0;

function count(cell, name) {
  const value = cell[name];
  if (value === null || value === undefined) {
    return cell.suppressed.includes(name) ? t("hidden (small count)") : "—";
  }
  return String(value);
}

const percent = (x) => (x === null || x === undefined ? "—" : number(x, { style: "percent" }));

function fact(term, value) {
  return [el("dt", {}, term), el("dd", {}, value)];
}

function card(cell) {
  const where =
    cell.area_code === "ALL"
      ? t("All of {participant}", { participant: participantName(cell.participant_code) })
      : cell.area_code === "UNKNOWN"
        ? t("{participant}, area not known", { participant: cell.participant_code })
        : t("{town} ({participant})",
          { town: placeNames.get(cell.area_code) || cell.area_code, participant: cell.participant_code });
  const flags = el(
    "ul",
    { class: "flags" },
    ...cell.flags.map((f) =>
      el("li", {}, el("strong", {}, FLAGS[f.code] || f.code), `: ${f.why}`),
    ),
  );
  const funding = cell.funded_through
    ? (cell.runway_days !== null
      ? t("{share} of places funded, until {date} ({days} days)",
        { share: percent(cell.funding_coverage), date: date(cell.funded_through), days: cell.runway_days })
      : t("{share} of places funded, until {date}",
        { share: percent(cell.funding_coverage), date: date(cell.funded_through) }))
    : t("{share} of places funded", { share: percent(cell.funding_coverage) });
  const donors = cell.funders
    .slice(0, 3)
    .map((f) => t("{funder} {share}", { funder: f.name, share: percent(f.share) }))
    .join("; ");
  const rows = [
    fact(t("Demand"), t("{needs} needs, {unmet} unmet, {declines} declined for no capacity, " +
      "{searches} empty searches", {
      needs: count(cell, "needs"), unmet: count(cell, "unmet"),
      declines: count(cell, "declines"), searches: count(cell, "searches"),
    })),
    fact(t("Capacity"), [
      t("{capacity} places in {services} services", { capacity: cell.capacity, services: cell.services }),
      cell.free === null ? t("free unknown") : t("{count} free", { count: cell.free }),
    ].join(", ") + (cell.stale_services
      ? t(" ({count} not reported recently)", { count: cell.stale_services }) : "")),
    fact(t("Funding"), funding),
  ];
  if (donors) rows.push(fact(t("Main funders"), donors));
  // Who pays: public money (ministries, municipalities) against donor money, in EUR a year.
  if (cell.public_share !== null && cell.public_share !== undefined) {
    rows.push(fact(t("Public money"), t("{public} public, {donor} donor money (EUR a year)", {
      public: percent(cell.public_share), donor: percent(1 - cell.public_share),
    })));
  }
  if (cell.survivor_led_capacity_share !== null && cell.survivor_led_capacity_share !== undefined) {
    rows.push(fact(t("Survivor-led"), t("{places} of places, {funded} of funded places", {
      places: percent(cell.survivor_led_capacity_share), funded: percent(cell.survivor_led_funding_share),
    })));
  }
  return el(
    "li",
    { class: `card gap sev-${cell.severity}`, "data-cell": cell.key },
    el("h3", {}, `${codeNames.get(cell.taxonomy_code) || cell.taxonomy_code} · ${where}`),
    el("p", { class: "meta" },
      el("span", { class: `badge severity sev-${cell.severity}` }, t("Severity {severity}", { severity: cell.severity })),
      ` ${cell.period}`),
    cell.sentence ? el("p", { class: "why" }, cell.sentence) : "",
    cell.flags.length ? flags : el("p", {}, t("No flag raised.")),
    el("dl", { class: "facts-list" }, ...rows.flat()),
  );
}

function showMore() {
  const next = cells.slice(shown, shown + PAGE);
  list.append(...next.map(card));
  shown += next.length;
  more.hidden = shown >= cells.length;
}

async function pickTown(town) {
  placeNames = await areaNames(town.cells.map((cell) => cell.area_code));
  const panel = document.getElementById("town");
  panel.hidden = false;
  document.getElementById("town-name").textContent =
    t("{town} ({participant})", { town: town.name, participant: participantName(town.participant) });
  document.getElementById("town-summary").textContent = plural(town.cells.length, {
    one: t("Most severe: {severity}; {unmet}; {count} cell."),
    few: t("Most severe: {severity}; {unmet}; {count} cells. (few)"),
    other: t("Most severe: {severity}; {unmet}; {count} cells."),
  }, { severity: town.severity, unmet: unmetText(town) });
  const list = document.getElementById("town-cells");
  list.replaceChildren(...town.cells.slice(0, TOWN_CARDS).map(card));
  const all = document.getElementById("town-all");
  all.hidden = town.cells.length <= TOWN_CARDS;
  all.textContent = t("Show all {count} cells of {town}", { count: town.cells.length, town: town.name });
  all.onclick = () => {
    list.replaceChildren(...town.cells.map(card));
    all.hidden = true;
  };
}

/** The filters as query parameters; `forMap`: every area (the towns), else as chosen. */
function query({ towns = false, wide = false } = {}) {
  // "closed": periods that are over (all a funder may see); "open": up to the current one.
  const [granularity, periods, which] = document.getElementById("period").value.split(":");
  const params = new URLSearchParams({
    granularity,
    periods: wide ? "1" : periods,
    closed: which === "closed" ? "true" : "false",
    min_severity: wide ? "1" : document.getElementById("severity").value,
  });
  if (participant.value) params.set("participant", participant.value);
  if (service.value) params.set("code", service.value);
  const flag = document.getElementById("flag").value;
  if (flag && !wide) params.set("flag", flag);
  // Who is left out: the cells counted for one population group (docs/gaps.md).
  const group = document.getElementById("group").value;
  if (group) params.set("group", group);
  if (wide || (!towns && document.getElementById("whole").checked)) params.set("area", "ALL");
  return params;
}

async function loadMap(ticket) {
  const note = document.getElementById("map-status");
  try {
    const { data } = await api(`/api/v1/gaps?${query({ towns: true })}`);
    if (ticket !== asked) return;
    document.getElementById("town").hidden = true;
    const drawn = await drawMap(document.getElementById("map"), data.cells, pickTown);
    note.textContent = drawn
      ? plural(drawn, {
        one: t("{count} town with cells at this severity."),
        few: t("{count} towns with cells at this severity. (few)"),
        other: t("{count} towns with cells at this severity."),
      })
      : t("No town has a cell at this severity.");
  } catch (error) {
    if (ticket === asked) note.textContent = t("Could not draw the map: {error}", { error: error.message });
  }
}

let chartCells = [];

async function loadCharts(ticket) {
  const charts = document.getElementById("charts");
  try {
    const { data } = await api(`/api/v1/gaps?${query({ wide: true })}`);
    if (ticket !== asked) return;
    chartCells = data.cells;
    charts.replaceChildren(
      barChart(t("Funding cliffs: places whose funding ends, by month"), cliffRows(chartCells), {
        id: "chart-cliffs", empty: t("No funding ends within the funded periods shown."),
      }),
      barChart(t("Donor concentration: each funder's share of the funded places"),
        donorRows(chartCells), { id: "chart-donors", empty: t("No funded places.") }),
    );
    const choice = document.getElementById("whatif-funder");
    choice.replaceChildren(...fundersOf(chartCells).map((f) => el("option", { value: f.ref }, f.name)));
  } catch (error) {
    if (ticket === asked) {
      charts.replaceChildren(el("p", { class: "hint" },
        t("Could not draw the charts: {error}", { error: error.message })));
    }
  }
}

async function whatIf(event) {
  event.preventDefault();
  const ref = document.getElementById("whatif-funder").value;
  const note = document.getElementById("whatif-status");
  if (!ref) return;
  note.textContent = t("Re-placing the year's demand…");
  const body = { remove_funder: ref };
  if (participant.value) body.participant = participant.value;
  try {
    const { data } = await api("/api/v1/gaps/what-if", { method: "POST", body });
    const name = document.getElementById("whatif-funder").selectedOptions[0].textContent;
    document.getElementById("whatif-result").replaceChildren(
      el("h3", {}, t("Without {funder}: the last 12 months of needs, re-placed", { funder: name })),
      el("div", { id: "chart-whatif", class: "charts" }, ...whatIfCharts(data)),
    );
    note.textContent = t("Unmet needs change by {change}; {count} town and service pairs left without a provider.",
      { change: data.unmet_change, count: data.areas_left_without_provider.length });
  } catch (error) {
    note.textContent = t("Could not run the what-if: {error}", { error: error.message });
  }
}

/** Services the budget may not fund until licensed: listed apart, outside the allocation. */
function licenseFirst(services, names) {
  if (!services.length) return "";
  const shown = services.slice(0, 5);
  return el("section", { id: "license-first", class: "license-first" },
    el("h3", {}, t("License first (outside the budget)")),
    el("p", {}, t("These services need a licence not in force, so no money goes to them; " +
      "licensed, they would serve needs that found no place.")),
    el("ul", {}, ...shown.map((s) => el("li", {}, t(
      "{service} ({town}): {places} places; {needs} needs without a place within reach", {
        service: s.service_name, town: names.get(s.area_code) || s.area_code,
        places: s.maximum, needs: s.shortfall_in_reach,
      })))),
    services.length > shown.length
      ? el("p", {}, t("and {count} more", { count: services.length - shown.length }))
      : "",
  );
}

async function allocate(event) {
  event.preventDefault();
  const budget = Number(document.getElementById("allocate-budget").value);
  const note = document.getElementById("allocate-status");
  if (!Number.isInteger(budget) || budget < 1) {
    note.textContent = t("Give the budget as a whole number of euros.");
    return;
  }
  note.textContent = t("Looking for the allocation that covers the most severe unmet needs…");
  const body = { budget, currency: "EUR", time_limit_s: 5 };
  if (participant.value) body.participant = participant.value;
  try {
    const { data } = await api("/api/v1/gaps/allocate", { method: "POST", body });
    const names = await areaNames(
      [...data.purchases, ...data.license_first].map((p) => p.area_code));
    document.getElementById("allocate-result").replaceChildren(
      barChart(t("Where {budget} {currency} would go", { budget: number(data.budget), currency: data.currency }),
        allocationRows(data, names),
        { id: "chart-allocation", empty: t("No purchase proposed (no unit cost known, or no unmet need).") }),
      licenseFirst(data.license_first, names),
    );
    note.textContent = t("Spends {spent} {currency}; covers {covered} of {unmet} needs that found no place ({quality}).", {
      spent: number(data.spent), currency: data.currency, covered: data.covered, unmet: data.unmet_before,
      quality: data.status === "optimal" ? t("best possible") : t("good, not proven best"),
    });
  } catch (error) {
    note.textContent = t("Could not propose an allocation: {error}", { error: error.message });
  }
}

async function load() {
  const ticket = ++asked;
  await Promise.all([loadList(ticket), loadMap(ticket), loadCharts(ticket), loadWarnings()]);
  // Tests (and the curious) can tell when the map and the charts are drawn.
  if (ticket === asked) document.getElementById("page").dataset.drawn = String(ticket);
}

let warning = null;

/** The early warning of the participant, service and group chosen (docs/early-warnings.md). */
async function loadWarnings() {
  const group = document.getElementById("group").value;
  try {
    await loadEarlyWarnings(
      warning,
      { participant: participant.value, code: service.value, group: group || "all" },
      { codeNames, limit: 12, warnedOnly: !service.value },
    );
  } catch (error) {
    warning.status.textContent = error.message;
  }
}

async function loadList(ticket) {
  status.textContent = t("Loading…");
  try {
    const { data } = await api(`/api/v1/gaps?${query()}`);
    placeNames = await areaNames(data.cells.map((cell) => cell.area_code));
    if (ticket !== asked) return;
    cells = data.cells;
    shown = 0;
    list.replaceChildren();
    showMore();
    status.textContent = data.total
      ? plural(data.total, {
        one: t("{count} cell, most severe first"),
        few: t("{count} cells, most severe first (few)"),
        other: t("{count} cells, most severe first"),
      })
      : t("No cell matches: no gap at this severity.");
  } catch (error) {
    if (ticket === asked) status.textContent = t("Could not load the gaps: {error}", { error: error.message });
  }
}

async function start() {
  const me = await signedIn(["funder", "coordinator", "admin"]);
  if (!me) return;
  const all = me.role === "admin" || me.jurisdiction === "MARRI";
  if (me.role !== "funder") {
    // Coordinators and admins also see the current month and quarter, still open.
    const period = document.getElementById("period");
    period.append(
      el("option", { value: "month:1:open" }, t("This month (still open)")),
      el("option", { value: "quarter:1:open" }, t("This quarter (still open)")),
    );
  }
  const visible = all ? Object.keys(PARTICIPANTS) : [me.jurisdiction];
  if (all) participant.append(el("option", { value: "" }, t("All six")));
  for (const p of visible) participant.append(el("option", { value: p }, PARTICIPANTS[p] || p));
  document.getElementById("legend").replaceChildren(...legend());
  warning = earlyWarningSection();
  document.getElementById("early-warning-slot").replaceWith(warning.section);
  document.getElementById("whatif").addEventListener("submit", whatIf);
  document.getElementById("allocate").addEventListener("submit", allocate);
  try {
    const codes = await taxonomy();
    codeNames = new Map(codes.map((term) => [term.code, term.name]));
    taxonomyOptions(service, codes);
  } catch {
    // The service filter is optional; the cells still load with their codes.
  }
  form.addEventListener("change", load);
  form.addEventListener("submit", (event) => event.preventDefault());
  more.addEventListener("click", showMore);
  await load();
  document.getElementById("page").dataset.ready = "true";
}

start();
