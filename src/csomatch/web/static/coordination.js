// The coordinator's console: open referrals against their time limits, overdue first
// (GET /api/v1/coordination/referrals); approvals waiting for a second person, approved
// here (POST /api/v1/referrals/{id}/override-approval or /child-sign-off, each with an
// Idempotency-Key); the time-limit table (GET/PUT /api/v1/coordination/time-limits, If-Match);
// the outcome figures of every submitted referral (GET /api/v1/outcomes).

import { dateTime, decimal, plural, t, tParts } from "./i18n.js";
import { api, el, signedIn, taxonomy } from "./session.js";
import { earlyWarningSection, loadEarlyWarnings } from "./earlywarnings.js";

const ROLES = ["coordinator", "admin"];
/** A referral's states in the order a referral goes through them, in words. */
const STATE_NAMES = {
  submitted: t("Submitted"),
  matched: t("Matched"),
  offered: t("Offered"),
  accepted: t("Accepted"),
  declined: t("Declined"),
  expired: t("Offer expired"),
  confirmed: t("Confirmed"),
  in_service: t("In service"),
};
const URGENCY_NAMES = { emergency: t("Emergency"), urgent: t("Urgent"), planned: t("Planned") };
const APPROVAL_KINDS = {
  consent_override: t("Consent override"),
  child_sign_off: t("Child's placement sign-off"),
};
const OVERRIDE_REASONS = {
  child_best_interest: t("the child's best interest"),
  lacks_capacity: t("the person lacks capacity to consent"),
  imminent_danger: t("imminent danger"),
};
const WHY_NOT = {
  own_request: t("You asked for this yourself: a second person must approve it."),
  role: t("Only a coordinator approves this."),
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
  if (minutes < 60) return t("{minutes} min", { minutes });
  if (minutes < 60 * 24) {
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m ? t("{hours} h {minutes} min", { hours: h, minutes: m }) : t("{hours} h", { hours: h });
  }
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  return h
    ? plural(d, {
      one: t("{count} day {hours} h"), few: t("{count} days {hours} h (few)"), other: t("{count} days {hours} h"),
    }, { hours: h })
    : plural(d, { one: t("{count} day"), few: t("{count} days (few)"), other: t("{count} days") });
}

function hours(value) {
  if (value === null || value === undefined) return "—";
  return value < 1
    ? t("{minutes} min", { minutes: Math.round(value * 60) })
    : t("{hours} h", { hours: decimal(value) });
}

function count(value) {
  return value === null || value === undefined ? t("hidden (fewer than 5)") : String(value);
}

function stateName(state) {
  return STATE_NAMES[state] || state;
}

function waitedCell(r) {
  if (r.limit_minutes === null) {
    return el("td", { "data-label": t("Waited") },
      t("{waited} (no limit)", { waited: duration(r.waited_minutes) }));
  }
  const words = r.overdue
    ? t("Overdue by {time}", { time: duration(r.waited_minutes - r.limit_minutes) })
    : t("{time} left", { time: duration(r.limit_minutes - r.waited_minutes) });
  return el("td", { "data-label": t("Waited") },
    el("span", { class: r.overdue ? "badge overdue" : "badge on-time" }, r.overdue ? t("Overdue") : t("On time")),
    " ",
    el("span", { class: "waited" }, t("{waited} of {limit} · {left}",
      { waited: duration(r.waited_minutes), limit: duration(r.limit_minutes), left: words })));
}

function offerCell(r) {
  const parts = [r.had_offer
    ? t("First offer {when}", { when: dateTime(r.first_offer_at) })
    : t("No offer yet")];
  const cell = el("td", { "data-label": t("Offers") }, parts[0]);
  if (r.escalated_at) {
    cell.append(" ", el("span", { class: "badge escalated" }, t("Escalated: no offer in time")));
  }
  return cell;
}

