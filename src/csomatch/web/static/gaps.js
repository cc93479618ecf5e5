// Gaps: the gap analysis for funders (GET /api/v1/gaps), most severe cells first.
// Every figure is an aggregate; a count the API suppressed is shown as hidden, never guessed.

import {
  PARTICIPANTS, api, areaNames, el, signedIn, taxonomy, taxonomyOptions,
} from "./session.js";

const FLAGS = {
  uncovered: "Uncovered",
  under_capacity: "Under capacity",
  underfunded: "Underfunded",
  funding_cliff: "Funding cliff",
  single_donor: "Single-donor dependent",
  stale_data: "Stale capacity data",
};
const PAGE = 25;

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
      ? `All of ${PARTICIPANTS[cell.participant_code] || cell.participant_code}`
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

async function load() {
  const ticket = ++asked;
  // "closed": periods that are over (all a funder may see); "open": up to the current one.
  const [granularity, periods, which] = document.getElementById("period").value.split(":");
  const params = new URLSearchParams({
    granularity,
    periods,
    closed: which === "closed" ? "true" : "false",
    min_severity: document.getElementById("severity").value,
  });
  if (participant.value) params.set("participant", participant.value);
  if (service.value) params.set("service", service.value);
  const flag = document.getElementById("flag").value;
  if (flag) params.set("flag", flag);
  if (document.getElementById("whole").checked) params.set("area", "ALL");
  status.textContent = "Loading…";
  try {
    const { data } = await api(`/api/v1/gaps?${params}`);
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
