// Survivors' feedback as table rows (GET /api/v1/feedback/summary), for /feedback-summary and
// the provider's own section on /offers: closed quarters, cells of at least five answers.

import { api, el } from "./session.js";

export const QUESTION_NAMES = {
  safe: "Felt safe",
  respected: "Respected",
  understood: "Understood",
  helped: "Helped",
};

/** A mean on the scale 1-5, or why there is none. */
const figure = (value) => (value === null ? "Fewer than 5 answered" : `${value.toFixed(1)} of 5`);

/** One cell as a row; on a phone each row is a card, each figure under its label (app.css). */
export function feedbackRow(cell, by, codeNames = new Map()) {
  const what = by === "service"
    ? `${cell.service_name} (${cell.organization_name})`
    : `${codeNames.get(cell.taxonomy_code) || cell.taxonomy_code}, ${cell.participant}`;
  return el("tr", {}, el("th", { scope: "row" }, cell.quarter),
    el("td", { "data-label": by === "service" ? "Service" : "Kind of service" }, what),
    el("td", { "data-label": "Answers" }, String(cell.answers)),
    ...Object.entries(QUESTION_NAMES).map(([q, name]) =>
      el("td", { "data-label": name }, figure(cell[q]))));
}

/** What the status line says of a summary. */
export function feedbackStatus(data) {
  const shown = data.cells.length
    ? `${data.cells.length} shown.`
    : "Nothing to show yet for these quarters.";
  const hidden = data.suppressed
    ? ` ${data.suppressed} more had fewer than ${data.threshold} answers and are not shown.`
    : "";
  return shown + hidden;
}

/** The provider's own services in the #feedback-record section of /offers. */
export async function showFeedbackRecord() {
  const section = document.getElementById("feedback-record");
  const status = document.getElementById("feedback-record-status");
  section.hidden = false;
  status.textContent = "Loading…";
  try {
    const { data } = await api("/api/v1/feedback/summary?by=service");
    document.querySelector("#feedback-record-table tbody")
      .replaceChildren(...data.cells.map((c) => feedbackRow(c, "service")));
    status.textContent = feedbackStatus(data);
  } catch (error) {
    status.textContent = `Could not load what people said: ${error.message}`;
  }
  section.dataset.ready = "true";
}
