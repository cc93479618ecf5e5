// My referrals: the open referrals the caller may follow (GET /api/v1/referrals), the ones
// waiting for them first, each linking to /refer?referral={id} where its next step is taken;
// the receiving coordinator of a transnational referral may decline it here, with a reason.

import { plural, t } from "./i18n.js";
import { ago, api, el, signedIn, taxonomy } from "./session.js";
import { DECLINE_REASONS, NEED_STATES, STATES } from "./referwords.js";

const ROLES = ["officer", "coordinator", "admin"];
const URGENCY = { emergency: t("Emergency"), urgent: t("Urgent"), planned: t("Planned") };
const FINISHED = new Set(["closed", "cancelled"]);
/**
 * What a need waits for from the referrer, most pressing first (a lower rank comes first):
 * an accepted offer to confirm before its deadline, a decline or an expiry to place again, a
 * need with no place held, a placement to mark in service or close.
 */
const WAITING = {
  accepted: [0, t("confirm the placement")],
  declined: [1, t("hold a place somewhere else")],
  expired: [1, t("hold a place somewhere else")],
  suggested: [2, t("hold a place")],
  confirmed: [3, t("mark it in service when it starts")],
  in_service: [4, t("close it when it ends")],
};
/** A referral that waits for no step of the referrer (its providers have the next word). */
const NOT_WAITING = 9;
const PAGE = 200;

const $ = (id) => document.getElementById(id);
let codeNames = new Map();
let caller = null; // GET /api/v1/me
/** States in which the receiving side may decline a transnational referral. */
const DECLINABLE = new Set(["matched", "offered", "accepted", "declined", "expired", "confirmed",
  "in_service"]);
const declineKeys = new Map(); // a decline's Idempotency-Key per referral, kept for a retry

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Whether the caller is the receiving side of a transnational referral (its coordinator). */
export function receivingSide(me, referral) {
  return Boolean(me && referral.transnational && ["coordinator", "admin"].includes(me.role) &&
    me.jurisdiction === referral.receiving_participant);
}

/** The receiving side's decline: a reason code, then POST /api/v1/referrals/{id}/decline. */
function declineBox(referral) {
  const id = `decline-${referral.id}`;
  const reason = el("select", { id });
  reason.append(el("option", { value: "" }, t("Choose why…")),
    ...Object.entries(DECLINE_REASONS).map(([code, text]) => el("option", { value: code }, text)));
  const note = el("p", { class: "note", role: "status", "aria-live": "polite" });
  const button = el("button", { type: "button", class: "secondary decline-referral" },
    t("Decline: return it to the referring side"));
  button.addEventListener("click", async () => {
    if (!reason.value) {
      note.textContent = t("Choose why the referral is declined.");
      reason.focus();
      return;
    }
    const key = declineKeys.get(referral.id) || newKey();
    declineKeys.set(referral.id, key);
    button.disabled = true;
    note.textContent = t("Sending…");
    try {
      await api(`/api/v1/referrals/${referral.id}/decline`, {
        method: "POST", body: { reason: reason.value }, headers: { "Idempotency-Key": key },
      });
      declineKeys.delete(referral.id);
      note.textContent = t("Declined: it is back with the referring side.");
      await load();
    } catch (error) {
      if (error.status !== 0) declineKeys.delete(referral.id);
      note.textContent = t("Not declined: {error}", { error: error.message });
      button.disabled = false;
    }
  });
  return el("details", { class: "filters decline-box" },
    el("summary", {}, t("Decline as {participant} (receiving side)",
      { participant: referral.receiving_participant })),
    el("p", { class: "hint" }, t("Declining releases every place held for it and returns it to " +
      "the referring side as submitted, to be matched again.")),
    el("div", { class: "field" }, el("label", { for: id }, t("Why is it declined?")), reason),
    button, note);
}

/** The most pressing step a referral waits for: [rank, words] (draft and submitted: go on). */
export function waitingFor(referral) {
  if (referral.state === "draft") return [2, t("submit it")];
  let best = [NOT_WAITING, t("waiting for the providers' answers")];
  for (const need of referral.needs) {
    const w = WAITING[need.state];
    if (w && w[0] < best[0]) best = w;
  }
  return best;
}

function line(referral) {
  const [rank, words] = waitingFor(referral);
  const needs = referral.needs.map((n) => el("li", { "data-need": String(n.index), "data-state": n.state },
    t("{service}: {state}", { service: codeNames.get(n.code) || n.code, state: NEED_STATES[n.state] || n.state })));
  return el("li", { class: "card referral-line", "data-referral": referral.id, "data-rank": String(rank) },
    el("h2", {}, el("a", { href: `/refer?referral=${referral.id}` },
      `${STATES[referral.state] || referral.state}`)),
    el("p", { class: rank < NOT_WAITING ? "waiting" : "meta" },
      rank < NOT_WAITING ? t("Waiting for you: {step}", { step: words }) : words),
    el("ul", { class: "needs-summary" }, ...needs),
    el("p", { class: "meta" },
      t("{urgency} · {agency} · updated {ago}", {
        urgency: URGENCY[referral.urgency] || referral.urgency,
        agency: referral.agency || t("no agency"),
        ago: ago(referral.updated_at),
      })),
    receivingSide(caller, referral) && DECLINABLE.has(referral.state) ? declineBox(referral) : "");
}

async function load() {
  $("status").textContent = t("Loading…");
  try {
    const { data } = await api(`/api/v1/referrals?limit=${PAGE}`);
    const open = data.referrals.filter((r) => !FINISHED.has(r.state));
    open.sort((a, b) => waitingFor(a)[0] - waitingFor(b)[0] ||
      Date.parse(b.updated_at) - Date.parse(a.updated_at));
    $("referrals").replaceChildren(...open.map(line));
    const waiting = open.filter((r) => waitingFor(r)[0] < NOT_WAITING).length;
    $("status").textContent = open.length
      ? plural(open.length, {
        one: t("{count} open referral; {waiting} waiting for you."),
        few: t("{count} open referrals; {waiting} waiting for you. (few)"),
        other: t("{count} open referrals; {waiting} waiting for you."),
      }, { waiting })
      : t("No open referrals.");
  } catch (error) {
    $("status").textContent = t("Could not read the referrals: {error}", { error: error.message });
  }
}

async function start() {
  const me = await signedIn(ROLES);
  if (!me) return;
  caller = me;
  try {
    codeNames = new Map((await taxonomy()).map((term) => [term.code, term.name]));
  } catch {
    // Codes are shown instead of names.
  }
  $("refresh").addEventListener("click", load);
  await load();
  $("referrals").dataset.ready = "true";
}

start();
