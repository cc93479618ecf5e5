// Licences: coordinators see their jurisdiction's, the soonest to end first, and add, renew,
// suspend, revoke and reinstate them; a provider sees its own organisation's, read-only.
// Every change sends If-Match (a 412 reloads the list) and an Idempotency-Key.

import { date, plural, t } from "./i18n.js";
import { PARTICIPANTS, api, el, fieldError, signedIn, taxonomy, taxonomyOptions } from "./session.js";

const $ = (id) => document.getElementById(id);
const table = $("licences");
const rows = table.querySelector("tbody");
const status = $("status");
const change = $("change");
const addForm = $("add");

/** Why a licence was suspended or revoked, in words (the server's codes). */
export const REASONS = {
  inspection_failed: t("inspection failed"),
  standards_not_met: t("minimum standards not met"),
  authority_request: t("at the authority's request"),
  closed: t("service closed"),
  other: t("other reason"),
};

/** A licence's state in words: text first, so colour is never the only sign. */
export function stateText(lic) {
  const days = lic.days_until_expiry;
  const reason = REASONS[lic.status_reason] || lic.status_reason;
  switch (lic.state) {
    case "expiring":
      return days === 0 ? t("Expiring: last day today") : plural(days, {
        one: t("Expiring in {count} day"), few: t("Expiring in {count} days (few)"),
        other: t("Expiring in {count} days"),
      });
    case "expired":
      return plural(-days, {
        one: t("Expired {count} day ago"), few: t("Expired {count} days ago (few)"),
        other: t("Expired {count} days ago"),
      });
    case "suspended":
      return reason ? t("Suspended ({reason})", { reason }) : t("Suspended");
    case "revoked":
      return reason ? t("Revoked ({reason})", { reason }) : t("Revoked");
    case "not_yet_valid":
      return t("Not yet valid");
    default:
      return t("Valid");
  }
}

