// Registry: organisations and services per participant, with counts, a page at a time.

import { t } from "./i18n.js";
import {
  PARTICIPANTS,
  api,
  el,
  freshnessBadge,
  signedIn,
  taxonomy,
  taxonomyOptions,
} from "./session.js";

// Whole names, not "State" (a word the referral pages use for a referral's state).
const KINDS = { cso: t("CSO"), state: t("State institution"), io: t("International organisation") };
const PAGE_SIZE = 25;

const participant = document.getElementById("participant");
const kind = document.getElementById("kind");
const survivorLed = document.getElementById("survivor-led");
const code = document.getElementById("code");

async function total(path) {
  const { data } = await api(`${path}&limit=1`);
  return data.items_page.total;
}

async function drawCounts() {
  const body = document.querySelector("#counts tbody");
  try {
    await fillCounts(body);
  } catch (error) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "3" },
      t("Could not count: {error}", { error: error.message }))));
  }
}

async function fillCounts(body) {
  const rows = await Promise.all(
    Object.entries(PARTICIPANTS).map(async ([p, name]) => {
      const [orgs, services] = await Promise.all([
        total(`/api/v1/organizations?participant=${p}`),
        total(`/api/v1/services?participant=${p}`),
      ]);
      return { p, name, orgs, services };
    }),
  );
  const sum = (key) => String(rows.reduce((n, r) => n + r[key], 0));
  const foot = document.querySelector("#counts tfoot");
  foot.replaceChildren(
    el("tr", {}, el("th", { scope: "row" }, t("All six")), el("td", {}, sum("orgs")),
      el("td", {}, sum("services"))),
  );
  body.replaceChildren(
    ...rows.map((r) =>
      el("tr", {}, el("th", { scope: "row" }, t("{name} ({code})", { name: r.name, code: r.p })),
        el("td", {}, String(r.orgs)),
        el("td", {}, String(r.services))),
    ),
  );
}

/** A paginated table: ``load(offset)`` returns { total, rows }. */
function pager(name, load) {
  const status = document.getElementById(`${name}-status`);
  const body = document.querySelector(`#${name} tbody`);
  const prev = document.getElementById(`${name}-prev`);
  const next = document.getElementById(`${name}-next`);
  let offset = 0;
  async function show(at) {
    status.textContent = t("Loading…");
    try {
      const { total: count, rows } = await load(at);
      offset = at;
      body.replaceChildren(...rows);
      status.textContent = count
        ? t("{first}–{last} of {count}", { first: at + 1, last: at + rows.length, count })
        : t("None matches these filters.");
      prev.disabled = at === 0;
      next.disabled = at + PAGE_SIZE >= count;
    } catch (error) {
      status.textContent = t("Could not load: {error}", { error: error.message });
    }
  }
  prev.addEventListener("click", () => show(Math.max(0, offset - PAGE_SIZE)));
  next.addEventListener("click", () => show(offset + PAGE_SIZE));
  return () => show(0);
}

function params(extra) {
  const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (participant.value) q.set("participant", participant.value);
  for (const [key, value] of Object.entries(extra)) if (value) q.set(key, value);
  if (survivorLed.checked) q.set("survivor_led", "true");
  return q;
}

const yes = (flag) => (flag ? t("Yes") : t("No"));

const showOrgs = pager("orgs", async (offset) => {
  const q = params({ kind: kind.value, offset: String(offset) });
  const { data } = await api(`/api/v1/organizations?${q}`);
  return {
    total: data.items_page.total,
    rows: data.organizations.map((o) =>
      el("tr", {}, el("td", {}, o.name), el("td", {}, o.participant),
        el("td", {}, KINDS[o.kind] || o.kind), el("td", {}, yes(o.survivor_led)),
        el("td", {}, yes(o.accepting_referrals))),
    ),
  };
});

const showServices = pager("services", async (offset) => {
  const q = params({ code: code.value, offset: String(offset) });
  const { data } = await api(`/api/v1/services?${q}`);
  return {
    total: data.items_page.total,
    rows: data.services.map((s) => {
      const cap = s.capacity;
      const free = !cap ? "—" : cap.free === null
        ? t("unknown")
        : t("{free} of {maximum}", { free: cap.free, maximum: cap.maximum });
      return el("tr", {}, el("td", {}, s.name), el("td", {}, s.organization_name),
        el("td", {}, t("{town} ({participant})",
          { town: s.location.municipality, participant: s.location.participant })),
        el("td", {}, free),
        el("td", {}, freshnessBadge(cap && cap.freshness, cap && cap.updated_at)));
    }),
  };
});

async function start() {
  const me = await signedIn(["funder", "coordinator", "admin"]);
  if (!me) return;
  for (const [p, name] of Object.entries(PARTICIPANTS)) {
    participant.append(el("option", { value: p }, name));
  }
  if (PARTICIPANTS[me.jurisdiction]) participant.value = me.jurisdiction;
  participant.addEventListener("change", () => {
    showOrgs();
    showServices();
  });
  kind.addEventListener("change", showOrgs);
  survivorLed.addEventListener("change", () => {
    showOrgs();
    showServices();
  });
  code.addEventListener("change", showServices);
  try {
    taxonomyOptions(code, await taxonomy());
  } catch {
    // The service filter is optional; the tables still load.
  }
  await Promise.all([drawCounts(), showOrgs(), showServices()]);
  document.getElementById("page").dataset.ready = "true";
}

start();
