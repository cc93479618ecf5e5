// Find services: the 2 a.m. page. A place (by name or "near me"), a service, filters;
// results nearest first from GET /api/v1/services/search.

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
  bed: ["bed", "beds"],
  place: ["place", "places"],
  session_per_week: ["session a week", "sessions a week"],
  hour_per_week: ["hour a week", "hours a week"],
  case: ["case", "cases"],
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
let here = null; // { lat, lon } from the browser, when "Near me" was used
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
    fieldError(areaInput, "Type a town or municipality, or use Near me.");
    return null;
  }
  const area = await towns.find(typed);
  if (!area) {
    fieldError(areaInput, `No town or municipality called “${typed}”. Pick one from the list.`);
    return null;
  }
  originNote.textContent = `Searching near ${areaLabel(area)}`;
  return { area: area.code };
}

document.getElementById("near-me").addEventListener("click", () => {
  fieldError(areaInput, "");
  if (!navigator.geolocation) {
    fieldError(areaInput, "This browser cannot share its location; type a place instead.");
    return;
  }
  originNote.textContent = "Finding your location…";
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
      fieldError(areaInput, "Your location is not available; type a place instead.");
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

function places(count, unit) {
  const [one, many] = UNIT_WORDS[unit] || ["place", "places"];
  return count === 1 ? one : many;
}

function hit(h) {
  const s = h.service;
  const unit = s.capacity ? s.capacity.unit : "place";
  const free =
    h.free_places === null
      ? el("span", { class: "free unknown" }, el("strong", {}, "?"), " free places unknown")
      : el(
          "span",
          { class: h.free_places > 0 ? "free" : "free none" },
          el("strong", {}, String(h.free_places)),
          ` free ${places(h.free_places, unit)}`,
        );
  // A confidential shelter shows only its municipality, even to roles the API tells more:
  // this page is read on phones, in cars and corridors.
  const where = s.location.address && !s.location.confidential
    ? `${s.location.address}, ${s.location.municipality} (${s.location.participant})`
    : `${s.location.municipality} (${s.location.participant})`;
  const tags = el("ul", { class: "tags", "aria-label": "Details" });
  if (h.abroad) {
    const country = PARTICIPANTS[s.location.participant] || s.location.participant;
    tags.append(el("li", { class: "tag abroad" }, `Abroad: ${country}`));
  }
  if (s.intake_24_7) tags.append(el("li", { class: "tag strong" }, "24/7 intake"));
  if (s.languages.length) {
    const names = s.languages.map((code) => LANGUAGES[code] || code).join(", ");
    tags.append(el("li", { class: "tag" }, `Languages: ${names}`));
  }
  if (s.location.confidential) tags.append(el("li", { class: "tag" }, "Confidential address"));
  return el(
    "li",
    { class: "hit", "data-service-id": s.id },
    el("h3", { class: "org" }, s.organization_name),
    el("p", { class: "svc" }, s.name, el("span", { class: "code" }, ` · ${codeNames.get(s.code) || s.code}`)),
    el(
      "div",
      { class: "facts" },
      el("span", { class: "distance" }, el("strong", {}, h.distance_km.toFixed(1)), " km"),
      free,
      freshnessBadge(h.freshness, s.capacity && s.capacity.updated_at),
    ),
    el("p", { class: "where" }, where),
    tags,
  );
}

async function run(offset) {
  status.textContent = "Searching…";
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
        ? "No service found. Try another service, fewer filters, or untick “Only with free places now”."
        : `${total} service${total === 1 ? "" : "s"} found, nearest first` +
          (total > shown ? ` (showing ${shown})` : "");
    more.hidden = shown >= total;
    if (offset === 0 && status.getBoundingClientRect().top > window.innerHeight) {
      status.scrollIntoView({ block: "start" });
    }
  } catch (error) {
    status.textContent = "";
    if (error.field && /^(area|lat|lon)/.test(error.field)) fieldError(areaInput, error.message);
    else status.textContent = `The search failed: ${error.message}`;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  fieldError(areaInput, "");
  let where;
  try {
    where = await origin();
  } catch (error) {
    status.textContent = `The search failed: ${error.message}`;
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
      `Without this, only services in ${PARTICIPANTS[home]} are shown.`;
    document.getElementById("abroad-choice").hidden = false;
  }
  const languages = document.getElementById("language");
  for (const [code, name] of Object.entries(LANGUAGES).sort((a, b) => a[1].localeCompare(b[1]))) {
    languages.append(el("option", { value: code }, name));
  }
  try {
    const codes = await taxonomy();
    codeNames = new Map(codes.map((t) => [t.code, t.name]));
    taxonomyOptions(codeSelect, codes);
    codeSelect.value = DEFAULT_CODE;
  } catch (error) {
    status.textContent = `Could not load the service list: ${error.message}`;
  }
  form.dataset.ready = "true";
  areaInput.focus();
}

start();