function referralRow(r) {
  const where = r.transnational ? ` (${r.jurisdiction} → ${r.receiving_participant})` : "";
  return el("tr", { class: r.overdue ? "overdue" : "", "data-referral": r.id, "data-overdue": String(r.overdue) },
    el("th", { scope: "row" },
      el("a", { href: `/refer?referral=${r.id}` }, t("Referral {id}", { id: r.id.slice(0, 8) })), where),
    el("td", { "data-label": t("State") }, stateName(r.state)),
    el("td", { "data-label": t("Urgency") },
      el("span", { class: `badge urgency ${r.urgency}` }, URGENCY_NAMES[r.urgency] || r.urgency)),
    waitedCell(r),
    offerCell(r));
}

function drawSummary(data) {
  const items = [el("li", { class: data.overdue ? "overdue-count" : "" },
    ...tParts(t("{count} overdue"), { count: el("strong", {}, String(data.overdue)) }))];
  for (const state of Object.keys(STATE_NAMES)) {
    const n = data.counts[state] || 0;
    if (n) {
      items.push(el("li", { "data-state": state },
        ...tParts(t("{count} {state}"), { count: el("strong", {}, String(n)), state: stateName(state) })));
    }
  }
  $("summary").replaceChildren(...items);
}

async function loadReferrals() {
  const { data } = await api("/api/v1/coordination/referrals");
  drawSummary(data);
  $("console").querySelector("tbody").replaceChildren(...data.referrals.map(referralRow));
  const n = data.referrals.length;
  $("status").textContent = n
    ? plural(n, {
      one: t("{count} open referral; {overdue} overdue."),
      few: t("{count} open referrals; {overdue} overdue. (few)"),
      other: t("{count} open referrals; {overdue} overdue."),
    }, { overdue: data.overdue })
    : t("No open referrals.");
}

async function approve(a, button, note) {
  button.disabled = true;
  note.textContent = t("Approving…");
  try {
    await api(`/api/v1/referrals/${a.referral_id}/${APPROVE_PATHS[a.kind]}`, {
      method: "POST", headers: { "Idempotency-Key": newKey() },
    });
    await loadApprovals();
    $("approvals-status").textContent = t("{kind} approved.", { kind: APPROVAL_KINDS[a.kind] });
  } catch (error) {
    note.textContent = t("Not approved: {error}", { error: error.message });
    button.disabled = false;
  }
}

function approvalCard(a) {
  const note = el("p", { class: "meta", role: "status" });
  const reason = a.reason ? t(" · reason: {reason}", { reason: OVERRIDE_REASONS[a.reason] || a.reason }) : "";
  const card = el("li", { class: "card approval", "data-referral": a.referral_id, "data-kind": a.kind },
    el("h3", {}, APPROVAL_KINDS[a.kind] || a.kind),
    el("p", {}, el("a", { href: `/refer?referral=${a.referral_id}` },
      t("Referral {id}", { id: a.referral_id.slice(0, 8) })),
      ` · ${stateName(a.state)} · ${URGENCY_NAMES[a.urgency] || a.urgency}${reason}`),
    el("p", { class: "meta" }, t("Asked {when}", { when: dateTime(a.requested_at) })));
  if (a.may_approve) {
    const button = el("button", { type: "button", class: "primary approve" }, t("Approve"));
    button.addEventListener("click", () => approve(a, button, note));
    card.append(button);
  } else {
    card.append(el("p", { class: "why-not" }, WHY_NOT[a.why_not] || t("You may not approve this.")));
  }
  card.append(note);
  return card;
}

async function loadApprovals() {
  const { data } = await api("/api/v1/coordination/approvals");
  $("approvals").replaceChildren(...data.approvals.map(approvalCard));
  const n = data.approvals.length;
  $("approvals-status").textContent = n
    ? t("{count} waiting for a second person.", { count: n })
    : t("Nothing waits for approval.");
}

