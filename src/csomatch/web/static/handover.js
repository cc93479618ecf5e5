// The handover on the officer's referral page (/refer, called by follow.js): once a need's
// placement is confirmed and while it is active (the need confirmed or in service), each
// placed service's duty phone and, for a confidential shelter, its
// address for the escort (GET /api/v1/referrals/{id}/handover; each read is audited).

import { t } from "./i18n.js";
import { api, el } from "./session.js";

const ACTIVE = new Set(["confirmed", "in_service"]);

/** Show (or hide) the handover of referral `id`, its needs in `needStates`, in #handover. */
export async function showHandover(id, needStates) {
  const box = document.getElementById("handover");
  if (!needStates.some((s) => ACTIVE.has(s))) {
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  try {
    const { data } = await api(`/api/v1/referrals/${id}/handover`);
    // One block per active placement of the care plan (a shelter, counselling, ...).
    const blocks = data.placements.map((p) => el("dl", { class: "facts-list" },
      el("dt", {}, t("Service")),
      el("dd", {}, t("{service} ({organisation})",
        { service: p.service_name, organisation: p.organization_name })),
      el("dt", {}, t("Duty phone")),
      el("dd", {}, p.duty_phone
        ? el("a", { href: `tel:${p.duty_phone}`, class: "duty-phone" }, p.duty_phone)
        : t("The service has given no duty phone")),
      el("dt", {}, p.confidential ? t("Address for the escort") : t("Address")),
      el("dd", {}, p.address || p.municipality),
    ));
    const confidential = data.placements.some((p) => p.confidential);
    box.replaceChildren(
      el("h3", {}, t("Handover")),
      el("p", { class: "hint" }, confidential
        ? t("Shown while the placement is active; this read is recorded. The address is " +
            "confidential: do not write it down or pass it on.")
        : t("Shown while the placement is active; this read is recorded.")),
      ...blocks,
    );
    box.hidden = false;
  } catch (error) {
    box.replaceChildren(el("p", { class: "note" },
      t("Could not read the handover: {error}", { error: error.message })));
    box.hidden = false;
  }
}
