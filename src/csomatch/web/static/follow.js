// Follow a referral to its end (/refer): each need with its own state and offers, and the
// step it waits for — confirm the placement, mark it in service, close it with an outcome,
// or leave it unmet — and cancelling the whole referral with a reason (shown to the referring
// side only), and for a transnational referral its TRM panel (transnational.js). Every step
// is a POST with its own Idempotency-Key, kept for a retry after a lost connection.

import { showHandover } from "./handover.js";
import { showTransnational } from "./transnational.js";
import { dateTime, plural, t } from "./i18n.js";
import { ago, api, el } from "./session.js";
import {
  AT_RISK,
  CANCEL_REASONS,
  NEED_STATES,
  OFFER_STATUS,
  OUTCOMES,
  STATES,
  UNMET_REASONS,
} from "./referwords.js";

/** How often the page looks at the event feed for news of the followed referral. */
const WATCH_MS = 5000;
/** A need's states in which a place may be held for it (another service after a decline). */
export const OPEN_FOR_OFFER = new Set(["suggested", "declined", "expired"]);

const $ = (id) => document.getElementById(id);

/** A random Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** "2 Dec 2026, 00:23 (in 60 min)": a deadline, absolute and how far away. */
export function when(iso) {
  const at = dateTime(iso);
  const minutes = Math.round((Date.parse(iso) - Date.now()) / 60000);
  if (minutes <= 0) return at;
  return minutes < 120
    ? t("{at} (in {count} min)", { at, count: minutes })
    : t("{at} (in {count} h)", { at, count: Math.round(minutes / 60) });
}

function options(select, words, first) {
  select.replaceChildren(el("option", { value: "" }, first),
    ...Object.entries(words).map(([code, text]) => el("option", { value: code }, text)));
}

/**
 * The follow panel of one page. ``ctx`` gives the referral followed (``ctx.id()``), names of
 * services and needs, and what to do after each reading (``ctx.read(referral)``).
 */
