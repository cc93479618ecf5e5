// The transnational panel on /refer (called by follow.js for a transnational referral): the
// focal point of each side with its duty phone, consent per item, the return area, and the
// one timeline both national coordinators see (GET /api/v1/referrals/{id}/transnational;
// each read is audited). A step is recorded with its status and date (POST .../steps); the
// referring side sets focal points, consents and return area (PUT). Codes and dates only,
// never free text about the person.

import { date, t, tParts } from "./i18n.js";
import { api, el } from "./session.js";
import { CONSENT_ITEMS, TRM_STEP_STATUS, TRM_STEPS } from "./referwords.js";

const FINISHED = new Set(["closed", "cancelled"]);
const METHODS = {
  verbal: t("verbally"),
  written: t("in writing"),
  electronic: t("electronically"),
  guardian: t("by the guardian"),
};
const keys = new Map(); // a step's Idempotency-Key, kept until it is answered
let caller = null; // GET /api/v1/me, read once

/** Whether the caller records steps: either side's coordinators, the focal agencies' officers. */
export function mayRecord(me, data) {
  if (!me) return false;
  if (["coordinator", "admin"].includes(me.role)) {
    return ["MARRI", data.sending_participant, data.receiving_participant].includes(me.jurisdiction);
  }
  const focal = [data.sending_focal_point, data.receiving_focal_point].filter(Boolean)
    .map((p) => p.agency_id);
  return me.role === "officer" && Boolean(me.agency_id) && focal.includes(me.agency_id);
}

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function select(id, words, first) {
  const node = el("select", { id });
  if (first !== undefined) node.append(el("option", { value: "" }, first));
  for (const [code, text] of Object.entries(words)) node.append(el("option", { value: code }, text));
  return node;
}

function field(id, label, control) {
  return el("div", { class: "field" }, el("label", { for: id }, label), control);
}

function focal(point) {
  if (!point) return t("Not named yet");
  return el("span", {}, ...tParts(t("{agency} ({participant}) · {phone}"), {
    agency: point.name, participant: point.jurisdiction,
    phone: el("a", { href: `tel:${point.duty_phone}`, class: "duty-phone" }, point.duty_phone),
  }));
}

function consentWords(data) {
  const byItem = new Map(data.consents.map((c) => [c.item, c]));
  return Object.entries(CONSENT_ITEMS).map(([item, name]) => {
    const c = byItem.get(item);
    const words = !c ? t("not recorded")
      : c.given
        ? t("given {how}, {date}", { how: METHODS[c.method] || c.method, date: date(c.at) })
        : t("refused {how}, {date}", { how: METHODS[c.method] || c.method, date: date(c.at) });
    return el("li", { "data-consent": item }, t("{item}: {words}", { item: name, words }));
  });
}

function facts(data) {
  return el("dl", { class: "facts-list" },
    el("dt", {}, t("Focal point {participant}", { participant: data.sending_participant })),
    el("dd", {}, focal(data.sending_focal_point)),
    el("dt", {}, t("Focal point {participant}", { participant: data.receiving_participant })),
    el("dd", {}, focal(data.receiving_focal_point)),
    el("dt", {}, t("Return area")), el("dd", { id: "trm-return-area" }, data.return_area || t("Not named yet")),
    el("dt", {}, t("Consent")), el("dd", {}, el("ul", { class: "trm-consents" }, ...consentWords(data))));
}

function timeline(data) {
  if (!data.recorded) {
    return el("p", { class: "hint" },
      t("The timeline starts once the referring side names the focal points."));
  }
  return el("ol", { class: "trm-steps", "aria-label": t("Timeline") }, ...data.steps.map((s) =>
    el("li", { "data-step": s.code, "data-status": s.status },
      el("span", { class: "trm-step-name" }, TRM_STEPS[s.code] || s.code),
      el("span", { class: `trm-step-status ${s.status}` },
        s.date
          ? t("{status} · {date}", { status: TRM_STEP_STATUS[s.status] || s.status, date: date(s.date) })
          : TRM_STEP_STATUS[s.status] || s.status))));
}

/** The form to record one step (either side's coordinators, the focal agencies' officers). */
function stepForm(data, done) {
  const note = el("p", { class: "note", role: "status", "aria-live": "polite" });
  const code = select("trm-step", TRM_STEPS);
  const status = select("trm-status", TRM_STEP_STATUS);
  status.value = "done";
  const day = el("input", { id: "trm-date", type: "date" });
  day.value = new Date().toISOString().slice(0, 10);
  const button = el("button", { type: "button", id: "trm-record", class: "secondary" }, t("Record the step"));
  button.addEventListener("click", async () => {
    const body = { code: code.value, status: status.value };
    if (day.value) body.date = day.value;
    const name = JSON.stringify(body);
    const key = keys.get(name) || newKey();
    keys.set(name, key);
    button.disabled = true;
    note.textContent = t("Sending…");
    try {
      await api(`/api/v1/referrals/${data.referral_id}/transnational/steps`, {
        method: "POST", body, headers: { "Idempotency-Key": key },
      });
      keys.delete(name);
      note.textContent = t("Recorded.");
      await done();
    } catch (error) {
      if (error.status !== 0) keys.delete(name);
      note.textContent = t("Not recorded: {error}", { error: error.message });
    } finally {
      button.disabled = false;
    }
  });
  return el("details", { class: "filters trm-record" }, el("summary", {}, t("Record a step")),
    el("div", { class: "trm-fields" }, field("trm-step", t("Step"), code),
      field("trm-status", t("Status"), status), field("trm-date", t("Date"), day)),
    button, note);
}

