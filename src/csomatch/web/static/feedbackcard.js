// The feedback card (/feedback-card?referral=ID&need=N): issue a one-time feedback code for
// a need's placed service (POST /api/v1/referrals/{id}/feedback-code) and show it once as
// text, link and QR code, with print styles for a paper card.

import { WORDS } from "./feedbackwords.js";
import { t } from "./i18n.js";
import { api, el, signedIn } from "./session.js";

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const referral = query.get("referral") || "";
const need = Number(query.get("need") || "0");

/** A random Idempotency-Key (crypto.randomUUID needs a secure context; this does not). */
function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The QR code from the server (an SVG document of squares, no script) as a node. */
function qrNode(text) {
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (root.nodeName !== "svg" || root.querySelector("script")) return el("span", {}, "");
  root.setAttribute("role", "img");
  root.setAttribute("aria-label", t("QR code of the link"));
  return document.importNode(root, true);
}

function drawCard(issued) {
  $("card-hints").replaceChildren(
    ...Object.entries(WORDS).map(([code, w]) =>
      el("p", { class: "card-hint", lang: code, dir: w.dir }, w.cardHint)),
  );
  $("card-qr").replaceChildren(qrNode(issued.qr_svg));
  $("card-code").textContent = issued.code;
  $("card-link").textContent = issued.link;
  $("card-until").textContent = t("Valid until {date} (one use).", { date: issued.valid_until });
  $("card").hidden = false;
}

async function issue() {
  const button = $("issue");
  const status = $("card-status");
  button.disabled = true;
  status.textContent = t("Issuing…");
  try {
    const { data } = await api(`/api/v1/referrals/${referral}/feedback-code`, {
      method: "POST",
      body: { need },
      headers: { "Idempotency-Key": newKey() },
    });
    status.textContent = t("Issued. Print the card or read the code out now: it is not shown again.");
    drawCard(data);
    button.hidden = true;
  } catch (error) {
    status.textContent = t("Could not issue a code: {error}", { error: error.message });
    button.disabled = false;
  }
}

async function start() {
  const me = await signedIn(["officer", "coordinator", "admin"]);
  if (!me) return;
  $("back").href = `/refer?referral=${encodeURIComponent(referral)}`;
  $("card-for").textContent = t("For need {number} of referral {referral}.",
    { number: need + 1, referral: referral.slice(0, 8) });
  $("issue").addEventListener("click", issue);
  $("print").addEventListener("click", () => window.print());
  document.getElementById("page").dataset.ready = "true";
}

start();
