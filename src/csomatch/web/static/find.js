// Find services: the 2 a.m. page. A place (by name or "near me"), a service, filters;
// results nearest first from GET /api/v1/services/search.

import { decimal, number, plural, pluralForm, t, tParts } from "./i18n.js";
import {
  PARTICIPANTS,
  api,
  areaLabel,
  areaPicker,
  el,
  fieldError,
  freshnessBadge,
  signedIn,
  taxonomy,
  taxonomyOptions,
} from "./session.js";
import { LANGUAGES } from "./languages.js";


const PAGE_SIZE = 20;
const DEFAULT_CODE = "ACC.EMERG";
const UNIT_WORDS = {
  bed: { one: t("{count} free bed"), few: t("{count} free beds (few)"), other: t("{count} free beds") },
  place: {
    one: t("{count} free place"), few: t("{count} free places (few)"), other: t("{count} free places"),
  },
  session_per_week: {
    one: t("{count} free session a week"), few: t("{count} free sessions a week (few)"),
    other: t("{count} free sessions a week"),
  },
  hour_per_week: {
    one: t("{count} free hour a week"), few: t("{count} free hours a week (few)"),
    other: t("{count} free hours a week"),
  },
  case: { one: t("{count} free case"), few: t("{count} free cases (few)"), other: t("{count} free cases") },
};

const form = document.getElementById("search");
const areaInput = document.getElementById("area");
const areaOptions = document.getElementById("area-options");
const originNote = document.getElementById("origin");
const codeSelect = document.getElementById("code");
const status = document.getElementById("status");
const results = document.getElementById("results");
const more = document.getElementById("more");

const towns = areaPicker(areaOptions);
let codeNames = new Map();
let here = null; // { lat, lon } from the browser, when t("Near me") was used
let lastQuery = null;
let shown = 0;
let home = null; // the caller's participant: searches keep to it unless "everywhere" is ticked

towns.watch(areaInput, () => {
  here = null;
  originNote.textContent = "";
  fieldError(areaInput, "");
});

/** The search origin: the point from "Near me", or the area typed or picked. */
async function origin() {
  if (here) return { lat: here.lat, lon: here.lon };
  const typed = areaInput.value.trim();
  if (!typed) {
    fieldError(areaInput, t("Type a town or municipality, or use Near me."));
    return null;
  }
  const area = await towns.find(typed);
  if (!area) {
    fieldError(areaInput, t("No town or municipality called “{typed}”. Pick one from the list.", { typed }));
    return null;
  }
  originNote.textContent = t("Searching near {place}", { place: areaLabel(area) });
  return { area: area.code };
}

document.getElementById("near-me").addEventListener("click", () => {
  fieldError(areaInput, "");
  if (!navigator.geolocation) {
    fieldError(areaInput, t("This browser cannot share its location; type a place instead."));
    return;
  }
  originNote.textContent = t("Finding your location…");
  navigator.geolocation.getCurrentPosition(
    (position) => {
      here = { lat: position.coords.latitude, lon: position.coords.longitude };
      areaInput.value = "";
      originNote.textContent = `Searching near your location (±${Math.round(
        position.coords.accuracy,
      )} m)`;
      form.requestSubmit();
    },
    () => {
      originNote.textContent = "";
      fieldError(areaInput, t("Your location is not available; type a place instead."));
    },
    { enableHighAccuracy: false, timeout: 15000, maximumAge: 300000 },
  );
});

function query(where) {
  const params = new URLSearchParams();
  if (where.area) params.set("area", where.area);
  else {
    params.set("lat", where.lat.toFixed(5));
    params.set("lon", where.lon.toFixed(5));
  }
  const field = (id) => document.getElementById(id).value;
  if (codeSelect.value) params.set("code", codeSelect.value);
  if (field("language")) params.set("language", field("language"));
  if (field("gender")) params.set("gender", field("gender"));
  if (field("age-band")) params.set("age_band", field("age-band"));
  if (document.getElementById("unaccompanied-minor").checked) params.set("unaccompanied_minor", "true");
  if (document.getElementById("accompanied-child").checked) params.set("accompanied_child", "true");
  if (document.getElementById("available").checked) params.set("available", "true");
  if (document.getElementById("survivor-led").checked) params.set("survivor_led", "true");
  // The API keeps to the caller's own participant by default; "any" searches them all.
  if (home && document.getElementById("everywhere").checked) params.set("participant", "any");
  params.set("limit", String(PAGE_SIZE));
  return params;
}

/** "3 free beds", the number in a <strong> (the unit's words in the page's language). */
function freeWords(count, unit) {
  const form = pluralForm(count, UNIT_WORDS[unit] || UNIT_WORDS.place);
  return tParts(form, { count: el("strong", {}, number(count)) });
}

