// Offers: a provider's inbox of held places (GET /api/v1/offers); accept, or decline with a
// structured reason. Every answer carries an Idempotency-Key, so a retry never acts twice.

import { showAcceptanceRecord } from "./acceptance.js";
import { showFeedbackRecord } from "./feedbacktable.js";
import { LANGUAGES } from "./languages.js";
import { ago, api, areaNames, el, fieldError, signedIn, taxonomy } from "./session.js";

const REASONS = {
  no_capacity: "No free place after all",
  not_eligible: "Not eligible for this service",
  safety: "Safety concern",
  person_declined: "The person declined",
  other: "Another reason",
};
const STATUS_WORDS = {
  held: "Waiting for your answer",
  accepted: "Accepted: the referrer confirms the placement",
  confirmed: "Confirmed by the referrer",
  declined: "Declined",
  expired: "Expired unanswered",
  released: "Released by the referrer",
};
const URGENCY = { emergency: "Emergency", urgent: "Urgent", planned: "Planned" };
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
  if (minutes <= 0) return "expiring now";
  if (minutes < 120) return `answer within ${minutes} min`;
  return `answer within ${Math.round(minutes / 60)} h`;
}

function fact(term, value) {
  if (value === null || value === undefined || value === "" || value.length === 0) return null;
  return [el("dt", {}, term), el("dd", {}, value)];
}

/** Who referred, while the placement is active: the agency and its duty phone. */
function referredBy(o) {
  if (!o.referring_agency) return null;
  const phone = o.referring_agency_duty_phone;
  return [el("dt", {}, "Referred by"), el("dd", { class: "referred-by" }, o.referring_agency,
    phone ? " · duty phone " : "", phone ? el("a", { href: `tel:${phone}` }, phone) : "")];
}

function facts(o) {
  const langs = o.languages.map((c) => LANGUAGES[c] || c).join(", ");
  const group = [
    o.group_adults ? `${o.group_adults} adult${o.group_adults === 1 ? "" : "s"}` : "",
    o.group_children_age_bands.length ? `children aged ${o.group_children_age_bands.join(", ")}` : "",
  ].filter(Boolean).join(" and ");
  const rows = [
    fact("Needs", o.needs.map((n) => `${codeNames.get(n.code) || n.code} (${n.priority})`).join("; ")),
    fact("Age band", o.age_band ? o.age_band + (o.age_uncertain ? " (uncertain)" : "") +
      (o.accompanied ? " · with a parent or carer" : "") : null),
    fact("Placement gender", o.gender),
    fact("Languages", langs + (o.interpreter_needed ? " · interpreter needed" : "")),
    fact("Risk level", o.risk_level),
    fact("Accessibility", o.accessibility.join(", ")),
    fact("Group", group),
    fact("Now in", placeNames.get(o.current_area) || o.current_area),
    fact("Needed by", o.needed_by ? new Date(o.needed_by).toLocaleString() : null),
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
    el("option", { value: "" }, "Choose a reason…"),
    ...Object.entries(REASONS).map(([value, label]) => el("option", { value }, label)),
  );
  const accept = el("button", { type: "button", class: "primary" }, "Accept");
  const decline = el("button", { type: "button", class: "secondary" }, "Decline");
  const actions = el("div", { class: "answer" },
    el("div", { class: "actions" }, accept),
    el("div", { class: "field" }, el("label", { for: reason.id }, "Reason to decline"), reason),
    el("div", { class: "actions" }, decline),
  );

  function draw() {
    const words = STATUS_WORDS[current.status] || current.status;
    const when = current.status === "held" ? ` · ${until(current.expires_at)}` : "";
    const why = current.decline_reason ? ` (${REASONS[current.decline_reason]})` : "";
    state.replaceChildren(el("strong", {}, words + why), when);
    actions.hidden = current.status !== "held";
  }

  async function answer(path, body, button) {
    key = key || newKey();
    busy += 1;
    accept.disabled = decline.disabled = true;
    note.textContent = "Sending…";
    try {
      const { data } = await api(`/api/v1/offers/${offer.id}/${path}`, {
        method: "POST", body, headers: { "Idempotency-Key": key },
      });
      key = null;
      current = data;
      answeredHere.set(offer.id, item);
      draw();
      note.textContent = `${button} ${ago(new Date().toISOString())}.`;
    } catch (error) {
      if (error.status !== 0) key = null;
      note.textContent = `Not sent: ${error.message}`;
    } finally {
      busy -= 1;
      accept.disabled = decline.disabled = false;
    }
  }

  accept.addEventListener("click", () => answer("accept", undefined, "Accepted"));
  decline.addEventListener("click", () => {
    if (!reason.value) {
      fieldError(reason, "Choose why you decline: it helps find the next service.");
      reason.focus();
      return;
    }
    fieldError(reason, "");
    answer("decline", { reason: reason.value }, "Declined");
  });

  draw();
  const urgency = URGENCY[offer.urgency] || offer.urgency;
  const item = el("li", { class: `card offer ${offer.urgency}`, "data-offer-id": offer.id },
    el("h3", {}, serviceNames.get(offer.service_id) || "A service of yours"),
    el("p", { class: "meta" },
      el("span", { class: `badge urgency ${offer.urgency}` }, urgency),
      ` ${offer.places} place${offer.places === 1 ? "" : "s"} · offered ${ago(offer.created_at)}`,
      offer.transnational ? " · transnational" : ""),
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
  status.textContent = "Loading…";
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
    status.textContent = n ? `${n} offer${n === 1 ? "" : "s"}` : "No offer here.";
  } catch (error) {
    status.textContent = `Could not load the offers: ${error.message}`;
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
      status.textContent = "Something changed: press Refresh to see it.";
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
    codeNames = new Map(codes.map((t) => [t.code, t.name]));
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
