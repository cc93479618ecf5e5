// The early warning (GET /api/v1/early-warnings, docs/early-warnings.md): days until each
// kind of place (participant × service × group) is full at the last three closed months'
// arrival rate, with its 80 % interval; the ones below their service's threshold first.
// Shown on the coordinator's console and on /gaps.

import { PARTICIPANTS, api, el } from "./session.js";
import { t } from "./i18n.js";

const GROUP_NAMES = {
  all: () => t("everyone"),
  women: () => t("women"),
  men: () => t("men"),
  unaccompanied_children: () => t("unaccompanied children"),
  families: () => t("families"),
  language_not_served: () => t("people whose language is not served"),
};

/** Days in words: "full now", "about 12 days", "more than 10 years". */
export function daysText(days) {
  if (days === null || days === undefined) return t("not in sight");
  if (days === 0) return t("full now");
  if (days < 1) return t("less than a day");
  return t("about {days} days", { days: Math.round(days) });
}

/** Every eligible service's number is stale: the free places, and so the days, are unknown. */
function unknown(w) {
  return w.services > 0 && w.services === w.stale_services;
}

function intervalText(w) {
  if (w.days === 0 || w.days === null || unknown(w)) return "";
  const high = w.high === null ? t("more than 10 years") : t("{days} days", { days: Math.round(w.high) });
  return t("80 % likely between {low} and {high}", { low: Math.round(w.low), high });
}

function row(w, codeNames) {
  const service = codeNames.get(w.code) || w.code;
  const place = `${PARTICIPANTS[w.participant] || w.participant} · ${service} · ${GROUP_NAMES[w.group]()}`;
  const arrivals = w.suppressed
    ? t("fewer than 5 (hidden)")
    : t("{count} in 3 months", { count: w.arrivals });
  const free = w.services === 0
    ? t("no eligible service")
    : t("{free} of {places}", { free: w.free, places: w.places })
      + (w.stale_services ? ` ${t("({count} not current)", { count: w.stale_services })}` : "");
  const threshold = w.threshold_days === null ? "—" : t("{days} days", { days: w.threshold_days });
  return el(
    "tr", { class: w.below ? "warning-below" : null },
    el("th", { scope: "row", "data-label": t("Kind of place") }, place),
    el("td", { "data-label": t("Free places") }, free),
    el("td", { "data-label": t("Arrivals") }, arrivals),
    el(
      "td", { "data-label": t("Full in") },
      el("strong", {}, w.suppressed ? t("hidden") : unknown(w) ? t("unknown: no current number") : daysText(w.days)),
      w.suppressed ? "" : el("span", { class: "hint" }, ` ${intervalText(w)}`),
    ),
    el("td", { "data-label": t("Warn below") }, w.below ? `${threshold} ⚠` : threshold),
  );
}

/** A section of the early warning: heading, explanation, table; returns it to place. */
export function earlyWarningSection() {
  const status = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const body = el("tbody");
  const section = el(
    "section", { id: "early-warning", "aria-labelledby": "early-warning-title" },
    el("h2", { id: "early-warning-title" }, t("Early warning: when places run out")),
    el("p", { class: "hint" }, t(
      "Days until each kind of place is full if people keep arriving as they did in the last three closed months and nobody leaves; the range is 80 % likely. Below the service's threshold first.",
    )),
    status,
    el(
      "div", { class: "table-wrap" },
      el(
        "table", { class: "card-table" },
        el(
          "thead", {},
          el(
            "tr", {},
            el("th", { scope: "col" }, t("Kind of place")),
            el("th", { scope: "col" }, t("Free places")),
            el("th", { scope: "col" }, t("Arrivals")),
            el("th", { scope: "col" }, t("Full in")),
            el("th", { scope: "col" }, t("Warn below")),
          ),
        ),
        body,
      ),
    ),
  );
  return { section, status, body };
}

/**
 * Load the warnings into a section: ``query`` (participant, code, group) filters them;
 * ``limit`` rows at most, only the codes with a threshold when ``warnedOnly``.
 */
export async function loadEarlyWarnings(
  { status, body }, query = {}, { limit = 12, warnedOnly = true, codeNames = new Map() } = {},
) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  status.textContent = t("Loading the early warning…");
  const { data } = await api(`/api/v1/early-warnings?${params}`);
  const rows = data.warnings.filter((w) => !warnedOnly || w.threshold_days !== null);
  body.replaceChildren(...rows.slice(0, limit).map((w) => row(w, codeNames)));
  status.textContent = data.below
    ? t("{count} kinds of place below their threshold.", { count: data.below })
    : t("No kind of place is below its threshold.");
  if (!rows.length) status.textContent = t("No kind of place to show.");
}
