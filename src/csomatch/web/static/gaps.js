// Gaps: the gap analysis for funders (GET /api/v1/gaps): a map of the towns (gapsmap.js),
// charts of the money (gapscharts.js), and the cells, most severe first.
// Every figure is an aggregate; a count the API suppressed is shown as hidden, never guessed.

import {
  PARTICIPANTS, api, areaNames, el, signedIn, taxonomy, taxonomyOptions,
} from "./session.js";
import { drawMap, legend, participantName, unmetText } from "./gapsmap.js";
import { earlyWarningSection, loadEarlyWarnings } from "./earlywarnings.js";
import {
  allocationRows, barChart, cliffRows, donorRows, fundersOf, whatIfCharts,
} from "./gapscharts.js";

const FLAGS = {
  uncovered: "Uncovered",
  under_capacity: "Under capacity",
  underfunded: "Underfunded",
  funding_cliff: "Funding cliff",
  single_donor: "Single-donor dependent",
  stale_data: "Stale capacity data",
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
    return cell.suppressed.includes(name) ? "hidden (small count)" : "—";
  }
  return String(value);
}

const percent = (x) => (x === null || x === undefined ? "—" : `${Math.round(x * 100)} %`);

function fact(term, value) {
  return [el("dt", {}, term), el("dd", {}, value)];
}

function card(cell) {
  const where =
    cell.area_code === "ALL"
      ? `All of ${participantName(cell.participant_code)}`
      : cell.area_code === "UNKNOWN"
        ? `${cell.participant_code}, area not known`
        : `${placeNames.get(cell.area_code) || cell.area_code} (${cell.participant_code})`;
  const flags = el(
    "ul",
    { class: "flags" },
    ...cell.flags.map((f) =>
      el("li", {}, el("strong", {}, FLAGS[f.code] || f.code), `: ${f.why}`),
    ),
  );
  const funding = cell.funded_through
    ? `${percent(cell.funding_coverage)} of places funded, until ${cell.funded_through}` +
      (cell.runway_days !== null ? ` (${cell.runway_days} days)` : "")
    : `${percent(cell.funding_coverage)} of places funded`;
  const donors = cell.funders
    .slice(0, 3)
    .map((f) => `${f.name} ${Math.round(f.share * 100)} %`)
    .join("; ");
  const rows = [
    fact("Demand", `${count(cell, "needs")} needs, ${count(cell, "unmet")} unmet, ` +
      `${count(cell, "declines")} declined for no capacity, ${count(cell, "searches")} empty searches`),
    fact("Capacity", `${cell.capacity} places in ${cell.services} services, ` +
      `${cell.free === null ? "free unknown" : `${cell.free} free`}` +
      (cell.stale_services ? ` (${cell.stale_services} not reported recently)` : "")),
    fact("Funding", funding),
  ];
  if (donors) rows.push(fact("Main funders", donors));
  if (cell.survivor_led_capacity_share !== null && cell.survivor_led_capacity_share !== undefined) {
    rows.push(fact("Survivor-led", `${percent(cell.survivor_led_capacity_share)} of places, ` +
      `${percent(cell.survivor_led_funding_share)} of funded places`));
  }
  return el(
    "li",
    { class: `card gap sev-${cell.severity}`, "data-cell": cell.key },
    el("h3", {}, `${codeNames.get(cell.taxonomy_code) || cell.taxonomy_code} · ${where}`),
    el("p", { class: "meta" },
      el("span", { class: `badge severity sev-${cell.severity}` }, `Severity ${cell.severity}`),
      ` ${cell.period}`),
    cell.sentence ? el("p", { class: "why" }, cell.sentence) : "",
    cell.flags.length ? flags : el("p", {}, "No flag raised."),
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
    `${town.name} (${participantName(town.participant)})`;
  document.getElementById("town-summary").textContent =
    `Most severe: ${town.severity}; ${unmetText(town)}; ` +
    `${town.cells.length} cell${town.cells.length === 1 ? "" : "s"}.`;
  const list = document.getElementById("town-cells");
  list.replaceChildren(...town.cells.slice(0, TOWN_CARDS).map(card));
  const all = document.getElementById("town-all");
  all.hidden = town.cells.length <= TOWN_CARDS;
  all.textContent = `Show all ${town.cells.length} cells of ${town.name}`;
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
      ? `${drawn} town${drawn === 1 ? "" : "s"} with cells at this severity.`
      : "No town has a cell at this severity.";
  } catch (error) {
    if (ticket === asked) note.textContent = `Could not draw the map: ${error.message}`;
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
      barChart("Funding cliffs: places whose funding ends, by month", cliffRows(chartCells), {
        id: "chart-cliffs", empty: "No funding ends within the funded periods shown.",
      }),
      barChart("Donor concentration: each funder's share of the funded places",
        donorRows(chartCells), { id: "chart-donors", empty: "No funded places." }),
    );
    const choice = document.getElementById("whatif-funder");
    choice.replaceChildren(...fundersOf(chartCells).map((f) => el("option", { value: f.ref }, f.name)));
  } catch (error) {
    if (ticket === asked) charts.replaceChildren(el("p", { class: "hint" }, `Could not draw the charts: ${error.message}`));
  }
}