/** A random Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let me = null;
let manage = false;
let pending = null; // { lic, action, key }: the change the form is making

function cell(label, ...children) {
  return el("td", { "data-label": label }, ...children);
}

function actionButton(lic, action, label) {
  const button = el("button", { type: "button", class: "secondary", "data-action": action }, label);
  button.addEventListener("click", () => openChange(lic, action));
  return button;
}

function row(lic) {
  const tools = [];
  if (manage && lic.status !== "revoked") {
    tools.push(actionButton(lic, "renew", t("Renew")));
    if (lic.status === "active") tools.push(actionButton(lic, "suspend", t("Suspend")));
    if (lic.status === "suspended") tools.push(actionButton(lic, "reinstate", t("Reinstate")));
    tools.push(actionButton(lic, "revoke", t("Revoke")));
  }
  return el(
    "tr",
    { "data-licence-id": lic.id, "data-state": lic.state },
    el("th", { scope: "row", "data-label": t("Organisation") },
      t("{organisation} ({participant})", { organisation: lic.organization_name, participant: lic.participant })),
    cell(t("Licence"), t("{authority}, no. {number}", { authority: lic.authority, number: lic.number })),
    cell(t("Services"), lic.service_codes.join(", ")),
    cell(t("Valid until"), lic.valid_to ? date(lic.valid_to) : t("no end date")),
    cell(t("State"), el("span", { class: `badge licence ${lic.state}` }, stateText(lic))),
    manage ? el("td", { class: "manage" }, el("div", { class: "actions" }, ...tools)) : null,
  );
}

async function load() {
  status.textContent = t("Loading…");
  try {
    let url;
    if (manage) {
      const params = new URLSearchParams();
      if ($("show").value) params.set("expiring_within", $("show").value);
      url = `/api/v1/licences?${params}`;
    } else {
      url = `/api/v1/organizations/${me.organization_id}/licences`;
    }
    const { data } = await api(url);
    rows.replaceChildren(...data.licences.map(row));
    const n = data.licences.length;
    status.textContent = n
      ? plural(n, { one: t("{count} licence."), few: t("{count} licences. (few)"), other: t("{count} licences.") })
      : t("No licences to show.");
  } catch (error) {
    status.textContent = t("Could not load the licences: {error}", { error: error.message });
  }
}

const TITLES = {
  renew: t("Renew the licence"),
  suspend: t("Suspend the licence"),
  revoke: t("Revoke the licence (final)"),
  reinstate: t("Reinstate the licence"),
};

function openChange(lic, action) {
  pending = { lic, action, key: newKey() };
  $("change-title").textContent = TITLES[action];
  $("change-which").textContent = t("{organisation}: {authority}, no. {number}",
    { organisation: lic.organization_name, authority: lic.authority, number: lic.number });
  $("change-to-field").hidden = action !== "renew";
  $("change-evidence-field").hidden = action !== "renew";
  $("change-reason-field").hidden = action !== "suspend" && action !== "revoke";
  $("change-to").value = "";
  $("change-evidence").value = "";
  $("change-note").textContent = "";
  fieldError($("change-to"), "");
  change.hidden = false;
  (action === "renew" ? $("change-to") : $("change-save")).focus();
}

function changeBody(action) {
  if (action === "renew") {
    const body = { valid_to: $("change-to").value };
    const evidence = $("change-evidence").value.trim();
    if (evidence) body.evidence_ref = evidence;
    return body;
  }
  if (action === "reinstate") return undefined;
  return { reason: $("change-reason").value };
}

async function saveChange(event) {
  event.preventDefault();
  const { lic, action, key } = pending;
  if (action === "renew" && !$("change-to").value) {
    fieldError($("change-to"), t("Pick the new last valid day."));
    $("change-to").focus();
    return;
  }
  $("change-note").textContent = t("Saving…");
  try {
    await api(`/api/v1/organizations/${lic.organization_id}/licences/${lic.id}/${action}`, {
      method: "POST",
      body: changeBody(action),
      headers: { "If-Match": `"${lic.version}"`, "Idempotency-Key": key },
    });
    change.hidden = true;
    await load();
    status.textContent = t("Saved. {status}", { status: status.textContent });
  } catch (error) {
    if (error.status === 412) {
      change.hidden = true;
      await load();
      status.textContent = t("Someone else changed this licence a moment ago; here it is as it is now.");
    } else if (error.field === "$.valid_to") {
      $("change-note").textContent = "";
      fieldError($("change-to"), error.message);
    } else {
      $("change-note").textContent = t("Not saved: {error}", { error: error.message });
    }
  }
}

const ADD_FIELDS = {
  "$.authority": "add-authority",
  "$.number": "add-number",
  "$.service_codes": "add-codes",
  "$.valid_from": "add-from",
  "$.valid_to": "add-to",
  "$.evidence_ref": "add-evidence",
  "$.verified_by": "add-verified",
};
let addKey = newKey();

async function addLicence(event) {
  event.preventDefault();
  for (const id of Object.values(ADD_FIELDS)) fieldError($(id), "");
  const codes = Array.from($("add-codes").selectedOptions, (o) => o.value);
  const body = {
    authority: $("add-authority").value.trim(),
    number: $("add-number").value.trim(),
    service_codes: codes,
    valid_from: $("add-from").value,
  };
  if (!body.valid_from) {
    fieldError($("add-from"), t("Pick the first valid day."));
    return;
  }
  if (!codes.length) {
    fieldError($("add-codes"), t("Pick at least one service the licence covers."));
    return;
  }
  for (const [name, id] of [["valid_to", "add-to"], ["evidence_ref", "add-evidence"], ["verified_by", "add-verified"]]) {
    const value = $(id).value.trim();
    if (value) body[name] = value;
  }
  $("add-note").textContent = t("Adding…");
  try {
    await api(`/api/v1/organizations/${$("add-org").value}/licences`, {
      method: "POST", body, headers: { "Idempotency-Key": addKey },
    });
    addKey = newKey();
    addForm.reset();
    $("add-note").textContent = t("Added.");
    await load();
  } catch (error) {
    const id = ADD_FIELDS[(error.field || "").replace(/\[\d+\]$/, "")];
    if (id) {
      $("add-note").textContent = "";
      fieldError($(id), error.message);
    } else {
      $("add-note").textContent = t("Not added: {error}", { error: error.message });
    }
  }
}

async function setUpManaging() {
  $("intro").textContent =
    t("Licences of your jurisdiction's organisations, the soonest to end first. The matcher " +
    "counts a licence only while it is valid: not suspended, revoked or past its last day. " +
    "Reminders go out 90, 30 and 7 days before the end.");
  $("filters").hidden = false;
  $("show").addEventListener("change", load);
  const params = new URLSearchParams({ limit: "200" });
  if (PARTICIPANTS[me.jurisdiction]) params.set("participant", me.jurisdiction);
  const [{ data: orgs }, terms] = await Promise.all([
    api(`/api/v1/organizations?${params}`),
    taxonomy(),
  ]);
  $("add-org").replaceChildren(
    ...orgs.organizations.map((o) => el("option", { value: o.id },
      t("{organisation} ({participant})", { organisation: o.name, participant: o.participant }))),
  );
  taxonomyOptions($("add-codes"), terms);
  $("change-reason").replaceChildren(
    ...Object.entries(REASONS).map(([code, words]) => el("option", { value: code }, words)),
  );
  change.addEventListener("submit", saveChange);
  $("change-cancel").addEventListener("click", () => {
    change.hidden = true;
  });
  addForm.addEventListener("submit", addLicence);
  addForm.hidden = false;
}

async function start() {
  me = await signedIn(["provider", "coordinator", "admin"]);
  if (!me) return;
  manage = me.role !== "provider";
  table.classList.toggle("read-only", !manage);
  if (!manage) {
    table.querySelector("th.manage").remove();
    $("intro").textContent =
      t("Your organisation's licences and when they end. A coordinator renews, suspends or " +
      "revokes them; reminders reach your webhooks 90, 30 and 7 days before the end.");
  }
  try {
    if (manage) await setUpManaging();
    await load();
  } catch (error) {
    status.textContent = t("Could not load the page: {error}", { error: error.message });
  }
  $("page").dataset.ready = "true";
}

start();
