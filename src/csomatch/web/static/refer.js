// Make a referral: the needs (never who the person is), submitted; the matcher's suggestions
// per need; book the plan (a place for every need, all or nothing) or hold one place; follow
// the referral to its end (follow.js). Every POST carries an Idempotency-Key that is kept for
// a retry after a lost connection, so pressing a button twice never acts twice.

import { decimal, plural, pluralForm, t, tParts } from "./i18n.js";
import { LANGUAGES } from "./languages.js";
import { OPEN_FOR_OFFER, follower, newKey, when } from "./follow.js";
import { OFFER_STATUS, REASONS, TERMS } from "./referwords.js";
import { startSurge } from "./surge.js";
import {
  PARTICIPANTS,
  ago,
  api,
  areaLabel,
  areaPicker,
  el,
  fieldError,
  signedIn,
  taxonomy,
} from "./session.js";

const ROLES = ["officer", "coordinator", "admin"];
const PRIORITY = { must: t("must"), should: t("should") };
/** Services whose purpose depends on nationality: only then is it asked (and sent). */
const NATIONALITY_CODES = new Set(["RET.VOLUNTARY", "DOC.ID"]);
const CHILD_BANDS = ["0-5", "6-13", "14-17"];
const MAX_CHILDREN = 10; // the API's limit: a larger family would single the person out
const SKEW_MS = 5 * 60 * 1000; // the API's clock-skew tolerance for needed_by
const YEAR_MS = 366 * 24 * 3600 * 1000; // needed_by at most a year ahead
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;


const $ = (id) => document.getElementById(id);
const form = $("referral");
const needRows = $("needs");
const areaInput = $("area");
const areaOptions = $("area-options");
const excludedInput = $("excluded");
const excludedList = $("excluded-list");
const receiving = $("receiving");
const status = $("status");
const results = $("needs-results");
const formError = $("form-error");
const send = $("send");

let me = null;
let terms = [];
let codeNames = new Map();
const serviceNames = new Map(); // service id -> t("Service · Organisation"), from suggestions
const towns = areaPicker(areaOptions);
const excluded = new Map(); // area code -> label
let consentAt = null; // when the consent box was ticked
let marked = []; // elements showing a field error
let needCount = 0;
let planKey = null; // the plan's Idempotency-Key, kept for a retry after a lost connection

/** The referral being made: its keys survive a lost connection, and a changed form starts anew. */
let flow = fresh("");

function fresh(text) {
  return { text, id: null, state: null, createKey: newKey(), submitKey: newKey(), matchKey: newKey() };
}


// ---- The form ----------------------------------------------------------------------------

function addNeed(code = "", priority = "must") {
  needCount += 1;
  const n = needCount;
  const codeSelect = el("select", { id: `need-code-${n}`, class: "need-code" },
    el("option", { value: "" }, t("Choose a service…")));
  const groups = new Map();
  for (const term of terms) {
    if (!groups.has(term.group)) {
      groups.set(term.group, el("optgroup", { label: term.group_name }));
      codeSelect.append(groups.get(term.group));
    }
    groups.get(term.group).append(el("option", { value: term.code }, term.name));
  }
  codeSelect.value = code;
  const prioritySelect = el("select", { id: `need-priority-${n}`, class: "need-priority" },
    el("option", { value: "must" }, t("Must")),
    el("option", { value: "should" }, t("Should")));
  prioritySelect.value = priority;
  const remove = el("button", { type: "button", class: "secondary remove" }, t("Remove"));
  const row = el("li", { class: "need-row" },
    el("div", { class: "field grow" }, el("label", { for: codeSelect.id }, t("Service")), codeSelect),
    el("div", { class: "field" },
      el("label", { for: prioritySelect.id }, t("Must or should")), prioritySelect),
    remove);
  remove.addEventListener("click", () => {
    row.remove();
    drawNeedRows();
    const first = needRows.querySelector(".need-code");
    if (first) first.focus();
  });
  codeSelect.addEventListener("change", () => {
    fieldError(codeSelect, "");
    drawNeedRows();
  });
  needRows.append(row);
  drawNeedRows();
  return codeSelect;
}

