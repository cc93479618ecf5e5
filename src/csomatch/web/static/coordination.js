// The coordinator's console: open referrals against their time limits, overdue first
// (GET /api/v1/coordination/referrals); approvals waiting for a second person, approved
// here (POST /api/v1/referrals/{id}/override-approval or /child-sign-off, each with an
// Idempotency-Key); the time-limit table (GET/PUT /api/v1/coordination/time-limits, If-Match);
// the outcome figures of every submitted referral (GET /api/v1/outcomes).

import { api, el, signedIn, taxonomy } from "./session.js";
import { earlyWarningSection, loadEarlyWarnings } from "./earlywarnings.js";

const ROLES = ["coordinator", "admin"];
/** A referral's states in the order a referral goes through them, in words. */
const STATE_NAMES = {
  submitted: "Submitted",
  matched: "Matched",
  offered: "Offered",
  accepted: "Accepted",
  declined: "Declined",
  expired: "Offer expired",
  confirmed: "Confirmed",
  in_service: "In service",
};
const URGENCY_NAMES = { emergency: "Emergency", urgent: "Urgent", planned: "Planned" };
const APPROVAL_KINDS = {
  consent_override: "Consent override",
  child_sign_off: "Child's placement sign-off",
};
const OVERRIDE_REASONS = {
  child_best_interest: "the child's best interest",
  lacks_capacity: "the person lacks capacity to consent",
  imminent_danger: "imminent danger",
};
const WHY_NOT = {
  own_request: "You asked for this yourself: a second person must approve it.",
  role: "Only a coordinator approves this.",
};
const APPROVE_PATHS = {
  consent_override: "override-approval",
  child_sign_off: "child-sign-off",
};

const $ = (id) => document.getElementById(id);
let limitsEtag = null;

/** A random Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Minutes in words: "45 min", "5 h 10 min", "2 days 3 h". */
export function duration(minutes) {
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 60 * 24) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m ? `${h} h ${m} min` : `${h} h`;
  }
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  return `${d} day${d === 1 ? "" : "s"}${h ? ` ${h} h` : ""}`;
}

function hours(value) {
  if (value === null || value === undefined) return "—";
  return value < 1 ? `${Math.round(value * 60)} min` : `${value.toFixed(1)} h`;
}

function count(value) {
  return value === null || value === undefined ? "hidden (fewer than 5)" : String(value);
}

function stateName(state) {
  return STATE_NAMES[state] || state;
}

function waitedCell(r) {
  if (r.limit_minutes === null) {
    return el("td", { "data-label": "Waited" }, `${duration(r.waited_minutes)} (no limit)`);
  }
  const words = r.overdue
    ? `Overdue by ${duration(r.waited_minutes - r.limit_minutes)}`
    : `${duration(r.limit_minutes - r.waited_minutes)} left`;
  return el("td", { "data-label": "Waited" },
    el("span", { class: r.overdue ? "badge overdue" : "badge on-time" }, r.overdue ? "Overdue" : "On time"),
    " ",
    el("span", { class: "waited" }, `${duration(r.waited_minutes)} of ${duration(r.limit_minutes)} · ${words}`));
}

function offerCell(r) {
  const parts = [r.had_offer
    ? `First offer ${new Date(r.first_offer_at).toLocaleString()}`
    : "No offer yet"];
  const cell = el("td", { "data-label": "Offers" }, parts[0]);
  if (r.escalated_at) {
    cell.append(" ", el("span", { class: "badge escalated" }, "Escalated: no offer in time"));
  }
  return cell;
}

function referralRow(r) {
  const where = r.transnational ? ` (${r.jurisdiction} → ${r.receiving_participant})` : "";
  return el("tr", { class: r.overdue ? "overdue" : "", "data-referral": r.id, "data-overdue": String(r.overdue) },
    el("th", { scope: "row" },
      el("a", { href: `/refer?referral=${r.id}` }, `Referral ${r.id.slice(0, 8)}`), where),
    el("td", { "data-label": "State" }, stateName(r.state)),
    el("td", { "data-label": "Urgency" },
      el("span", { class: `badge urgency ${r.urgency}` }, URGENCY_NAMES[r.urgency] || r.urgency)),
    waitedCell(r),
    offerCell(r));
}