async function whatIf(event) {
  event.preventDefault();
  const ref = document.getElementById("whatif-funder").value;
  const note = document.getElementById("whatif-status");
  if (!ref) return;
  note.textContent = "Re-placing the year's demand…";
  const body = { remove_funder: ref };
  if (participant.value) body.participant = participant.value;
  try {
    const { data } = await api("/api/v1/gaps/what-if", { method: "POST", body });
    const name = document.getElementById("whatif-funder").selectedOptions[0].textContent;
    document.getElementById("whatif-result").replaceChildren(
      el("h3", {}, `Without ${name}: the last 12 months of needs, re-placed`),
      el("div", { id: "chart-whatif", class: "charts" }, ...whatIfCharts(data)),
    );
    note.textContent = `Unmet needs change by ${data.unmet_change}; ` +
      `${data.areas_left_without_provider.length} town and service pairs left without a provider.`;
  } catch (error) {
    note.textContent = `Could not run the what-if: ${error.message}`;
  }
}

async function allocate(event) {
  event.preventDefault();
  const budget = Number(document.getElementById("allocate-budget").value);
  const note = document.getElementById("allocate-status");
  if (!Number.isInteger(budget) || budget < 1) {
    note.textContent = "Give the budget as a whole number of euros.";
    return;
  }
  note.textContent = "Looking for the allocation that covers the most severe unmet needs…";
  const body = { budget, currency: "EUR", time_limit_s: 5 };
  if (participant.value) body.participant = participant.value;
  try {
    const { data } = await api("/api/v1/gaps/allocate", { method: "POST", body });
    const names = await areaNames(data.purchases.map((p) => p.area_code));
    document.getElementById("allocate-result").replaceChildren(
      barChart(`Where ${data.budget.toLocaleString("en")} ${data.currency} would go`,
        allocationRows(data, names),
        { id: "chart-allocation", empty: "No purchase proposed (no unit cost known, or no unmet need)." }),
    );
    note.textContent = `Spends ${data.spent.toLocaleString("en")} ${data.currency}; ` +
      `covers ${data.covered} of ${data.unmet_before} needs that found no place ` +
      `(${data.status === "optimal" ? "best possible" : "good, not proven best"}).`;
  } catch (error) {
    note.textContent = `Could not propose an allocation: ${error.message}`;
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
  status.textContent = "Loading…";
  try {
    const { data } = await api(`/api/v1/gaps?${query()}`);
    placeNames = await areaNames(data.cells.map((cell) => cell.area_code));
    if (ticket !== asked) return;
    cells = data.cells;
    shown = 0;
    list.replaceChildren();
    showMore();
    status.textContent = data.total
      ? `${data.total} cell${data.total === 1 ? "" : "s"}, most severe first`
      : "No cell matches: no gap at this severity.";
  } catch (error) {
    if (ticket === asked) status.textContent = `Could not load the gaps: ${error.message}`;
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
      el("option", { value: "month:1:open" }, "This month (still open)"),
      el("option", { value: "quarter:1:open" }, "This quarter (still open)"),
    );
  }
  const visible = all ? Object.keys(PARTICIPANTS) : [me.jurisdiction];
  if (all) participant.append(el("option", { value: "" }, "All six"));
  for (const p of visible) participant.append(el("option", { value: p }, PARTICIPANTS[p] || p));
  document.getElementById("legend").replaceChildren(...legend());
  warning = earlyWarningSection();
  document.getElementById("early-warning-slot").replaceWith(warning.section);
  document.getElementById("whatif").addEventListener("submit", whatIf);
  document.getElementById("allocate").addEventListener("submit", allocate);
  try {
    const codes = await taxonomy();
    codeNames = new Map(codes.map((t) => [t.code, t.name]));
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