/** One need cannot be removed; nationality is asked only for return or documents. */
function drawNeedRows() {
  const rows = needRows.querySelectorAll(".need-row");
  rows.forEach((row, i) => {
    row.querySelector("label").textContent = rows.length > 1
      ? t("Service {number}", { number: i + 1 }) : t("Service");
    const remove = row.querySelector(".remove");
    remove.hidden = rows.length < 2;
    const select = row.querySelector(".need-code");
    const name = select.value ? select.selectedOptions[0].textContent : "";
    remove.setAttribute("aria-label", name
      ? t("Remove service {number}: {service}", { number: i + 1, service: name })
      : t("Remove service {number}", { number: i + 1 }));
  });
  const codes = [...needRows.querySelectorAll(".need-code")].map((s) => s.value);
  $("nationality-field").hidden = !codes.some((c) => NATIONALITY_CODES.has(c));
}

for (const input of [areaInput, excludedInput]) {
  towns.watch(input, () => {
    fieldError(input, "");
    if (input === areaInput) $("area-note").textContent = "";
  });
}

/** The area typed or picked in ``input``, or null with the reason shown at the field. */
async function lookUp(input, emptyMessage) {
  const typed = input.value.trim();
  if (!typed) {
    if (emptyMessage) mark(input, emptyMessage);
    return null;
  }
  const area = await towns.find(typed);
  if (!area) {
    mark(input, t("No town or municipality called “{typed}”. Pick one from the list.", { typed }));
    return null;
  }
  return area;
}

function drawExcluded() {
  excludedList.replaceChildren(...[...excluded].map(([code, label]) => {
    const remove = el("button", { type: "button", class: "link",
      "aria-label": t("Remove {place}", { place: label }) }, t("Remove"));
    remove.addEventListener("click", () => {
      excluded.delete(code);
      drawExcluded();
      excludedInput.focus();
    });
    return el("li", { class: "tag", "data-area": code }, `${label} `, remove);
  }));
}

$("add-excluded").addEventListener("click", async () => {
  fieldError(excludedInput, "");
  try {
    const area = await lookUp(excludedInput, t("Type a town or municipality to keep away from."));
    if (!area) return;
    excluded.set(area.code, areaLabel(area));
    excludedInput.value = "";
    drawExcluded();
  } catch (error) {
    mark(excludedInput, error.message);
  }
});

$("add-need").addEventListener("click", () => addNeed().focus());

/** A child's referral: under 18, or age not established (presumed a child). */
function isChild() {
  return CHILD_BANDS.includes($("age-band").value) || $("age-uncertain").checked;
}
function showChild() {
  $("child-set").hidden = !isChild();
}
$("age-band").addEventListener("change", showChild);
$("age-uncertain").addEventListener("change", showChild);
$("consent-given").addEventListener("change", (event) => {
  consentAt = event.target.checked ? new Date() : null;
  fieldError($("consent-given-row"), "");
});

function mark(input, message) {
  if (input.closest("details")) input.closest("details").open = true;
  fieldError(input, message);
  marked.push(input);
}

/** The control to put the focus on for a marked field (a row or a group: its first input). */
function focusable(target) {
  if (target.matches("input, select, button")) return target;
  return target.querySelector("input:not([disabled]), select") || target;
}

function clearMarks() {
  for (const input of marked) fieldError(input, "");
  marked = [];
  formError.hidden = true;
  formError.textContent = "";
}

function count(id, low, high) {
  const value = Number.parseInt($(id).value || String(low), 10);
  if (!Number.isInteger(value) || value < low || value > high) {
    mark($(id), t("Give a whole number from {low} to {high}.", { low, high }));
    return null;
  }
  return value;
}

