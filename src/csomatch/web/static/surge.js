// A surge on /refer: many people identified at once in one town (a raid, a boat). The officer
// lists needs profiles — how many people share each, who is placed together, the services,
// the language; never identity —, sees the joint plan (POST /api/v1/match/batch) and books
// it (POST /api/v1/match/surge): each person becomes a referral with a place held at every
// service of the plan, whole or reported. The booking's Idempotency-Key is kept until the
// list changes, so pressing the button twice, or again after a lost connection, books once.

import { newKey } from "./follow.js";
import { t } from "./i18n.js";
import { LANGUAGES } from "./languages.js";
import { REASONS } from "./referwords.js";
import { api, areaPicker, el, fieldError } from "./session.js";

const MAX_PEOPLE = 100; // the API's limit for one surge, children included

/** Who a row describes: the profile fields it sends (children's bands for a family). */
const WHO = {
  woman: { gender: "female", age_band: "25-59" },
  man: { gender: "male", age_band: "25-59" },
  young_woman: { gender: "female", age_band: "18-24" },
  young_man: { gender: "male", age_band: "18-24" },
  mother_children: { gender: "female", age_band: "25-59", group_children_age_bands: ["0-5", "6-13"] },
  father_children: { gender: "male", age_band: "25-59", group_children_age_bands: ["0-5", "6-13"] },
  girl_alone: { gender: "female", age_band: "14-17", child: true },
  boy_alone: { gender: "male", age_band: "14-17", child: true },
};
const WHO_LABELS = () => ({
  woman: t("Women (25–59)"),
  man: t("Men (25–59)"),
  young_woman: t("Young women (18–24)"),
  young_man: t("Young men (18–24)"),
  mother_children: t("Mothers with two children"),
  father_children: t("Fathers with two children"),
  girl_alone: t("Girls alone (14–17)"),
  boy_alone: t("Boys alone (14–17)"),
});
const SHELTERS = () => ({
  "ACC.EMERG": t("Emergency shelter"),
  "ACC.CHILD": t("Child crisis centre"),
  "ACC.FOSTER": t("Foster placement"),
  "": t("No accommodation"),
});
const OTHERS = () => ({
  "": t("Nothing else"),
  "MED.GENERAL": t("Health care"),
  "PSY.COUNSEL": t("Counselling"),
  "LEGAL.AID": t("Legal aid"),
  "MAT.BASIC": t("Material help"),
  "LANG.INTERP": t("Interpretation"),
});

const $ = (id) => document.getElementById(id);
let rows = 0;
let bookKey = null; // kept for a retry of the same list; a changed list gets a new one
let picker = null;

function select(id, options, value) {
  const node = el("select", { id });
  for (const [code, name] of Object.entries(options)) node.append(el("option", { value: code }, name));
  node.value = value;
  return node;
}

function labelled(id, text, control) {
  return el("div", { class: "field" }, el("label", { for: id }, text), control);
}

function addRow(who = "woman", count = 1, shelter = "ACC.EMERG", other = "") {
  rows += 1;
  const n = rows;
  const languages = el("select", { id: `surge-language-${n}`, class: "surge-language" });
  const sorted = Object.entries(LANGUAGES).sort((a, b) => a[1].localeCompare(b[1]));
  for (const [code, name] of sorted) languages.append(el("option", { value: code }, name));
  languages.value = $("surge-local").value || "sr";
  const item = el(
    "li",
    { class: "surge-row", "data-row": String(n) },
    el(
      "div",
      { class: "grid" },
      labelled(`surge-count-${n}`, t("How many"),
        el("input", { id: `surge-count-${n}`, class: "surge-count", type: "number",
                      inputmode: "numeric", min: "1", max: String(MAX_PEOPLE), value: String(count) })),
      labelled(`surge-who-${n}`, t("Who"), select(`surge-who-${n}`, WHO_LABELS(), who)),
      labelled(`surge-shelter-${n}`, t("Accommodation"), select(`surge-shelter-${n}`, SHELTERS(), shelter)),
      labelled(`surge-other-${n}`, t("Also needs"), select(`surge-other-${n}`, OTHERS(), other)),
      labelled(`surge-language-${n}`, t("Language"), languages),
    ),
    el("div", { class: "check" },
      el("input", { id: `surge-interpreter-${n}`, type: "checkbox" }),
      el("label", { for: `surge-interpreter-${n}` }, t("Interpreter needed"))),
    el("button", { type: "button", class: "secondary surge-remove" }, t("Remove")),
  );
  item.querySelector(".surge-remove").addEventListener("click", () => {
    item.remove();
    changed();
  });
  item.addEventListener("change", changed);
  $("surge-rows").append(item);
}

