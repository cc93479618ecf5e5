// The transnational panel on /refer (called by follow.js for a transnational referral): the
// focal point of each side with its duty phone, consent per item, the return area, and the
// one timeline both national coordinators see (GET /api/v1/referrals/{id}/transnational;
// each read is audited). A step is recorded with its status and date (POST .../steps); the
// referring side sets focal points, consents and return area (PUT). Codes and dates only,
// never free text about the person.

import { api, el } from "./session.js";
import { CONSENT_ITEMS, TRM_STEP_STATUS, TRM_STEPS } from "./referwords.js";

const FINISHED = new Set(["closed", "cancelled"]);
const METHODS = {
  verbal: "verbally",
  written: "in writing",
  electronic: "electronically",
  guardian: "by the guardian",
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
  if (!point) return "Not named yet";
  return el("span", {}, `${point.name} (${point.jurisdiction}) · `,
    el("a", { href: `tel:${point.duty_phone}`, class: "duty-phone" }, point.duty_phone));
}

function consentWords(data) {
  const byItem = new Map(data.consents.map((c) => [c.item, c]));
  return Object.entries(CONSENT_ITEMS).map(([item, name]) => {
    const c = byItem.get(item);
    const words = !c ? "not recorded"
      : `${c.given ? "given" : "refused"} ${METHODS[c.method] || c.method}, ` +
        new Date(c.at).toLocaleDateString();
    return el("li", { "data-consent": item }, `${name}: ${words}`);
  });
}

function facts(data) {
  return el("dl", { class: "facts-list" },
    el("dt", {}, `Focal point ${data.sending_participant}`), el("dd", {}, focal(data.sending_focal_point)),
    el("dt", {}, `Focal point ${data.receiving_participant}`),
    el("dd", {}, focal(data.receiving_focal_point)),
    el("dt", {}, "Return area"), el("dd", { id: "trm-return-area" }, data.return_area || "Not named yet"),
    el("dt", {}, "Consent"), el("dd", {}, el("ul", { class: "trm-consents" }, ...consentWords(data))));
}

function timeline(data) {
  if (!data.recorded) {
    return el("p", { class: "hint" },
      "The timeline starts once the referring side names the focal points.");
  }
  return el("ol", { class: "trm-steps", "aria-label": "Timeline" }, ...data.steps.map((s) =>
    el("li", { "data-step": s.code, "data-status": s.status },
      el("span", { class: "trm-step-name" }, TRM_STEPS[s.code] || s.code),
      el("span", { class: `trm-step-status ${s.status}` },
        `${TRM_STEP_STATUS[s.status] || s.status}${s.date ? ` · ${s.date}` : ""}`))));
}

/** The form to record one step (either side's coordinators, the focal agencies' officers). */
function stepForm(data, done) {
  const note = el("p", { class: "note", role: "status", "aria-live": "polite" });
  const code = select("trm-step", TRM_STEPS);
  const status = select("trm-status", TRM_STEP_STATUS);
  status.value = "done";
  const day = el("input", { id: "trm-date", type: "date" });
  day.value = new Date().toISOString().slice(0, 10);
  const button = el("button", { type: "button", id: "trm-record", class: "secondary" }, "Record the step");
  button.addEventListener("click", async () => {
    const body = { code: code.value, status: status.value };
    if (day.value) body.date = day.value;
    const name = JSON.stringify(body);
    const key = keys.get(name) || newKey();
    keys.set(name, key);
    button.disabled = true;
    note.textContent = "Sending…";
    try {
      await api(`/api/v1/referrals/${data.referral_id}/transnational/steps`, {
        method: "POST", body, headers: { "Idempotency-Key": key },
      });
      keys.delete(name);
      note.textContent = "Recorded.";
      await done();
    } catch (error) {
      if (error.status !== 0) keys.delete(name);
      note.textContent = `Not recorded: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return el("details", { class: "filters trm-record" }, el("summary", {}, "Record a step"),
    el("div", { class: "trm-fields" }, field("trm-step", "Step", code),
      field("trm-status", "Status", status), field("trm-date", "Date", day)),
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
    const given = select(`trm-consent-${item}`, { yes: "given", no: "refused" }, "not recorded");
    const method = select(`trm-method-${item}`, METHODS);
    const c = byItem.get(item);
    if (c) {
      given.value = c.given ? "yes" : "no";
      method.value = c.method;
    }
    return { item, given, method, at: c ? c.at : null,
      node: el("div", { class: "trm-fields" }, field(`trm-consent-${item}`, name, given),
        field(`trm-method-${item}`, "How", method)) };
  });
  const button = el("button", { type: "button", id: "trm-save", class: "secondary" }, "Save");
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
    note.textContent = "Saving…";
    try {
      await api(`/api/v1/referrals/${data.referral_id}/transnational`, { method: "PUT", body });
      note.textContent = "Saved.";
      await done();
    } catch (error) {
      note.textContent = `Not saved: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return el("details", { class: "filters trm-setup" },
    el("summary", {}, "Focal points, consent and return area"),
    el("p", { class: "hint" }, "A focal point is an agency record of its side (its id, from " +
      "Agencies); its duty phone is the duty contact. The return area is a municipality code " +
      `of ${data.receiving_participant}.`),
    el("div", { class: "trm-fields" }, field("trm-sending", `Agency in ${data.sending_participant}`, sending),
      field("trm-receiving", `Agency in ${data.receiving_participant}`, receiving),
      field("trm-area", "Return area", area)),
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
    box.replaceChildren(el("h3", {}, "Transnational case"),
      el("p", { class: "note" }, `Could not read the transnational record: ${error.message}`));
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
    el("h3", {}, `Transnational case: ${data.sending_participant} → ${data.receiving_participant}`),
    facts(data),
    timeline(data),
    data.recorded && open && mayRecord(caller, data) ? stepForm(data, refresh) : "",
    referring && open ? setupForm(data, refresh) : "",
  );
  box.hidden = false;
}