function drawSummary(data) {
  const items = [el("li", { class: data.overdue ? "overdue-count" : "" },
    el("strong", {}, String(data.overdue)), " overdue")];
  for (const state of Object.keys(STATE_NAMES)) {
    const n = data.counts[state] || 0;
    if (n) items.push(el("li", { "data-state": state }, el("strong", {}, String(n)), ` ${stateName(state)}`));
  }
  $("summary").replaceChildren(...items);
}

async function loadReferrals() {
  const { data } = await api("/api/v1/coordination/referrals");
  drawSummary(data);
  $("console").querySelector("tbody").replaceChildren(...data.referrals.map(referralRow));
  const n = data.referrals.length;
  $("status").textContent = n
    ? `${n} open referral${n === 1 ? "" : "s"}; ${data.overdue} overdue.`
    : "No open referrals.";
}

async function approve(a, button, note) {
  button.disabled = true;
  note.textContent = "Approving…";
  try {
    await api(`/api/v1/referrals/${a.referral_id}/${APPROVE_PATHS[a.kind]}`, {
      method: "POST", headers: { "Idempotency-Key": newKey() },
    });
    await loadApprovals();
    $("approvals-status").textContent = `${APPROVAL_KINDS[a.kind]} approved.`;
  } catch (error) {
    note.textContent = `Not approved: ${error.message}`;
    button.disabled = false;
  }
}

function approvalCard(a) {
  const note = el("p", { class: "meta", role: "status" });
  const reason = a.reason ? ` · reason: ${OVERRIDE_REASONS[a.reason] || a.reason}` : "";
  const card = el("li", { class: "card approval", "data-referral": a.referral_id, "data-kind": a.kind },
    el("h3", {}, APPROVAL_KINDS[a.kind] || a.kind),
    el("p", {}, el("a", { href: `/refer?referral=${a.referral_id}` }, `Referral ${a.referral_id.slice(0, 8)}`),
      ` · ${stateName(a.state)} · ${URGENCY_NAMES[a.urgency] || a.urgency}${reason}`),
    el("p", { class: "meta" }, `Asked ${new Date(a.requested_at).toLocaleString()}`));
  if (a.may_approve) {
    const button = el("button", { type: "button", class: "primary approve" }, "Approve");
    button.addEventListener("click", () => approve(a, button, note));
    card.append(button);
  } else {
    card.append(el("p", { class: "why-not" }, WHY_NOT[a.why_not] || "You may not approve this."));
  }
  card.append(note);
  return card;
}

async function loadApprovals() {
  const { data } = await api("/api/v1/coordination/approvals");
  $("approvals").replaceChildren(...data.approvals.map(approvalCard));
  const n = data.approvals.length;
  $("approvals-status").textContent = n
    ? `${n} waiting for a second person.`
    : "Nothing waits for approval.";
}

function limitInput(limit) {
  const id = `limit-${limit.state}-${limit.urgency}`;
  const input = el("input", {
    id, type: "number", min: "1", max: "86400", step: "1", inputmode: "numeric",
    value: String(limit.minutes), "data-state": limit.state, "data-urgency": limit.urgency,
    "aria-label": `${stateName(limit.state)}, ${URGENCY_NAMES[limit.urgency]}: minutes`,
  });
  input.dataset.saved = String(limit.minutes);
  const hint = limit.overridden ? `default ${duration(limit.default_minutes)}` : "default";
  return el("td", { "data-label": URGENCY_NAMES[limit.urgency] },
    input, el("span", { class: "meta limit-words" }, ` ${duration(limit.minutes)} (${hint})`));
}

async function loadLimits() {
  const { data, etag } = await api("/api/v1/coordination/time-limits");
  limitsEtag = etag;
  const byState = new Map();
  for (const limit of data.limits) {
    if (!byState.has(limit.state)) byState.set(limit.state, {});
    byState.get(limit.state)[limit.urgency] = limit;
  }
  const rows = Object.keys(STATE_NAMES).filter((s) => byState.has(s)).map((state) =>
    el("tr", {}, el("th", { scope: "row" }, stateName(state)),
      ...Object.keys(URGENCY_NAMES).map((u) => limitInput(byState.get(state)[u]))));
  $("limits").querySelector("tbody").replaceChildren(...rows);
}

