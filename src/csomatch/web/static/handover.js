// The handover on the officer's referral page (/refer, called by follow.js): once a need's
// placement is confirmed and while it is active (the need confirmed or in service), each
// placed service's duty phone and, for a confidential shelter, its
// address for the escort (GET /api/v1/referrals/{id}/handover; each read is audited).

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
      el("dt", {}, "Service"), el("dd", {}, `${p.service_name} (${p.organization_name})`),
      el("dt", {}, "Duty phone"),
      el("dd", {}, p.duty_phone
        ? el("a", { href: `tel:${p.duty_phone}`, class: "duty-phone" }, p.duty_phone)
        : "The service has given no duty phone"),
      el("dt", {}, p.confidential ? "Address for the escort" : "Address"),
      el("dd", {}, p.address || p.municipality),
    ));
    const confidential = data.placements.some((p) => p.confidential);
    box.replaceChildren(
      el("h3", {}, "Handover"),
      el("p", { class: "hint" }, "Shown while the placement is active; this read is recorded." +
        (confidential ? " The address is confidential: do not write it down or pass it on." : "")),
      ...blocks,
    );
    box.hidden = false;
  } catch (error) {
    box.replaceChildren(el("p", { class: "note" }, `Could not read the handover: ${error.message}`));
    box.hidden = false;
  }
}
