// The handover on the officer's referral page (/refer, called by follow.js): once a need's
// placement is confirmed and while it is active (the need confirmed or in service), the placed service's duty phone and, for a confidential shelter, its
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
    const rows = [
      el("dt", {}, "Service"), el("dd", {}, `${data.service_name} (${data.organization_name})`),
      el("dt", {}, "Duty phone"),
      el("dd", {}, data.duty_phone
        ? el("a", { href: `tel:${data.duty_phone}`, class: "duty-phone" }, data.duty_phone)
        : "The service has given no duty phone"),
      el("dt", {}, data.confidential ? "Address for the escort" : "Address"),
      el("dd", {}, data.address || data.municipality),
    ];
    box.replaceChildren(
      el("h3", {}, "Handover"),
      el("p", { class: "hint" }, "Shown while the placement is active; this read is recorded." +
        (data.confidential ? " The address is confidential: do not write it down or pass it on." : "")),
      el("dl", { class: "facts-list" }, ...rows),
    );
    box.hidden = false;
  } catch (error) {
    box.replaceChildren(el("p", { class: "note" }, `Could not read the handover: ${error.message}`));
    box.hidden = false;
  }
}
