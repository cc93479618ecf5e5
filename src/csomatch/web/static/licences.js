// Licences: coordinators see their jurisdiction's, the soonest to end first, and add, renew,
// suspend, revoke and reinstate them; a provider sees its own organisation's, read-only.
// Every change sends If-Match (a 412 reloads the list) and an Idempotency-Key.

import { PARTICIPANTS, api, el, fieldError, signedIn, taxonomy, taxonomyOptions } from "./session.js";

const $ = (id) => document.getElementById(id);
const table = $("licences");
const rows = table.querySelector("tbody");
const status = $("status");
const change = $("change");
const addForm = $("add");

/** Why a licence was suspended or revoked, in words (the server's codes). */
export const REASONS = {
  inspection_failed: "inspection failed",
  standards_not_met: "minimum standards not met",
  authority_request: "at the authority's request",
  closed: "service closed",
  other: "other reason",
};

/** A licence's state in words: text first, so colour is never the only sign. */
export function stateText(lic) {
  const days = lic.days_until_expiry;
  const reason = lic.status_reason ? ` (${REASONS[lic.status_reason] || lic.status_reason})` : "";
  switch (lic.state) {
    case "expiring":
      return days === 0 ? "Expiring: last day today" : `Expiring in ${days} day${days === 1 ? "" : "s"}`;
    case "expired":
      return `Expired ${-days} day${days === -1 ? "" : "s"} ago`;
    case "suspended":
      return `Suspended${reason}`;
    case "revoked":
      return `Revoked${reason}`;
    case "not_yet_valid":
      return "Not yet valid";
    default:
      return "Valid";
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
    tools.push(actionButton(lic, "renew", "Renew"));
    if (lic.status === "active") tools.push(actionButton(lic, "suspend", "Suspend"));
    if (lic.status === "suspended") tools.push(actionButton(lic, "reinstate", "Reinstate"));
    tools.push(actionButton(lic, "revoke", "Revoke"));
  }
  return el(
    "tr",
    { "data-licence-id": lic.id, "data-state": lic.state },
    el("th", { scope: "row", "data-label": "Organisation" }, `${lic.organization_name} (${lic.participant})`),
    cell("Licence", `${lic.authority}, no. ${lic.number}`),
    cell("Services", lic.service_codes.join(", ")),
    cell("Valid until", lic.valid_to || "no end date"),
    cell("State", el("span", { class: `badge licence ${lic.state}` }, stateText(lic))),
    manage ? el("td", { class: "manage" }, el("div", { class: "actions" }, ...tools)) : null,
  );
}

async function load() {
  status.textContent = "Loading…";
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
    status.textContent = n ? `${n} licence${n === 1 ? "" : "s"}.` : "No licences to show.";
  } catch (error) {
    status.textContent = `Could not load the licences: ${error.message}`;
  }
}

const TITLES = {
  renew: "Renew the licence",
  suspend: "Suspend the licence",
  revoke: "Revoke the licence (final)",
  reinstate: "Reinstate the licence",
};

function openChange(lic, action) {
  pending = { lic, action, key: newKey() };
  $("change-title").textContent = TITLES[action];
  $("change-which").textContent = `${lic.organization_name}: ${lic.authority}, no. ${lic.number}`;
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
    fieldError($("change-to"), "Pick the new last valid day.");
    $("change-to").focus();
    return;
  }
  $("change-note").textContent = "Saving…";
  try {
    await api(`/api/v1/organizations/${lic.organization_id}/licences/${lic.id}/${action}`, {
      method: "POST",
      body: changeBody(action),
      headers: { "If-Match": `"${lic.version}"`, "Idempotency-Key": key },
    });
    change.hidden = true;
    await load();
    status.textContent = `Saved. ${status.textContent}`;
  } catch (error) {
    if (error.status === 412) {
      change.hidden = true;
      await load();
      status.textContent = "Someone else changed this licence a moment ago; here it is as it is now.";
    } else if (error.field === "$.valid_to") {
      $("change-note").textContent = "";
      fieldError($("change-to"), error.message);
    } else {
      $("change-note").textContent = `Not saved: ${error.message}`;
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
    fieldError($("add-from"), "Pick the first valid day.");
    return;
  }
  if (!codes.length) {
    fieldError($("add-codes"), "Pick at least one service the licence covers.");
    return;
  }
  for (const [name, id] of [["valid_to", "add-to"], ["evidence_ref", "add-evidence"], ["verified_by", "add-verified"]]) {
    const value = $(id).value.trim();
    if (value) body[name] = value;
  }
  $("add-note").textContent = "Adding…";
  try {
    await api(`/api/v1/organizations/${$("add-org").value}/licences`, {
      method: "POST", body, headers: { "Idempotency-Key": addKey },
    });
    addKey = newKey();
    addForm.reset();
    $("add-note").textContent = "Added.";
    await load();
  } catch (error) {
    const id = ADD_FIELDS[(error.field || "").replace(/\[\d+\]$/, "")];
    if (id) {
      $("add-note").textContent = "";
      fieldError($(id), error.message);
    } else {
      $("add-note").textContent = `Not added: ${error.message}`;
    }
  }
}

async function setUpManaging() {
  $("intro").textContent =
    "Licences of your jurisdiction's organisations, the soonest to end first. The matcher " +
    "counts a licence only while it is valid: not suspended, revoked or past its last day. " +
    "Reminders go out 90, 30 and 7 days before the end.";
  $("filters").hidden = false;
  $("show").addEventListener("change", load);
  const params = new URLSearchParams({ limit: "200" });
  if (PARTICIPANTS[me.jurisdiction]) params.set("participant", me.jurisdiction);
  const [{ data: orgs }, terms] = await Promise.all([
    api(`/api/v1/organizations?${params}`),
    taxonomy(),
  ]);
  $("add-org").replaceChildren(
    ...orgs.organizations.map((o) => el("option", { value: o.id }, `${o.name} (${o.participant})`)),
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
      "Your organisation's licences and when they end. A coordinator renews, suspends or " +
      "revokes them; reminders reach your webhooks 90, 30 and 7 days before the end.";
  }
  try {
    if (manage) await setUpManaging();
    await load();
  } catch (error) {
    status.textContent = `Could not load the page: ${error.message}`;
  }
  $("page").dataset.ready = "true";
}

start();