function hit(h) {
  const s = h.service;
  const unit = s.capacity ? s.capacity.unit : "place";
  const free =
    h.free_places === null
      ? el("span", { class: "free unknown" },
        ...tParts(t("{unknown} free places unknown"), { unknown: el("strong", {}, "?") }))
      : el(
          "span",
          { class: h.free_places > 0 ? "free" : "free none" },
          ...freeWords(h.free_places, unit),
        );
  // A confidential shelter shows only its municipality, even to roles the API tells more:
  // this page is read on phones, in cars and corridors.
  const where = s.location.address && !s.location.confidential
    ? t("{address}, {town} ({participant})", {
      address: s.location.address, town: s.location.municipality, participant: s.location.participant,
    })
    : t("{town} ({participant})", { town: s.location.municipality, participant: s.location.participant });
  const tags = el("ul", { class: "tags", "aria-label": t("Details") });
  if (h.abroad) {
    const country = PARTICIPANTS[s.location.participant] || s.location.participant;
    tags.append(el("li", { class: "tag abroad" }, t("Abroad: {country}", { country })));
  }
  if (s.intake_24_7) tags.append(el("li", { class: "tag strong" }, t("24/7 intake")));
  if (s.languages.length) {
    const names = s.languages.map((code) => LANGUAGES[code] || code).join(", ");
    tags.append(el("li", { class: "tag" }, t("Languages: {names}", { names })));
  }
  if (s.location.confidential) tags.append(el("li", { class: "tag" }, t("Confidential address")));
  return el(
    "li",
    { class: "hit", "data-service-id": s.id },
    el("h3", { class: "org" }, s.organization_name),
    el("p", { class: "svc" }, s.name, el("span", { class: "code" }, ` · ${codeNames.get(s.code) || s.code}`)),
    el(
      "div",
      { class: "facts" },
      el("span", { class: "distance" }, ...tParts(t("{distance} km"),
        { distance: el("strong", {}, decimal(h.distance_km)) })),
      free,
      freshnessBadge(h.freshness, s.capacity && s.capacity.updated_at),
    ),
    el("p", { class: "where" }, where),
    tags,
  );
}

async function run(offset) {
  status.textContent = t("Searching…");
  more.hidden = true;
  const params = new URLSearchParams(lastQuery);
  params.set("offset", String(offset));
  try {
    const { data } = await api(`/api/v1/services/search?${params}`);
    if (offset === 0) results.replaceChildren();
    results.append(...data.hits.map(hit));
    shown = offset + data.hits.length;
    const total = data.items_page.total;
    status.textContent =
      total === 0
        ? t("No service found. Try another service, fewer filters, or untick “Only with free places now”.")
        : total > shown
          ? plural(total, {
            one: t("{count} service found, nearest first (showing {shown})"),
            few: t("{count} services found, nearest first (showing {shown}) (few)"),
            other: t("{count} services found, nearest first (showing {shown})"),
          }, { shown })
          : plural(total, {
            one: t("{count} service found, nearest first"),
            few: t("{count} services found, nearest first (few)"),
            other: t("{count} services found, nearest first"),
          });
    more.hidden = shown >= total;
    if (offset === 0 && status.getBoundingClientRect().top > window.innerHeight) {
      status.scrollIntoView({ block: "start" });
    }
  } catch (error) {
    status.textContent = "";
    if (error.field && /^(area|lat|lon)/.test(error.field)) fieldError(areaInput, error.message);
    else status.textContent = t("The search failed: {error}", { error: error.message });
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  fieldError(areaInput, "");
  let where;
  try {
    where = await origin();
  } catch (error) {
    status.textContent = t("The search failed: {error}", { error: error.message });
    return;
  }
  if (!where) {
    areaInput.focus();
    return;
  }
  lastQuery = query(where).toString();
  await run(0);
});

more.addEventListener("click", () => run(shown));

async function start() {
  const me = await signedIn(["officer", "coordinator", "admin"]);
  if (!me) return;
  if (me.jurisdiction in PARTICIPANTS) {
    home = me.jurisdiction;
    document.getElementById("home-note").textContent =
      t("Without this, only services in {participant} are shown.", { participant: PARTICIPANTS[home] });
    document.getElementById("abroad-choice").hidden = false;
  }
  const languages = document.getElementById("language");
  for (const [code, name] of Object.entries(LANGUAGES).sort((a, b) => a[1].localeCompare(b[1]))) {
    languages.append(el("option", { value: code }, name));
  }
  try {
    const codes = await taxonomy();
    codeNames = new Map(codes.map((term) => [term.code, term.name]));
    taxonomyOptions(codeSelect, codes);
    codeSelect.value = DEFAULT_CODE;
  } catch (error) {
    status.textContent = t("Could not load the service list: {error}", { error: error.message });
  }
  form.dataset.ready = "true";
  areaInput.focus();
}

start();