/** The referring side's form: focal points (agency ids), return area, consent per item. */
function setupForm(data, done) {
  const note = el("p", { class: "note", role: "status", "aria-live": "polite" });
  const sending = el("input", { id: "trm-sending", autocomplete: "off", spellcheck: "false",
    value: data.sending_focal_point ? data.sending_focal_point.agency_id : "" });
  const receiving = el("input", { id: "trm-receiving", autocomplete: "off", spellcheck: "false",
    value: data.receiving_focal_point ? data.receiving_focal_point.agency_id : "" });
  const area = el("input", { id: "trm-area", autocomplete: "off", spellcheck: "false",
    placeholder: `${data.receiving_participant}-…`, value: data.return_area || "" });
  const byItem = new Map(data.consents.map((c) => [c.item, c]));
  const consents = Object.entries(CONSENT_ITEMS).map(([item, name]) => {
    const given = select(`trm-consent-${item}`, { yes: t("given"), no: t("refused") }, t("not recorded"));
    const method = select(`trm-method-${item}`, METHODS);
    const c = byItem.get(item);
    if (c) {
      given.value = c.given ? "yes" : "no";
      method.value = c.method;
    }
    return { item, given, method, at: c ? c.at : null,
      node: el("div", { class: "trm-fields" }, field(`trm-consent-${item}`, name, given),
        field(`trm-method-${item}`, t("How"), method)) };
  });
  const button = el("button", { type: "button", id: "trm-save", class: "secondary" }, t("Save"));
  button.addEventListener("click", async () => {
    const now = new Date().toISOString();
    const body = {
      sending_agency_id: sending.value.trim() || null,
      receiving_agency_id: receiving.value.trim() || null,
      return_area: area.value.trim() || null,
      consents: consents.filter((c) => c.given.value).map((c) => ({
        item: c.item, given: c.given.value === "yes", method: c.method.value, at: c.at || now,
      })),
    };
    button.disabled = true;
    note.textContent = t("Saving…");
    try {
      await api(`/api/v1/referrals/${data.referral_id}/transnational`, { method: "PUT", body });
      note.textContent = t("Saved.");
      await done();
    } catch (error) {
      note.textContent = t("Not saved: {error}", { error: error.message });
    } finally {
      button.disabled = false;
    }
  });
  return el("details", { class: "filters trm-setup" },
    el("summary", {}, t("Focal points, consent and return area")),
    el("p", { class: "hint" }, t("A focal point is an agency record of its side (its id, from " +
      "Agencies); its duty phone is the duty contact. The return area is a municipality code " +
      "of {participant}.", { participant: data.receiving_participant })),
    el("div", { class: "trm-fields" },
      field("trm-sending", t("Agency in {participant}", { participant: data.sending_participant }), sending),
      field("trm-receiving", t("Agency in {participant}", { participant: data.receiving_participant }), receiving),
      field("trm-area", t("Return area"), area)),
    ...consents.map((c) => c.node), button, note);
}

/**
 * Show (or hide) the transnational panel of `referral` in #trm. `refresh` reads the referral
 * again after a change; `referring` says whether the caller is its referring side.
 */
export async function showTransnational(referral, refresh, referring) {
  const box = document.getElementById("trm");
  if (!referral.transnational) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  let data;
  try {
    ({ data } = await api(`/api/v1/referrals/${referral.id}/transnational`));
  } catch (error) {
    box.replaceChildren(el("h3", {}, t("Transnational case")),
      el("p", { class: "note" }, t("Could not read the transnational record: {error}", { error: error.message })));
    box.hidden = false;
    return;
  }
  if (caller === null) {
    try {
      ({ data: caller } = await api("/api/v1/me"));
    } catch {
      // Without knowing the caller the form is left out; the record is still shown.
    }
  }
  const open = !FINISHED.has(data.state);
  box.replaceChildren(
    el("h3", {}, t("Transnational case: {from} → {to}",
      { from: data.sending_participant, to: data.receiving_participant })),
    facts(data),
    timeline(data),
    data.recorded && open && mayRecord(caller, data) ? stepForm(data, refresh) : "",
    referring && open ? setupForm(data, refresh) : "",
  );
  box.hidden = false;
}