async function saveLimits(event) {
  event.preventDefault();
  const changed = [];
  for (const input of $("limits").querySelectorAll("input")) {
    const minutes = Number(input.value);
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 86400) {
      $("limits-status").textContent = `${input.getAttribute("aria-label")} must be a whole number from 1 to 86400.`;
      input.focus();
      return;
    }
    if (String(minutes) !== input.dataset.saved) {
      changed.push({ state: input.dataset.state, urgency: input.dataset.urgency, minutes });
    }
  }
  if (!changed.length) {
    $("limits-status").textContent = "Nothing changed.";
    return;
  }
  try {
    await api("/api/v1/coordination/time-limits", {
      method: "PUT", body: { limits: changed }, headers: { "If-Match": limitsEtag },
    });
    $("limits-status").textContent = `Saved ${changed.length} time limit${changed.length === 1 ? "" : "s"}.`;
    await loadLimits();
    await loadReferrals();
  } catch (error) {
    if (error.status === 412) {
      await loadLimits();
      $("limits-status").textContent =
        "A colleague changed the time limits since you opened them: they are shown again. Make your change again and save.";
    } else {
      $("limits-status").textContent = `Not saved: ${error.message}`;
    }
  }
}

function outcomeRow(c) {
  const d = c.time_to_first_offer;
  return el("tr", {},
    el("th", { scope: "row" }, `${c.participant} · ${URGENCY_NAMES[c.urgency] || c.urgency}`),
    el("td", { "data-label": "Submitted" }, count(c.submitted)),
    el("td", { "data-label": "Placed" }, count(c.placed)),
    el("td", { "data-label": "Still open" }, count(c.still_open)),
    el("td", { "data-label": "Closed, not placed" }, count(c.closed_unplaced)),
    el("td", { "data-label": "Cancelled" }, count(c.cancelled)),
    el("td", { "data-label": "Never offered" }, count(c.never_offered)),
    el("td", { "data-label": "Time to first offer" },
      d.n ? `median ${hours(d.median_hours)}, 90% within ${hours(d.p90_hours)} (${d.n} offered)` : "—"));
}

async function loadOutcomes() {
  const { data } = await api("/api/v1/outcomes");
  const t = data.submitted_total;
  const figures = [
    ["Submitted", count(t.submitted)], ["Placed", count(t.placed)],
    ["Still open", count(t.still_open)], ["Closed, not placed", count(t.closed_unplaced)],
    ["Cancelled", count(t.cancelled)], ["Never offered", count(t.never_offered)],
    ["Time to first offer (median)", hours(t.time_to_first_offer.median_hours)],
    ["Time to first offer (90%)", hours(t.time_to_first_offer.p90_hours)],
  ];
  $("outcomes-total").replaceChildren(...figures.flatMap(([label, value]) =>
    [el("dt", {}, label), el("dd", {}, value)]));
  $("outcomes").querySelector("tbody").replaceChildren(...data.submitted.map(outcomeRow));
  $("outcomes-status").textContent = "";
}

async function part(load, status, what) {
  try {
    await load();
  } catch (error) {
    $(status).textContent = `Could not read ${what}: ${error.message}`;
  }
}

async function loadAll() {
  $("status").textContent = "Loading…";
  await Promise.all([
    part(loadReferrals, "status", "the referrals"),
    part(loadApprovals, "approvals-status", "the approvals"),
    part(loadLimits, "limits-status", "the time limits"),
    part(loadOutcomes, "outcomes-status", "the outcome figures"),
    loadWarnings(),
  ]);
  $("page").dataset.ready = "true";
}

let warning = null;
let codeNames = new Map();

async function loadWarnings() {
  try {
    await loadEarlyWarnings(warning, {}, { codeNames });
  } catch (error) {
    warning.status.textContent = error.message;
  }
}

async function start() {
  const me = await signedIn(ROLES);
  if (!me) return;
  warning = earlyWarningSection();
  $("early-warning-slot").replaceWith(warning.section);
  try {
    codeNames = new Map((await taxonomy()).map((term) => [term.code, term.name]));
  } catch {
    // The codes stand for their names.
  }
  $("refresh").addEventListener("click", loadAll);
  $("limits-form").addEventListener("submit", saveLimits);
  await loadAll();
}

start();
