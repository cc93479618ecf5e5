// Offers: a provider's inbox of held places (GET /api/v1/offers); accept, or decline with a
// structured reason. Every answer carries an Idempotency-Key, so a retry never acts twice.

import { showAcceptanceRecord } from "./acceptance.js";
import { showFeedbackRecord } from "./feedbacktable.js";
import { LANGUAGES } from "./languages.js";
import { dateTime, plural, t, tParts } from "./i18n.js";
import { ago, api, areaNames, el, fieldError, signedIn, taxonomy } from "./session.js";

const REASONS = {
  no_capacity: t("No free place after all"),
  not_eligible: t("Not eligible for this service"),
  safety: t("Safety concern"),
  person_declined: t("The person declined"),
  other: t("Another reason"),
};
const STATUS_WORDS = {
  held: t("Waiting for your answer"),
  accepted: t("Accepted: the referrer confirms the placement"),
  confirmed: t("Confirmed by the referrer"),
  declined: t("Declined"),
  expired: t("Expired unanswered"),
  released: t("Released by the referrer"),
};
const URGENCY = { emergency: t("Emergency"), urgent: t("Urgent"), planned: t("Planned") };
/** The codes an offer's facts carry, in words. */
const PRIORITY = { must: t("must"), should: t("should") };
const GENDER = { female: t("female"), male: t("male"), other: t("other") };
const RISK = { low: t("low"), medium: t("medium"), high: t("high") };
const ACCESS = {
  wheelchair: t("wheelchair"), step_free: t("step-free access"),
  accessible_toilet: t("accessible toilet"), hearing_loop: t("hearing loop"),
  sign_language: t("sign language"),
};
// The event feed is cheap to ask and audits nothing; the offers list audits every read, so
// it is reloaded only when an event says something changed.
const WATCH_MS = 5000;

const filter = document.getElementById("status-filter");
const status = document.getElementById("status");
const list = document.getElementById("offers");

let codeNames = new Map();
let serviceNames = new Map();
let placeNames = new Map();
let busy = 0; // answers in flight: no automatic refresh meanwhile
let after = null; // the event feed's position
const answeredHere = new Map(); // offer id -> its card, kept in view after a reload

/** A random Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function until(iso) {
  const minutes = Math.round((Date.parse(iso) - Date.now()) / 60000);
  if (minutes <= 0) return t("expiring now");
  if (minutes < 120) return t("answer within {count} min", { count: minutes });
  return t("answer within {count} h", { count: Math.round(minutes / 60) });
}

function fact(term, value) {
  if (value === null || value === undefined || value === "" || value.length === 0) return null;
  return [el("dt", {}, term), el("dd", {}, value)];
}

/** Who referred, while the placement is active: the agency and its duty phone. */
function referredBy(o) {
  if (!o.referring_agency) return null;
  const phone = o.referring_agency_duty_phone;
  return [el("dt", {}, t("Referred by")), el("dd", { class: "referred-by" }, ...(phone
    ? tParts(t("{agency} · duty phone {phone}"),
      { agency: o.referring_agency, phone: el("a", { href: `tel:${phone}` }, phone) })
    : [o.referring_agency]))];
}

function facts(o) {
  const langs = o.languages.map((c) => LANGUAGES[c] || c).join(", ");
  const group = [
    o.group_adults ? plural(o.group_adults, {
      one: t("{count} adult"), few: t("{count} adults (few)"), other: t("{count} adults"),
    }) : "",
    o.group_children_age_bands.length
      ? t("children aged {bands}", { bands: o.group_children_age_bands.join(", ") }) : "",
  ].filter(Boolean).join(t(" and "));
  const rows = [
    fact(t("Needs"), o.needs.map((n) => t("{service} ({priority})", {
      service: codeNames.get(n.code) || n.code, priority: PRIORITY[n.priority] || n.priority,
    })).join("; ")),
    fact(t("Age band"), o.age_band ? o.age_band + (o.age_uncertain ? t(" (uncertain)") : "") +
      (o.accompanied ? t(" · with a parent or carer") : "") : null),
    fact(t("Placement gender"), o.gender ? GENDER[o.gender] || o.gender : o.gender),
    fact(t("Languages"), langs + (o.interpreter_needed ? t(" · interpreter needed") : "")),
    fact(t("Risk level"), o.risk_level ? RISK[o.risk_level] || o.risk_level : o.risk_level),
    fact(t("Accessibility"), o.accessibility.map((a) => ACCESS[a] || a).join(", ")),
    fact(t("Group"), group),
    fact(t("Now in"), placeNames.get(o.current_area) || o.current_area),
    fact(t("Needed by"), o.needed_by ? dateTime(o.needed_by) : null),
    referredBy(o),
  ].filter(Boolean);
  return el("dl", { class: "facts-list" }, ...rows.flat());
}

