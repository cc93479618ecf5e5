// Survivors' feedback as table rows (GET /api/v1/feedback/summary), for /feedback-summary and
// the provider's own section on /offers: closed quarters, cells of at least five answers.

import { number, t } from "./i18n.js";
import { api, el } from "./session.js";

export const QUESTION_NAMES = {
  safe: t("Felt safe"),
  respected: t("Respected"),
  understood: t("Understood"),
  helped: t("Helped"),
};

/** A mean on the scale 1-5, or why there is none. */
const figure = (value) => (value === null
  ? t("Fewer than 5 answered")
  : t("{mean} of 5", { mean: number(value, { minimumFractionDigits: 1, maximumFractionDigits: 1 }) }));

/** One cell as a row; on a phone each row is a card, each figure under its label (app.css). */
export function feedbackRow(cell, by, codeNames = new Map()) {
  const what = by === "service"
    ? t("{service} ({organisation})", { service: cell.service_name, organisation: cell.organization_name })
    : t("{kind}, {participant}",
      { kind: codeNames.get(cell.taxonomy_code) || cell.taxonomy_code, participant: cell.participant });
  return el("tr", {}, el("th", { scope: "row" }, cell.quarter),
    el("td", { "data-label": by === "service" ? t("Service") : t("Kind of service") }, what),
    el("td", { "data-label": t("Answers") }, String(cell.answers)),
    ...Object.entries(QUESTION_NAMES).map(([q, name]) =>
      el("td", { "data-label": name }, figure(cell[q]))));
}

/** What the status line says of a summary. */
export function feedbackStatus(data) {
  const shown = data.cells.length
    ? t("{count} shown.", { count: data.cells.length })
    : t("Nothing to show yet for these quarters.");
  const hidden = data.suppressed
    ? t("{count} more had fewer than {threshold} answers and are not shown.",
      { count: data.suppressed, threshold: data.threshold })
    : "";
  return hidden ? `${shown} ${hidden}` : shown;
}

/** The provider's own services in the #feedback-record section of /offers. */
export async function showFeedbackRecord() {
  const section = document.getElementById("feedback-record");
  const status = document.getElementById("feedback-record-status");
  section.hidden = false;
  status.textContent = t("Loading…");
  try {
    const { data } = await api("/api/v1/feedback/summary?by=service");
    document.querySelector("#feedback-record-table tbody")
      .replaceChildren(...data.cells.map((c) => feedbackRow(c, "service")));
    status.textContent = feedbackStatus(data);
  } catch (error) {
    status.textContent = t("Could not load what people said: {error}", { error: error.message });
  }
  section.dataset.ready = "true";
}
