// The provider's own acceptance record on the offers page
// (GET /api/v1/organizations/{id}/acceptance-record): closed quarters, newest first.

import { number, t } from "./i18n.js";
import { api, el } from "./session.js";

/** A quarter label ("2026-Q3") in words. */
function quarterName(label) {
  const [year, q] = label.split("-Q");
  const names = [t("January–March {year}", { year }), t("April–June {year}", { year }),
    t("July–September {year}", { year }), t("October–December {year}", { year })];
  return names[q - 1];
}

function row(q) {
  const name = el("th", { scope: "row" }, quarterName(q.quarter));
  if (q.too_few_offers) {
    return el("tr", { class: "too-few" }, name,
      el("td", { colspan: "4" }, t("Too few offers to count")));
  }
  const rate = q.acceptance_rate === null
    ? t("No offer counts")
    : number(q.acceptance_rate, { style: "percent" });
  // data-label: on a phone each quarter is a card, each figure labelled (app.css).
  return el("tr", {}, name,
    el("td", { "data-label": t("Offers") }, String(q.offers)),
    el("td", { "data-label": t("Counted") }, String(q.counted_offers)),
    el("td", { "data-label": t("Accepted") }, String(q.accepted)),
    el("td", { "data-label": t("Acceptance rate") }, rate));
}

/** Show the record of the provider's organisation in the #acceptance section. */
export async function showAcceptanceRecord(organizationId) {
  const section = document.getElementById("acceptance");
  const status = document.getElementById("acceptance-status");
  const body = document.querySelector("#acceptance-quarters tbody");
  section.hidden = false;
  status.textContent = t("Loading…");
  try {
    const { data } = await api(`/api/v1/organizations/${organizationId}/acceptance-record`);
    body.replaceChildren(...data.quarters.map(row));
    const shown = data.quarters.filter((q) => !q.too_few_offers).length;
    status.textContent = shown
      ? t("{shown} of the last {count} quarters have enough offers to count.",
        { shown, count: data.quarters.length })
      : t("None of the last {count} quarters has enough offers to count yet.",
        { count: data.quarters.length });
  } catch (error) {
    status.textContent = t("Could not load your acceptance record: {error}", { error: error.message });
  }
  section.dataset.ready = "true";
}
