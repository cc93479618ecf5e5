// My capacity: a provider's services with their free places now, updated in seconds.
// Every save sends If-Match with the ETag last read; a 412 shows the newer number.

import { t, tParts } from "./i18n.js";
import {
  PARTICIPANTS,
  api,
  ago,
  el,
  fieldError,
  freshnessBadge,
  signedIn,
  taxonomy,
} from "./session.js";

/** What each unit's stepper and figures say (each a whole phrase, for the translators). */
const UNIT_WORDS = {
  bed: {
    fewer: t("One fewer beds"), more: t("One more beds"), available: t("Available beds"),
    total: t("Total beds"), free: t("Free now: {free} of {maximum} beds"),
  },
  place: {
    fewer: t("One fewer places"), more: t("One more places"), available: t("Available places"),
    total: t("Total places"), free: t("Free now: {free} of {maximum} places"),
  },
  session_per_week: {
    fewer: t("One fewer sessions a week"), more: t("One more sessions a week"),
    available: t("Available sessions a week"), total: t("Total sessions a week"),
    free: t("Free now: {free} of {maximum} sessions a week"),
  },
  hour_per_week: {
    fewer: t("One fewer hours a week"), more: t("One more hours a week"),
    available: t("Available hours a week"), total: t("Total hours a week"),
    free: t("Free now: {free} of {maximum} hours a week"),
  },
  case: {
    fewer: t("One fewer cases"), more: t("One more cases"), available: t("Available cases"),
    total: t("Total cases"), free: t("Free now: {free} of {maximum} cases"),
  },
};

const picker = document.getElementById("picker");
const orgSelect = document.getElementById("organization");
const orgName = document.getElementById("org-name");
const status = document.getElementById("status");
const list = document.getElementById("services");

let terms = new Map();

function count(input) {
  const text = input.value.trim();
  return /^\d+$/.test(text) ? Number(text) : null;
}

/** One service's card: its number now, a stepper, Save and Confirm unchanged. */
function card(service) {
  const id = service.id;
  const state = {
    capacity: service.capacity,
    etag: service.capacity ? `"${service.capacity.version}"` : null,
  };
  const term = terms.get(service.code);
  const unit = state.capacity
    ? state.capacity.unit
    : term && term.accommodation
      ? "bed"
      : "place";
  const words = UNIT_WORDS[unit] || UNIT_WORDS.place;

  const now = el("p", { class: "now" });
  const available = el("input", {
    id: `available-${id}`, type: "number", inputmode: "numeric", min: "0", step: "1",
    class: "count",
  });
  const maximum = el("input", {
    id: `maximum-${id}`, type: "number", inputmode: "numeric", min: "0", step: "1",
    class: "count small",
  });
  const note = el("p", { class: "note", role: "status", "aria-live": "polite" });
  const minus = el("button", { type: "button", class: "step", "aria-label": words.fewer }, "−");
  const plus = el("button", { type: "button", class: "step", "aria-label": words.more }, "+");
  const save = el("button", { type: "button", class: "primary" }, t("Save"));
  const confirm = el("button", { type: "button", class: "secondary" }, t("Confirm unchanged"));

  function draw() {
    const cap = state.capacity;
    if (cap) {
      const free = cap.free === null ? t("unknown") : String(cap.free);
      now.replaceChildren(
        ...tParts(words.free, {
          free: el("strong", { class: "free-now" }, free), maximum: cap.maximum,
        }),
        cap.held ? ` ${t("({count} held)", { count: cap.held })}` : "",
        " ",
        freshnessBadge(cap.freshness, cap.updated_at),
      );
      available.value = String(cap.available);
      maximum.value = String(cap.maximum);
    } else {
      now.replaceChildren(t("No capacity reported yet."));
      available.value = "0";
      maximum.value = "0";
    }
    confirm.disabled = !cap;
  }

  function step(delta) {
    const value = count(available) ?? 0;
    const next = Math.max(0, value + delta);
    available.value = String(next);
    const top = count(maximum);
    if (top !== null && next > top) maximum.value = String(next);
    fieldError(available, "");
  }
  minus.addEventListener("click", () => step(-1));
  plus.addEventListener("click", () => step(1));

  async function reload() {
    const { data, etag } = await api(`/api/v1/services/${id}/capacity`);
    state.capacity = data;
    state.etag = etag;
    draw();
  }

  async function send(numbers, done) {
    fieldError(available, "");
    fieldError(maximum, "");
    note.textContent = t("Saving…");
    save.disabled = true;
    confirm.disabled = true;
    try {
      const headers = state.etag ? { "If-Match": state.etag } : {};
      const { data, etag } = await api(`/api/v1/services/${id}/capacity`, {
        method: "PUT",
        headers,
        body: { unit, maximum: numbers.maximum, available: numbers.available },
      });
      state.capacity = data;
      state.etag = etag;
      draw();
      note.textContent = t("{done} {ago}.", { done, ago: ago(data.updated_at) });
    } catch (error) {
      note.textContent = "";
      if (error.status === 412) {
        try {
          await reload();
          note.textContent = t(
            t("Someone else updated this a moment ago — here is the new number. " +
            "Change it again if it is not right."));
        } catch (again) {
          note.textContent = t("Someone else updated this a moment ago; reloading failed: {error}",
            { error: again.message });
        }
      } else if (error.field === "$.available") {
        fieldError(available, error.message);
      } else if (error.field === "$.maximum") {
        fieldError(maximum, error.message);
      } else {
        note.textContent = t("Not saved: {error}", { error: error.message });
      }
    } finally {
      save.disabled = false;
      confirm.disabled = !state.capacity;
    }
  }

  save.addEventListener("click", () => {
    const numbers = { available: count(available), maximum: count(maximum) };
    if (numbers.available === null) {
      fieldError(available, t("Type a whole number, 0 or more."));
      available.focus();
      return;
    }
    if (numbers.maximum === null) {
      fieldError(maximum, t("Type a whole number, 0 or more."));
      maximum.focus();
      return;
    }
    send(numbers, t("Saved"));
  });
  confirm.addEventListener("click", () => {
    const cap = state.capacity;
    send({ available: cap.available, maximum: cap.maximum }, t("Confirmed"));
  });

  draw();
  const place = t("{town} ({participant})",
    { town: service.location.municipality, participant: service.location.participant });
  return el(
    "li",
    { class: "card", "data-service-id": id },
    el("h3", {}, service.name),
    el("p", { class: "meta" }, t("{service} · {place}", { service: term ? term.name : service.code, place })),
    now,
    el(
      "div",
      { class: "field" },
      el("label", { for: available.id }, words.available),
      el("div", { class: "stepper" }, minus, available, plus),
    ),
    el(
      "div",
      { class: "field" },
      el("label", { for: maximum.id }, words.total),
      maximum,
    ),
    el("div", { class: "actions" }, save, confirm),
    note,
  );
}