function changed() {
  bookKey = null;
  $("surge-book").disabled = true;
  $("surge-result").replaceChildren();
}

/** The surge as the API reads it, from the rows; throws with the field to mark. */
function body(area, consentAt) {
  const groups = [];
  let people = 0;
  for (const item of $("surge-rows").children) {
    const n = item.dataset.row;
    const count = Number($(`surge-count-${n}`).value);
    const who = WHO[$(`surge-who-${n}`).value];
    if (!Number.isInteger(count) || count < 1) {
      throw Object.assign(new Error(t("Enter how many people, 1 or more.")), { input: $(`surge-count-${n}`) });
    }
    const needs = [$(`surge-shelter-${n}`).value, $(`surge-other-${n}`).value]
      .filter(Boolean)
      .map((code, i) => ({ code, priority: i === 0 ? "must" : "should" }));
    if (!needs.length) {
      throw Object.assign(new Error(t("Choose at least one service.")), { input: $(`surge-shelter-${n}`) });
    }
    const group = {
      count,
      gender: who.gender,
      age_band: who.age_band,
      languages: [$(`surge-language-${n}`).value],
      interpreter_needed: $(`surge-interpreter-${n}`).checked,
      needs,
    };
    if (who.group_children_age_bands) group.group_children_age_bands = who.group_children_age_bands;
    if (who.child) {
      // A child alone is booked with the consent of an appointed guardian.
      group.guardian_status = "appointed";
      group.consent = { given: true, method: "guardian", scope: ["referral"], at: consentAt };
    }
    people += count * (1 + (who.group_children_age_bands || []).length);
    groups.push(group);
  }
  if (!groups.length) throw Object.assign(new Error(t("Add at least one group of people.")), { input: $("surge-add") });
  if (people > MAX_PEOPLE) {
    throw Object.assign(new Error(t("At most {max} people at once; split the surge.", { max: MAX_PEOPLE })),
      { input: $("surge-rows").querySelector(".surge-count") });
  }
  return {
    jurisdiction: area.participant,
    current_area: area.code,
    urgency: "emergency",
    consent: { given: true, method: "verbal", scope: ["referral"], at: consentAt },
    groups,
  };
}

/** The batch request for the same people: one person per count, keys as the surge names them. */
function batchOf(surge) {
  const people = [];
  surge.groups.forEach((g, gi) => {
    const { count, guardian_status, consent, ...profile } = g;
    for (let k = 0; k < count; k += 1) {
      people.push({ key: `g${gi + 1}-${k + 1}`, jurisdiction: surge.jurisdiction,
                    current_area: surge.current_area, urgency: surge.urgency, ...profile });
    }
  });
  return { people };
}

function summary(people, plan) {
  let housed = 0;
  let total = 0;
  let families = 0;
  let whole = 0;
  for (const p of people) {
    total += p.group_size;
    const stay = p.needs.find((n) => n.code.startsWith("ACC."));
    if (p.group_size > 1) families += 1;
    if (stay && stay.assigned) {
      housed += p.group_size;
      if (p.group_size > 1) whole += 1;
    }
  }
  const lines = [
    t("{housed} of {total} people have a place to stay.", { housed, total }),
    t("{whole} of {families} families placed together.", { whole, families }),
    t("{met} needs met, {unmet} left unmet.", { met: plan.assigned, unmet: plan.unmet }),
  ];
  return el("ul", { class: "surge-summary" }, ...lines.map((line) => el("li", {}, line)));
}

function personLine(p, booked) {
  const names = { ...SHELTERS(), ...OTHERS() };
  const placed = p.needs.map((n) => (n.assigned
    ? t("{need}: {service}, {area} ({km} km)", { need: names[n.code] || n.code,
                                                 service: n.assigned.service_name,
                                                 area: n.assigned.area_name, km: n.assigned.distance_km })
    : t("{need}: not met, {reason}", { need: names[n.code] || n.code,
                                       reason: t(REASONS[n.unmet_reason] || n.unmet_reason) }))).join(" · ");
  const size = p.group_size > 1 ? t(" ({size} together)", { size: p.group_size }) : "";
  const item = el("li", { class: "surge-person" }, el("strong", {}, `${p.key}${size}`), " ", placed);
  if (booked) {
    const link = el("a", { href: `/refer?referral=${booked.referral_id}` }, t("follow"));
    const state = booked.refused
      ? t("nothing held: {why}", { why: booked.refused })
      : t("{held} held", { held: booked.held.length });
    item.append(" — ", state, " ", link);
  }
  return item;
}