/** The body of POST /api/v1/referrals, or null with every problem shown at its field. */
async function build() {
  const body = {};
  const rows = [...needRows.querySelectorAll(".need-row")];
  body.needs = rows.map((row) => ({
    code: row.querySelector(".need-code").value,
    priority: row.querySelector(".need-priority").value,
  }));
  const blank = rows.filter((row) => !row.querySelector(".need-code").value);
  for (const row of blank) {
    const message = blank.length === rows.length
      ? t("Choose at least one service the person needs.")
      : t("Choose a service here, or remove this line.");
    mark(row.querySelector(".need-code"), message);
  }
  body.urgency = $("urgency").value;
  body.risk_level = $("risk").value;
  body.age_band = $("age-band").value;
  if (!body.age_band) mark($("age-band"), t("Choose the age band (a guess is fine; tick “Age not established” if unsure)."));
  body.age_uncertain = $("age-uncertain").checked;
  if (isChild()) {
    body.accompanied = $("accompanied").checked;
    if ($("guardian-status").value) body.guardian_status = $("guardian-status").value;
    else mark($("guardian-status"), t("Say whether a guardian is appointed, requested or none."));
  }
  body.gender = $("gender").value;
  if (!body.gender) mark($("gender"), t("Choose the gender for placement."));
  const languages = [$("language").value, $("language-2").value].filter(Boolean);
  body.languages = [...new Set(languages)];
  if (!$("language").value) mark($("language"), t("Choose the language the person speaks."));
  body.interpreter_needed = $("interpreter").checked;
  body.group_adults = count("adults", 1, 20);
  body.group_children_age_bands = [];
  for (const band of CHILD_BANDS) {
    const n = count(`children-${band}`, 0, MAX_CHILDREN);
    for (let i = 0; i < (n || 0); i += 1) body.group_children_age_bands.push(band);
  }
  if (body.group_children_age_bands.length > MAX_CHILDREN) {
    mark($("children-0-5"), t("At most {count} children in one referral: refer the others in a second one.",
      { count: MAX_CHILDREN }));
  }
  body.excluded_areas = [...excluded.keys()];
  const km = Number($("min-distance").value || "0");
  if (!(Number.isInteger(km) && km >= 0 && km <= 1000)) {
    mark($("min-distance"), t("Give whole kilometres, from 0 to 1000."));
  }
  body.min_distance_km = km;
  const accessibility = [...$("access-set").querySelectorAll("input:checked")];
  body.accessibility = accessibility.map((box) => box.value);
  if ($("needed-by").value) {
    const when = new Date($("needed-by").value);
    const ahead = when.getTime() - Date.now();
    if (Number.isNaN(ahead)) mark($("needed-by"), t("Give a date and time, or leave it empty."));
    else if (ahead < -SKEW_MS) mark($("needed-by"), t("Give a time from now on, or leave it empty."));
    else if (ahead > YEAR_MS) mark($("needed-by"), t("Give a time within the next year."));
    else body.needed_by = when.toISOString();
  }
  if (!$("consent-given").checked) {
    mark($("consent-given-row"),
      t("Ask for the person's consent first: a referral is submitted with it. " +
      "(Proceeding without consent needs a coordinator's approval.)"));
  }
  const scope = ["referral"];
  if ($("scope-data").checked) scope.push("data_sharing");
  if ($("scope-cross").checked) scope.push("cross_border");
  body.consent = {
    given: $("consent-given").checked,
    method: $("consent-method").value,
    scope,
    at: (consentAt || new Date()).toISOString(),
  };
  if (!$("nationality-field").hidden && $("nationality").value.trim()) {
    body.nationality = $("nationality").value.trim().toUpperCase();
  }
  let area = null;
  try {
    area = await lookUp(areaInput, t("Type the town or municipality where the person is now."));
  } catch (error) {
    mark(areaInput, error.message);
  }
  if (area) {
    body.current_area = area.code;
    $("area-note").textContent = t("Now in {place}", { place: areaLabel(area) });
  }
  // A MARRI-wide token refers on behalf of the participant where the person is.
  body.jurisdiction = PARTICIPANTS[me.jurisdiction] ? me.jurisdiction : area?.participant;
  const to = receiving.value || body.jurisdiction;
  if (to && to !== body.jurisdiction) {
    body.receiving_participant = to;
    if (!$("scope-cross").checked) {
      mark($("consent-scope"), t("A referral to another country needs consent to a referral across a border."));
    }
  }
  return marked.length ? null : body;
}