export function follower(ctx) {
  let after = null; // the event feed's position (GET /api/v1/events)
  let followed = new Set(); // the followed referral's id and its offers' ids
  const keys = new Map(); // a step's Idempotency-Key, kept until it is answered

  /** POST a step of the referral; a lost connection keeps the key for a retry. */
  async function step(name, body, note, button) {
    const key = keys.get(name) || newKey();
    keys.set(name, key);
    button.disabled = true;
    note.textContent = t("Sending…");
    try {
      await api(`/api/v1/referrals/${ctx.id()}/transitions`, {
        method: "POST", body, headers: { "Idempotency-Key": key },
      });
      keys.delete(name);
      note.textContent = t("Done.");
      await refresh();
      return true;
    } catch (error) {
      if (error.status !== 0) keys.delete(name);
      note.textContent = t("Not done: {error}", { error: error.message });
      button.disabled = false;
      return false;
    }
  }

  function offerLine(o) {
    return el("li", { "data-offer-id": o.id, "data-status": o.status },
      plural(o.places, {
        one: t("{service}: {count} place, {status}"),
        few: t("{service}: {count} places, {status} (few)"),
        other: t("{service}: {count} places, {status}"),
      }, { service: ctx.serviceName(o.service_id), status: OFFER_STATUS[o.status] || o.status }) +
      (o.status === "held" ? t(" until {when}", { when: when(o.expires_at) }) : "") +
      (o.status === "accepted" && o.confirm_by
        ? t(": confirm by {when}", { when: when(o.confirm_by) }) : ""),
      o.at_risk ? el("strong", { class: "at-risk" }, AT_RISK) : "");
  }

  /** The step a need waits for, as a button (with a list of outcomes or reasons). */
  function actions(need, name, note) {
    const i = need.index;
    const body = { need: i };
    const button = (label, to, extra = () => ({})) => {
      const b = el("button", { type: "button", class: "primary",
        "aria-label": t("{action}: {service}", { action: label, service: name }) },
        label);
      b.addEventListener("click", () => {
        const more = extra();
        if (more) step(`${to}-${i}`, { to, ...body, ...more }, note, b);
      });
      return b;
    };
    const choice = (id, label, words, first) => {
      const select = el("select", { id });
      options(select, words, first);
      return [el("div", { class: "field" }, el("label", { for: id }, label), select), select];
    };
    if (need.state === "accepted") return [button(t("Confirm the placement"), "confirmed")];
    if (need.state === "confirmed") return [button(t("Service started"), "in_service")];
    if (need.state === "in_service") {
      const [field, select] = choice(`outcome-${i}`, t("Outcome"), OUTCOMES, t("Choose the outcome…"));
      select.value = "placed";
      return [field, button(t("Close this need"), "closed", () => {
        if (select.value) return { outcome: select.value };
        note.textContent = t("Choose the outcome first.");
        return null;
      })];
    }
    if (OPEN_FOR_OFFER.has(need.state)) {
      const [field, select] = choice(`unmet-${i}`, t("Why leave it unmet"), UNMET_REASONS,
        t("Choose why…"));
      const leave = button(t("Leave unmet"), "unmet", () => {
        if (select.value) return { reason: select.value };
        note.textContent = t("Choose why first.");
        return null;
      });
      leave.className = "secondary";
      return [el("details", { class: "unmet-box" }, el("summary", {}, t("Leave this need unmet")),
        field, leave)];
    }
    return [];
  }

  function needLine(need, offers) {
    const name = ctx.needName(need);
    const note = el("p", { class: "note", role: "status", "aria-live": "polite" });
    const ending = need.state === "closed"
      ? (need.outcome ? t(": {outcome}", { outcome: OUTCOMES[need.outcome] || need.outcome })
        : t(" (cancelled)"))
      : need.state === "unmet"
        ? t(": {reason}", { reason: UNMET_REASONS[need.unmet_reason] || need.unmet_reason }) : "";
    return el("li", { class: "need-line", "data-need": String(need.index), "data-state": need.state },
      el("h3", {}, name),
      el("p", { class: "need-state" }, `${NEED_STATES[need.state] || need.state}${ending}`),
      offers.length ? el("ul", { class: "offer-lines" }, ...offers.map(offerLine)) : "",
      el("div", { class: "actions" }, ...actions(need, name, note)),
      feedbackLink(need),
      note);
  }

  /** Once a need's service is in service (or closed as placed): the person's feedback card. */
  function feedbackLink(need) {
    const placed = need.state === "in_service" || (need.state === "closed" && need.outcome === "placed");
    if (!placed) return "";
    return el("a", { class: "feedback-card-link", href:
      `/feedback-card?referral=${encodeURIComponent(ctx.id())}&need=${need.index}` },
      t("Feedback card for the person"));
  }

  /** Read the referral (GET /api/v1/referrals/{id}) and show each need, its offers, its step. */
  async function refresh() {
    const state = $("follow-state");
    try {
      const { data } = await api(`/api/v1/referrals/${ctx.id()}`);
      const words = STATES[data.state] || data.state;
      const why = data.cancel_reason ? t(": {reason}", { reason: CANCEL_REASONS[data.cancel_reason] }) : "";
      const outcome = data.outcome ? t(": {outcome}", { outcome: OUTCOMES[data.outcome] || data.outcome }) : "";
      state.replaceChildren(el("strong", { class: "referral-state", "data-state": data.state },
        `${words}${why}${outcome}`), t(" · updated {ago}", { ago: ago(data.updated_at) }));
      followed = new Set([data.id, ...data.offers.map((o) => o.id)]);
      $("follow-offers").replaceChildren(...data.needs.map((need) =>
        needLine(need, data.offers.filter((o) => o.need === need.index))));
      // Only the referring side cancels: the server offers the step to it alone.
      const referring = data.allowed_next.includes("cancelled");
      $("cancel-box").hidden = data.state === "draft" || !referring;
      ctx.read(data);
      await showHandover(data.id, data.needs.map((n) => n.state));
      await showTransnational(data, refresh, referring);
    } catch (error) {
      state.textContent = t("Could not read the referral: {error}", { error: error.message });
    }
  }

  /** Read the referral again when the event feed has news of it or of its offers. */
  async function watch() {
    if (!ctx.id() || document.hidden) return;
    try {
      const { data } = await api(after === null ? "/api/v1/events" : `/api/v1/events?after=${after}`);
      const news = after !== null && data.events.some((e) => followed.has(e.object_id));
      after = data.next_after;
      if (news) await refresh();
    } catch {
      // The next look tries again.
    }
  }

  options($("cancel-reason"), CANCEL_REASONS, t("Choose why…"));
  $("cancel").addEventListener("click", () => {
    const reason = $("cancel-reason").value;
    if (!reason) {
      $("cancel-note").textContent = t("Choose why the referral is cancelled.");
      $("cancel-reason").focus();
      return;
    }
    step("cancelled", { to: "cancelled", reason }, $("cancel-note"), $("cancel"));
  });
  $("refresh").addEventListener("click", refresh);

  return {
    refresh,
    show(id) {
      $("follow").hidden = false;
      $("follow-link").href = `/refer?referral=${id}`;
    },
    async start() {
      await watch();
      setInterval(watch, WATCH_MS);
    },
  };
}