function limitInput(limit) {
  const id = `limit-${limit.state}-${limit.urgency}`;
  const input = el("input", {
    id, type: "number", min: "1", max: "86400", step: "1", inputmode: "numeric",
    value: String(limit.minutes), "data-state": limit.state, "data-urgency": limit.urgency,
    "aria-label": t("{state}, {urgency}: minutes",
      { state: stateName(limit.state), urgency: URGENCY_NAMES[limit.urgency] }),
  });
  input.dataset.saved = String(limit.minutes);
  const words = limit.overridden
    ? t("{time} (default {default})", { time: duration(limit.minutes), default: duration(limit.default_minutes) })
    : t("{time} (default)", { time: duration(limit.minutes) });
  return el("td", { "data-label": URGENCY_NAMES[limit.urgency] },
    input, el("span", { class: "meta limit-words" }, ` ${words}`));
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
      $("limits-status").textContent = t("{field} must be a whole number from 1 to 86400.",
        { field: input.getAttribute("aria-label") });
      input.focus();
      return;
    }
    if (String(minutes) !== input.dataset.saved) {
      changed.push({ state: input.dataset.state, urgency: input.dataset.urgency, minutes });
    }
  }
  if (!changed.length) {
    $("limits-status").textContent = t("Nothing changed.");
    return;
  }
  try {
    await api("/api/v1/coordination/time-limits", {
      method: "PUT", body: { limits: changed }, headers: { "If-Match": limitsEtag },
    });
    $("limits-status").textContent = plural(changed.length, {
      one: t("Saved {count} time limit."), few: t("Saved {count} time limits. (few)"),
      other: t("Saved {count} time limits."),
    });
    await loadLimits();
    await loadReferrals();
  } catch (error) {
    if (error.status === 412) {
      await loadLimits();
      $("limits-status").textContent =
        t("A colleague changed the time limits since you opened them: they are shown again. Make your change again and save.");
    } else {
      $("limits-status").textContent = t("Not saved: {error}", { error: error.message });
    }
  }
}

function outcomeRow(c) {
  const d = c.time_to_first_offer;
  return el("tr", {},
    el("th", { scope: "row" }, `${c.participant} · ${URGENCY_NAMES[c.urgency] || c.urgency}`),
    el("td", { "data-label": t("Submitted") }, count(c.submitted)),
    el("td", { "data-label": t("Placed") }, count(c.placed)),
    el("td", { "data-label": t("Still open") }, count(c.still_open)),
    el("td", { "data-label": t("Closed, not placed") }, count(c.closed_unplaced)),
    el("td", { "data-label": t("Cancelled") }, count(c.cancelled)),
    el("td", { "data-label": t("Never offered") }, count(c.never_offered)),
    el("td", { "data-label": t("Time to first offer") },
      d.n ? t("median {median}, 90% within {p90} ({count} offered)",
        { median: hours(d.median_hours), p90: hours(d.p90_hours), count: d.n }) : "—"));
}

async function loadOutcomes() {
  const { data } = await api("/api/v1/outcomes");
  const total = data.submitted_total;
  const figures = [
    [t("Submitted"), count(total.submitted)], [t("Placed"), count(total.placed)],
    [t("Still open"), count(total.still_open)], [t("Closed, not placed"), count(total.closed_unplaced)],
    [t("Cancelled"), count(total.cancelled)], [t("Never offered"), count(total.never_offered)],
    [t("Time to first offer (median)"), hours(total.time_to_first_offer.median_hours)],
    [t("Time to first offer (90%)"), hours(total.time_to_first_offer.p90_hours)],
  ];
  $("outcomes-total").replaceChildren(...figures.flatMap(([label, value]) =>
    [el("dt", {}, label), el("dd", {}, value)]));
  $("outcomes").querySelector("tbody").replaceChildren(...data.submitted.map(outcomeRow));
  $("outcomes-status").textContent = "";
}

/** Load one part of the console; its failure is told in its own status line (``message``). */
async function part(load, status, message) {
  try {
    await load();
  } catch (error) {
    $(status).textContent = message.replace("{error}", error.message);
  }
}

async function loadAll() {
  $("status").textContent = t("Loading…");
  await Promise.all([
    part(loadReferrals, "status", t("Could not read the referrals: {error}")),
    part(loadApprovals, "approvals-status", t("Could not read the approvals: {error}")),
    part(loadLimits, "limits-status", t("Could not read the time limits: {error}")),
    part(loadOutcomes, "outcomes-status", t("Could not read the outcome figures: {error}")),
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