/**
 * The form control an API problem names: a JSON path (``$.needs[0].code``,
 * ``$.current_area``) from a domain check, or a bare key (``needs``) from body validation.
 */
function fieldFor(path) {
  const m = /^(?:\$\.)?([a-z_]+)(?:\[(\d+)\])?(?:\.([a-z_]+))?/.exec(path || "");
  if (!m) return null;
  const [, name, index, sub] = m;
  const i = index === undefined ? 0 : Number(index);
  switch (name) {
    case "needs": {
      const row = needRows.querySelectorAll(".need-row")[i] || needRows.querySelector(".need-row");
      return row && row.querySelector(sub === "priority" ? ".need-priority" : ".need-code");
    }
    case "urgency": return $("urgency");
    case "risk_level": return $("risk");
    case "age_band": return $("age-band");
    case "age_uncertain": return $("age-uncertain");
    case "accompanied": return $("accompanied");
    case "guardian_status": return $("guardian-status");
    case "gender": return $("gender");
    case "languages": return i === 1 ? $("language-2") : $("language");
    case "interpreter_needed": return $("interpreter");
    case "current_area": return areaInput;
    case "excluded_areas": return excludedInput;
    case "preferred_areas": return areaInput;
    case "min_distance_km": return $("min-distance");
    case "group_adults": return $("adults");
    case "group_children_age_bands": return $("children-0-5");
    case "needed_by": return $("needed-by");
    case "accessibility": return $("access-set");
    case "nationality": return $("nationality");
    case "jurisdiction":
    case "receiving_participant": return receiving;
    case "consent":
      if (sub === "scope") return $("consent-scope");
      if (sub === "method") return $("consent-method");
      return $("consent-given-row");
    case "consent_override": return $("consent-given-row");
    default: return null;
  }
}

/** Show an API problem at the field it names, or at the top of the form. */
function showProblem(error, what) {
  const target = fieldFor(error.field);
  if (target) {
    mark(target, error.message);
    focusable(target).focus();
    status.textContent = t("{what}: see the message at the field.", { what });
  } else {
    formError.textContent = t("{what}: {error}", { what, error: error.message });
    formError.hidden = false;
    status.textContent = "";
  }
}

// ---- Submit: create, submit, match -------------------------------------------------------

/** POST with an Idempotency-Key from ``flow``; a lost connection keeps the key for a retry. */
async function post(path, body, keyName) {
  try {
    const { data } = await api(path, {
      method: "POST", body, headers: { "Idempotency-Key": flow[keyName] },
    });
    return data;
  } catch (error) {
    if (error.status !== 0) flow[keyName] = newKey();
    throw error;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearMarks();
  send.disabled = true;
  try {
    const body = await build();
    if (!body) {
      status.textContent = t("Some answers are missing: see the messages at the fields.");
      focusable(marked[0]).focus();
      return;
    }
    // The same form sent again continues the same referral; a changed form is a new one.
    const { at: _, ...consentWithoutTime } = body.consent;
    const text = JSON.stringify({ ...body, consent: consentWithoutTime });
    if (text !== flow.text) {
      if (flow.id && flow.state === "draft" && !flow.followed) cancelDraft(flow.id);
      flow = fresh(text);
    }
    if (!flow.id) {
      status.textContent = t("Sending the referral…");
      try {
        const made = await post("/api/v1/referrals", body, "createKey");
        flow.id = made.id;
        flow.state = made.state;
      } catch (error) {
        showProblem(error, t("The referral was not sent"));
        return;
      }
    }
    if (flow.state === "draft") {
      status.textContent = t("Submitting…");
      try {
        const moved = await post(`/api/v1/referrals/${flow.id}/transitions`, { to: "submitted" }, "submitKey");
        flow.state = moved.state;
      } catch (error) {
        showProblem(error, t("The referral was saved but not submitted"));
        return;
      }
    }
    await match();
  } finally {
    send.disabled = false;
  }
});