let shown = 0; // which organisation load is current, when the picker changes quickly

async function showOrganization(orgId) {
  const ticket = ++shown;
  status.textContent = t("Loading…");
  list.replaceChildren();
  try {
    const [{ data: org }, { data: page }] = await Promise.all([
      api(`/api/v1/organizations/${orgId}`),
      api(`/api/v1/services?organization=${orgId}&limit=200`),
    ]);
    if (ticket !== shown) return;
    orgName.textContent = org.name;
    list.replaceChildren(...page.services.map(card));
    status.textContent = page.services.length
      ? ""
      : t("This organisation has no services in the registry yet.");
  } catch (error) {
    status.textContent = t("Could not load the services: {error}", { error: error.message });
  }
}

async function pickOrganization(me) {
  const params = new URLSearchParams({ limit: "200" });
  if (PARTICIPANTS[me.jurisdiction]) params.set("participant", me.jurisdiction);
  const { data } = await api(`/api/v1/organizations?${params}`);
  orgSelect.replaceChildren(
    ...data.organizations.map((o) =>
      el("option", { value: o.id }, t("{organisation} ({participant})", { organisation: o.name, participant: o.participant })),
    ),
  );
  picker.hidden = false;
  orgSelect.addEventListener("change", () => showOrganization(orgSelect.value));
  if (data.organizations.length) await showOrganization(orgSelect.value);
  else status.textContent = t("No organisation in your jurisdiction yet.");
}

async function start() {
  const me = await signedIn(["provider", "coordinator", "admin"]);
  if (!me) return;
  try {
    terms = new Map((await taxonomy()).map((term) => [term.code, term]));
    if (me.organization_id) await showOrganization(me.organization_id);
    else await pickOrganization(me);
  } catch (error) {
    status.textContent = t("Could not load the page: {error}", { error: error.message });
  }
  document.getElementById("page").dataset.ready = "true";
}

start();
