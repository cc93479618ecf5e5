// What people said (/feedback-summary): survivors' feedback summed per service, or per
// service code and participant (GET /api/v1/feedback/summary), closed quarters only, cells
// of at least five answers. Providers see their own services; funders per code only.

import { feedbackRow, feedbackStatus } from "./feedbacktable.js";
import { t } from "./i18n.js";
import { api, el, signedIn, taxonomy } from "./session.js";

const $ = (id) => document.getElementById(id);
let codeNames = new Map();

/** The labels of the last four quarters that are over, newest first ("2026-Q3"). */
function closedQuarters(today = new Date()) {
  let year = today.getUTCFullYear();
  let q = Math.floor(today.getUTCMonth() / 3); // the current one is q + 1; the last closed q
  const out = [];
  while (out.length < 4) {
    if (q === 0) {
      year -= 1;
      q = 4;
    }
    out.push(`${year}-Q${q}`);
    q -= 1;
  }
  return out;
}

async function show() {
  const by = $("fs-by").value;
  const q = new URLSearchParams({ by });
  if ($("fs-quarter").value) q.set("period", $("fs-quarter").value);
  $("fs-what").textContent = by === "service" ? t("Service") : t("Kind of service, participant");
  $("fs-status").textContent = t("Loading…");
  try {
    const { data } = await api(`/api/v1/feedback/summary?${q}`);
    $("fs-table").querySelector("tbody")
      .replaceChildren(...data.cells.map((c) => feedbackRow(c, by, codeNames)));
    $("fs-status").textContent = feedbackStatus(data);
  } catch (error) {
    $("fs-status").textContent = t("Could not read the feedback: {error}", { error: error.message });
  }
}

async function start() {
  const me = await signedIn(["provider", "coordinator", "admin", "funder"]);
  if (!me) return;
  for (const label of closedQuarters()) $("fs-quarter").append(el("option", { value: label }, label));
  if (me.role === "funder") {
    $("fs-by").value = "code";
    $("fs-by-field").hidden = true;
  }
  try {
    codeNames = new Map((await taxonomy()).map((term) => [term.code, term.name]));
  } catch {
    // Codes are shown as they are.
  }
  $("fs-by").addEventListener("change", show);
  $("fs-quarter").addEventListener("change", show);
  await show();
  document.getElementById("page").dataset.ready = "true";
}

start();