/** A draft left behind by a changed form is cancelled (best effort: a draft harms nobody). */
function cancelDraft(id) {
  api(`/api/v1/referrals/${id}/transitions`, {
    method: "POST", body: { to: "cancelled", reason: "duplicate" },
    headers: { "Idempotency-Key": newKey() },
  }).catch(() => {});
}

async function match() {
  status.textContent = t("Finding services…");
  results.replaceChildren();
  let answer;
  try {
    answer = await post(`/api/v1/referrals/${flow.id}/suggestions`, undefined, "matchKey");
  } catch (error) {
    showProblem(error, t("No suggestions"));
    return;
  }
  flow.state = answer.state;
  for (const need of answer.needs) {
    for (const s of need.suggestions) {
      serviceNames.set(s.service_id, s.service_name);
    }
  }
  results.replaceChildren(...answer.needs.map(needCard));
  const met = answer.needs.filter((n) => n.suggestions.length).length;
  status.textContent = met
    ? plural(answer.needs.length, {
      one: t("Suggestions for {met} of {count} need, best first. Book the plan, or hold one place."),
      few: t("Suggestions for {met} of {count} needs, best first. Book the plan, or hold one place. (few)"),
      other: t("Suggestions for {met} of {count} needs, best first. Book the plan, or hold one place."),
    }, { met })
    : t("No service can meet these needs now: see why below.");
  $("plan-box").hidden = met === 0;
  $("plan-note").textContent = "";
  planKey = null;
  follow.show(flow.id);
  await follow.refresh();
  if (status.getBoundingClientRect().top > window.innerHeight) status.scrollIntoView({ block: "start" });
}

// ---- Suggestions -------------------------------------------------------------------------

function km(points) {
  return decimal(points / 10);
}

/** The score's parts in words: every term as kilometres of travel it is worth. */
function why(s) {
  const parts = Object.entries(s.parts)
    .filter(([term, points]) => points > 0 || term === "distance")
    .map(([term, points]) => t("{term} {distance} km", { term: TERMS[term] || term, distance: km(points) }));
  return t("Score {score} (as km of travel, lower is better): {parts}",
    { score: km(s.total), parts: parts.join(" + ") });
}

function excludedWords(counts) {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => t("{count} {reason}", { count: n, reason: REASONS[reason] || reason }))
    .join("; ");
}

function needCard(need) {
  const name = codeNames.get(need.code) || need.code;
  const item = el("li", {
    class: "card need-result", "data-code": need.code, "data-need": String(need.index),
  }, el("h3", {}, t("{service} ({priority})", { service: name, priority: PRIORITY[need.priority] || need.priority })));
  if (need.suggestions.length) {
    const shown = need.suggestions.length;
    item.append(el("p", { class: "meta" },
      need.eligible > shown
        ? plural(need.eligible, {
          one: t("{count} service can meet it; the best {shown} first."),
          few: t("{count} services can meet it; the best {shown} first. (few)"),
          other: t("{count} services can meet it; the best {shown} first."),
        }, { shown })
        : plural(need.eligible, {
          one: t("{count} service can meet it."),
          few: t("{count} services can meet it. (few)"),
          other: t("{count} services can meet it."),
        })));
    item.append(el("ol", { class: "hits" }, ...need.suggestions.map((s, i) => option(need, s, i))));
  } else {
    const reasons = need.unmet_reasons.map((r) => REASONS[r] || r).join("; ");
    item.append(el("p", { class: "unmet" },
      t("Nobody can meet this need now: {reasons}.", { reasons: reasons || t("no service is eligible") })));
  }
  if (Object.keys(need.excluded).length) {
    item.append(el("p", { class: "hint" }, t("Left out: {reasons}.", { reasons: excludedWords(need.excluded) })));
  }
  return item;
}