function show(data, booked) {
  const byKey = new Map((booked || []).map((b) => [b.key, b]));
  $("surge-result").replaceChildren(
    summary(data.people, data.plan),
    el("ol", { class: "surge-people" }, ...data.people.map((p) => personLine(p, byKey.get(p.key)))),
  );
}

async function planOrBook(book) {
  const note = $("surge-note");
  const areaInput = $("surge-area");
  note.textContent = "";
  for (const marked of document.querySelectorAll("#surge [aria-invalid]")) fieldError(marked, "");
  let area;
  try {
    area = await picker.find(areaInput.value.trim());
  } catch {
    area = null;
  }
  if (!area) {
    fieldError(areaInput, t("Choose the town from the list."));
    return;
  }
  if (!$("surge-consent").checked) {
    fieldError($("surge-consent"), t("Everyone listed (or a child's representative) must consent first."));
    return;
  }
  let surge;
  try {
    surge = body(area, new Date().toISOString());
  } catch (error) {
    if (error.input) fieldError(error.input, error.message);
    else note.textContent = error.message;
    return;
  }
  const button = book ? $("surge-book") : $("surge-plan");
  button.disabled = true;
  note.textContent = book ? t("Booking…") : t("Planning…");
  try {
    if (book) {
      bookKey = bookKey || { key: newKey(), surge: JSON.stringify(surge) };
      const sent = JSON.parse(bookKey.surge); // a retry sends the very same request
      const { data } = await api("/api/v1/match/surge", {
        method: "POST", body: sent, headers: { "Idempotency-Key": bookKey.key },
      });
      const held = data.booked.filter((b) => !b.refused && b.held.length).length;
      note.textContent = t("{held} of {count} referrals booked; the others are reported below.", {
        held, count: data.booked.length,
      });
      show(data, data.booked);
    } else {
      const { data } = await api("/api/v1/match/batch", { method: "POST", body: batchOf(surge) });
      note.textContent = t("The joint plan, not booked yet.");
      show(data, null);
      $("surge-book").disabled = false;
    }
  } catch (error) {
    note.textContent = error.message;
  }
  $("surge-plan").disabled = false;
  if (book) $("surge-book").disabled = false;
}

/** The panel's words, in the page's language. */
function words() {
  const text = {
    "surge-title": t("Many people at once (a surge)"),
    "surge-hint": t("People identified together, for example in a raid: list them by profile, "
      + "see the joint plan, then book it. Each person (a family counts once) becomes a "
      + "referral with a place held at every service of the plan. Needs only, never names."),
    "surge-area-label": t("Where they were identified"),
    "surge-add": t("Add a group"),
    // Not "guardian": the single referral's form asks for one by that label.
    "surge-consent-label": t("Everyone listed consents: each adult, and for each child alone "
      + "the appointed legal representative"),
    "surge-plan": t("Show the joint plan"),
    "surge-book": t("Book the plan"),
  };
  for (const [id, value] of Object.entries(text)) $(id).textContent = value;
  $("surge-area").placeholder = t("Town or municipality");
}

/** Wire the surge panel of /refer for a signed-in officer, coordinator or admin. */
export function startSurge(me) {
  const panel = $("surge");
  if (!panel) return;
  words();
  picker = areaPicker($("surge-area-options"));
  picker.watch($("surge-area"), changed);
  const local = { AL: "sq", BA: "bs", ME: "sr", MK: "mk", RS: "sr", XK: "sq" }[me.jurisdiction];
  $("surge-local").value = local || "";
  addRow("man", 10, "ACC.EMERG", "MED.GENERAL");
  addRow("mother_children", 2, "ACC.EMERG", "MED.GENERAL");
  addRow("boy_alone", 2, "ACC.CHILD", "PSY.COUNSEL");
  $("surge-add").addEventListener("click", () => {
    addRow();
    changed();
  });
  $("surge-consent").addEventListener("change", changed);
  $("surge-plan").addEventListener("click", () => planOrBook(false));
  $("surge-book").addEventListener("click", () => planOrBook(true));
  $("surge-book").disabled = true;
  panel.dataset.ready = "true";
}
