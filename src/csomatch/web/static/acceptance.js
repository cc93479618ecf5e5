// The provider's own acceptance record on the offers page
// (GET /api/v1/organizations/{id}/acceptance-record): closed quarters, newest first.

import { api, el } from "./session.js";

/** A quarter label ("2026-Q3") in words. */
function quarterName(label) {
  const [year, q] = label.split("-Q");
  return `${["January–March", "April–June", "July–September", "October–December"][q - 1]} ${year}`;
}

function row(q) {
  const name = el("th", { scope: "row" }, quarterName(q.quarter));
  if (q.too_few_offers) {
    return el("tr", { class: "too-few" }, name,
      el("td", { colspan: "4" }, "Too few offers to count"));
  }
  const rate = q.acceptance_rate === null ? "No offer counts" : `${Math.round(q.acceptance_rate * 100)}%`;
  // data-label: on a phone each quarter is a card, each figure labelled (app.css).
  return el("tr", {}, name,
    el("td", { "data-label": "Offers" }, String(q.offers)),
    el("td", { "data-label": "Counted" }, String(q.counted_offers)),
    el("td", { "data-label": "Accepted" }, String(q.accepted)),
    el("td", { "data-label": "Acceptance rate" }, rate));
}

/** Show the record of the provider's organisation in the #acceptance section. */
export async function showAcceptanceRecord(organizationId) {
  const section = document.getElementById("acceptance");
  const status = document.getElementById("acceptance-status");
  const body = document.querySelector("#acceptance-quarters tbody");
  section.hidden = false;
  status.textContent = "Loading…";
  try {
    const { data } = await api(`/api/v1/organizations/${organizationId}/acceptance-record`);
    body.replaceChildren(...data.quarters.map(row));
    const shown = data.quarters.filter((q) => !q.too_few_offers).length;
    status.textContent = shown
      ? `${shown} of the last ${data.quarters.length} quarters have enough offers to count.`
      : `None of the last ${data.quarters.length} quarters has enough offers to count yet.`;
  } catch (error) {
    status.textContent = `Could not load your acceptance record: ${error.message}`;
  }
  section.dataset.ready = "true";
}