function option(need, s, i) {
  const distance = s.distance_from === "accommodation"
    ? t("{distance} km from the suggested accommodation") : t("{distance} km from where the person is now");
  const free = s.free_places === null
    ? el("span", { class: "free unknown" },
      ...tParts(t("{unknown} free places unknown"), { unknown: el("strong", {}, "?") }))
    : el("span", { class: s.free_places > 0 ? "free" : "free none" },
      ...tParts(pluralForm(s.free_places, {
        one: t("{count} free place"), few: t("{count} free places (few)"), other: t("{count} free places"),
      }), { count: el("strong", {}, String(s.free_places)) }));
  const reported = s.capacity_updated_at
    ? el("span", { class: "reported" }, t("Number reported {ago}", { ago: ago(s.capacity_updated_at) }))
    : el("span", { class: "reported" }, t("Number never reported"));
  const note = el("p", { class: "note", role: "status", "aria-live": "polite" });
  const button = el("button", {
    type: "button", class: "secondary hold",
    "aria-label": t("Hold a place: {service}, {organisation}",
      { service: s.service_name, organisation: s.organization_name }),
  }, t("Hold a place"));
  const pickId = `plan-${need.index}-${i}`;
  const pick = el("input", {
    type: "radio", id: pickId, name: `plan-${need.index}`, value: s.service_id, class: "plan-pick",
  });
  pick.checked = s.service_id === need.planned_service_id ||
    (need.planned_service_id === null && i === 0);
  let key = null; // kept for a retry after a lost connection
  button.addEventListener("click", async () => {
    key = key || newKey();
    button.disabled = true;
    note.textContent = t("Holding…");
    try {
      const { data: offer } = await api(`/api/v1/referrals/${flow.id}/holds`, {
        method: "POST", body: { service_id: s.service_id, need: need.index },
        headers: { "Idempotency-Key": key },
      });
      key = null;
      note.textContent = plural(offer.places, {
        one: t("Held: {count} place, {status}, until {when}."),
        few: t("Held: {count} places, {status}, until {when}. (few)"),
        other: t("Held: {count} places, {status}, until {when}."),
      }, { status: OFFER_STATUS[offer.status] || offer.status, when: when(offer.expires_at) });
      button.textContent = t("Place held");
      button.setAttribute("aria-label", t("Place held: {service}, {organisation}",
        { service: s.service_name, organisation: s.organization_name }));
      await follow.refresh();
    } catch (error) {
      if (error.status !== 0) key = null;
      const freeNow = error.problem && "free_places" in error.problem
        ? t("Free places now: {count}.",
          { count: error.problem.free_places === null ? t("unknown") : error.problem.free_places })
        : "";
      note.textContent = t("Not held: {error}.", { error: error.message.replace(/\.$/, "") }) +
        (freeNow ? ` ${freeNow}` : "");
      button.disabled = false;
    }
  });
  return el("li", { class: "hit", "data-service-id": s.service_id },
    el("h4", { class: "org" }, s.organization_name),
    el("p", { class: "svc" }, s.service_name),
    el("div", { class: "facts" },
      el("span", { class: "distance" }, ...tParts(distance, { distance: el("strong", {}, decimal(s.distance_km)) })),
      free,
      reported),
    el("p", { class: "where" }, t("{town} ({participant})", { town: s.area_name, participant: s.participant })),
    s.in_plan ? el("ul", { class: "tags" }, el("li", { class: "tag strong" }, t("Best in the plan"))) : null,
    el("p", { class: "why" }, why(s)),
    el("div", { class: "check plan-choice" }, pick,
      el("label", { for: pickId }, t("Use in the plan"))),
    button,
    note);
}

// ---- Book the plan ----------------------------------------------------------------------

/** The service chosen for each need still open for an offer: the body of POST .../plan. */
function chosenPlan() {
  const needs = [];
  for (const card of results.querySelectorAll(".need-result")) {
    const pick = card.querySelector(".plan-pick:checked:not([disabled])");
    if (pick) needs.push({ index: Number(card.dataset.need), service_id: pick.value });
  }
  return needs;
}