function card(offer) {
  let current = offer;
  let key = null; // kept for a retry after a lost connection, renewed after an answer
  const note = el("p", { class: "note", role: "status", "aria-live": "polite" });
  const state = el("p", { class: "offer-state" });
  const reason = el("select", { id: `reason-${offer.id}` },
    el("option", { value: "" }, t("Choose a reason…")),
    ...Object.entries(REASONS).map(([value, label]) => el("option", { value }, label)),
  );
  const accept = el("button", { type: "button", class: "primary" }, t("Accept"));
  const decline = el("button", { type: "button", class: "secondary" }, t("Decline"));
  const actions = el("div", { class: "answer" },
    el("div", { class: "actions" }, accept),
    el("div", { class: "field" }, el("label", { for: reason.id }, t("Reason to decline")), reason),
    el("div", { class: "actions" }, decline),
  );

  function draw() {
    const words = STATUS_WORDS[current.status] || current.status;
    const when = current.status === "held" ? ` · ${until(current.expires_at)}` : "";
    const why = current.decline_reason ? t(" ({reason})", { reason: REASONS[current.decline_reason] }) : "";
    state.replaceChildren(el("strong", {}, words + why), when);
    actions.hidden = current.status !== "held";
  }

  async function answer(path, body, button) {
    key = key || newKey();
    busy += 1;
    accept.disabled = decline.disabled = true;
    note.textContent = t("Sending…");
    try {
      const { data } = await api(`/api/v1/offers/${offer.id}/${path}`, {
        method: "POST", body, headers: { "Idempotency-Key": key },
      });
      key = null;
      current = data;
      answeredHere.set(offer.id, item);
      draw();
      note.textContent = t("{done} {ago}.", { done: button, ago: ago(new Date().toISOString()) });
    } catch (error) {
      if (error.status !== 0) key = null;
      note.textContent = t("Not sent: {error}", { error: error.message });
    } finally {
      busy -= 1;
      accept.disabled = decline.disabled = false;
    }
  }

  accept.addEventListener("click", () => answer("accept", undefined, t("Accepted")));
  decline.addEventListener("click", () => {
    if (!reason.value) {
      fieldError(reason, t("Choose why you decline: it helps find the next service."));
      reason.focus();
      return;
    }
    fieldError(reason, "");
    answer("decline", { reason: reason.value }, t("Declined"));
  });

  draw();
  const urgency = URGENCY[offer.urgency] || offer.urgency;
  const item = el("li", { class: `card offer ${offer.urgency}`, "data-offer-id": offer.id },
    el("h3", {}, serviceNames.get(offer.service_id) || t("A service of yours")),
    el("p", { class: "meta" },
      el("span", { class: `badge urgency ${offer.urgency}` }, urgency),
      " ",
      plural(offer.places, {
        one: t("{count} place · offered {ago}"),
        few: t("{count} places · offered {ago} (few)"),
        other: t("{count} places · offered {ago}"),
      }, { ago: ago(offer.created_at) }),
      offer.transnational ? t(" · transnational") : ""),
    state,
    facts(offer),
    actions,
    note,
  );
  return item;
}

async function load() {
  const params = new URLSearchParams({ limit: "100" });
  if (filter.value) params.set("status", filter.value);
  status.textContent = t("Loading…");
  try {
    const { data } = await api(`/api/v1/offers?${params}`);
    placeNames = await areaNames(data.offers.map((o) => o.current_area));
    // What was answered on this page stays in view (the list of waiting offers drops it).
    const listed = new Set(data.offers.map((o) => o.id));
    const kept = filter.value === "held"
      ? [...answeredHere].filter(([id]) => !listed.has(id)).map(([, item]) => item)
      : [];
    list.replaceChildren(...kept, ...data.offers.map(card));
    const n = data.offers.length;
    status.textContent = n
      ? plural(n, { one: t("{count} offer"), few: t("{count} offers (few)"), other: t("{count} offers") })
      : t("No offer here.");
  } catch (error) {
    status.textContent = t("Could not load the offers: {error}", { error: error.message });
  }
}

/** Reload the offers when the event feed (GET /api/v1/events) has news for this organisation. */
async function watch() {
  if (document.hidden) return;
  try {
    const { data } = await api(after === null ? "/api/v1/events" : `/api/v1/events?after=${after}`);
    const news = after !== null && data.events.length > 0;
    after = data.next_after;
    if (!news) return;
    if (busy || list.contains(document.activeElement)) {
      status.textContent = t("Something changed: press Refresh to see it.");
    } else {
      await load();
    }
  } catch {
    // The next look tries again.
  }
}

async function start() {
  const me = await signedIn(["provider"]);
  if (!me) return;
  try {
    const [codes, { data }] = await Promise.all([
      taxonomy(),
      api(`/api/v1/services?organization=${me.organization_id}&limit=200`),
    ]);
    codeNames = new Map(codes.map((term) => [term.code, term.name]));
    serviceNames = new Map(data.services.map((s) => [s.id, s.name]));
  } catch {
    // Names are a convenience; the offers still show codes.
  }
  filter.addEventListener("change", () => {
    answeredHere.clear();
    load();
  });
  document.getElementById("refresh").addEventListener("click", load);
  await Promise.all([load(), watch(), showAcceptanceRecord(me.organization_id),
    showFeedbackRecord()]);
  document.getElementById("page").dataset.ready = "true";
  setInterval(watch, WATCH_MS);
}

start();