$("book-plan").addEventListener("click", async () => {
  const note = $("plan-note");
  const needs = chosenPlan();
  if (!needs.length) {
    note.textContent = t("Every need already has a place held or is finished.");
    return;
  }
  planKey = planKey || newKey();
  $("book-plan").disabled = true;
  note.textContent = t("Booking…");
  for (const card of results.querySelectorAll(".need-result")) card.classList.remove("refused");
  try {
    const { data } = await api(`/api/v1/referrals/${flow.id}/plan`, {
      method: "POST", body: { needs }, headers: { "Idempotency-Key": planKey },
    });
    planKey = null;
    const held = data.offers.filter((o) => o.status === "held" && needs.some((n) => n.index === o.need));
    note.textContent = plural(held.length, {
      one: t("Booked: a place held for {count} need, waiting for its provider's answer."),
      few: t("Booked: a place held for {count} needs, each waiting for its provider's answer. (few)"),
      other: t("Booked: a place held for {count} needs, each waiting for its provider's answer."),
    });
    await follow.refresh();
  } catch (error) {
    if (error.status !== 0) planKey = null;
    const problem = error.problem || {};
    const free = "free_places" in problem
      ? t("Free places now: {count}.", { count: problem.free_places === null ? t("unknown") : problem.free_places })
      : "";
    note.textContent = t("Not booked, nothing was held: {error}.", { error: error.message.replace(/\.$/, "") }) +
      (free ? ` ${free}` : "");
    if (Number.isInteger(problem.need)) {
      const card = results.querySelector(`.need-result[data-need="${problem.need}"]`);
      if (card) card.classList.add("refused");
    }
  } finally {
    $("book-plan").disabled = false;
  }
});

/** After each reading of the referral: only needs open for an offer can be booked. */
function read(referral) {
  flow.state = referral.state;
  for (const need of referral.needs) {
    const card = results.querySelector(`.need-result[data-need="${need.index}"]`);
    if (!card) continue;
    const open = OPEN_FOR_OFFER.has(need.state) && !["closed", "cancelled"].includes(referral.state);
    for (const control of card.querySelectorAll("button.hold, .plan-pick")) control.disabled = !open;
  }
  // After a decline or an expiry (or when only following), the matcher is asked again.
  const again = referral.needs.some((n) => ["declined", "expired"].includes(n.state)) ||
    (referral.state === "matched" && results.children.length === 0);
  $("rematch").hidden = !again || ["closed", "cancelled"].includes(referral.state);
}

const follow = follower({
  id: () => flow.id,
  serviceName: (id) => serviceNames.get(id) || t("A service"),
  needName: (need) => t("{service} ({priority})",
    { service: codeNames.get(need.code) || need.code, priority: PRIORITY[need.priority] || need.priority }),
  read,
});

$("rematch").addEventListener("click", () => {
  flow.matchKey = newKey();
  match();
});

// ---- Start -------------------------------------------------------------------------------

async function start() {
  me = await signedIn(ROLES);
  if (!me) return;
  const sorted = Object.entries(LANGUAGES).sort((a, b) => a[1].localeCompare(b[1]));
  for (const [code, name] of sorted) {
    $("language").append(el("option", { value: code }, name));
    $("language-2").append(el("option", { value: code }, name));
  }
  for (const [code, name] of Object.entries(PARTICIPANTS)) {
    receiving.append(el("option", { value: code }, name));
  }
  if (PARTICIPANTS[me.jurisdiction]) {
    receiving.value = me.jurisdiction;
  } else {
    receiving.prepend(el("option", { value: "" }, t("Where the person is")));
    receiving.value = "";
  }
  try {
    terms = await taxonomy();
    codeNames = new Map(terms.map((term) => [term.code, term.name]));
  } catch (error) {
    status.textContent = t("Could not load the service list: {error}", { error: error.message });
  }
  addNeed();
  startSurge(me);
  const followed = new URLSearchParams(location.search).get("referral");
  if (followed && UUID.test(followed)) {
    flow.id = followed;
    flow.followed = true; // opened by its link: a new form never cancels it
    follow.show(followed);
    await follow.refresh();
  }
  form.dataset.ready = "true";
  await follow.start();
}

start();
