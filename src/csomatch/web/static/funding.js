// Funding and runway: a provider sees who pays for its own organisation (public against donor
// money, the largest funder's share, the runway) and, per service, the gap cell it serves
// (GET /api/v1/organizations/{id}/funding; docs/funding.md, "Who pays").

import { t } from "./i18n.js";
import { api, areaNames, el, signedIn } from "./session.js";

const $ = (id) => document.getElementById(id);
const status = $("status");

const KINDS = {
  ministry: "ministry",
  municipality: "municipality",
  donor: "donor",
  foundation: "foundation",
  io: "international organisation",
  other: "other funder",
};

const euros = (n) => `€${Math.round(n).toLocaleString("en-GB")}`;
const percent = (share) => `${Math.round(share * 100)}%`;

/** A runway in words: "12.5 months, to 2027-06-30", or that no grant runs today. */
export function runwayText(mix) {
  if (mix.runway_days === null) return "No committed or disbursed grant runs today";
  if (mix.runway_days === 0) return `Ends today (${mix.funded_through})`;
  return `${mix.runway_months} months, to ${mix.funded_through}`;
}

function summary(body) {
  const mix = body.funding;
  $("summary-title").textContent = body.organization_name;
  const total = mix.public_eur_per_year + mix.donor_eur_per_year;
  const share = (part) => (total ? ` (${percent(part / total)})` : "");
  $("public").textContent = euros(mix.public_eur_per_year) + share(mix.public_eur_per_year);
  $("donor").textContent = euros(mix.donor_eur_per_year) + share(mix.donor_eur_per_year);
  const top = mix.funders[0];
  $("top").textContent = top ? `${top.name}: ${percent(top.share)} of the money` : "None";
  $("runway").textContent = runwayText(mix);
  const bar = $("mix-bar");
  bar.hidden = !total;
  if (total) {
    bar.querySelector(".mix-public").style.width = `${(100 * mix.public_eur_per_year) / total}%`;
    bar.querySelector(".mix-donor").style.width = `${(100 * mix.donor_eur_per_year) / total}%`;
  }
  $("mix-text").textContent = total
    ? `Solid: public money ${percent(mix.public_eur_per_year / total)}; striped: donor money ` +
      `${percent(mix.donor_eur_per_year / total)}.`
    : "No grant runs today.";
  $("summary").hidden = false;
}

function funderRow(f) {
  const kind = `${f.public ? "Public" : "Donor"} (${KINDS[f.kind] || f.kind})`;
  return el("tr", {},
    el("th", { scope: "row" }, f.name),
    el("td", {}, kind),
    el("td", { class: "num" }, euros(f.eur_per_year)),
    el("td", { class: "num" }, percent(f.share)),
  );
}

function serviceRow(s, names) {
  const mix = s.funding;
  return el("tr", {},
    el("th", { scope: "row" }, s.service_name),
    el("td", {}, names.get(s.area_code) || s.area_code, el("br"),
      el("code", { class: "cell-key" }, s.cell), el("br"), cellButton(s)),
    el("td", { class: "num" }, mix.public_share === null ? "No grant" : percent(mix.public_share)),
    el("td", {}, runwayText(mix)),
  );
}

/** A button that shows, in its place, the severity of the gap cell the service served. */
function cellButton(s) {
  const button = el("button", { type: "button", class: "secondary cell-why" },
    t("Gap last month"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const { data } = await api(`/api/v1/gaps/${encodeURIComponent(s.cell)}`);
      button.replaceWith(el("span", { class: "cell-why" },
        t("Severity {severity}: {sentence}", {
          severity: data.cell.severity, sentence: data.cell.sentence,
        })));
    } catch (error) {
      button.replaceWith(el("span", { class: "cell-why" },
        t("Could not load the gap cell: {error}", { error: error.message })));
    }
  });
  return button;
}

async function start() {
  const me = await signedIn(["provider"]);
  if (!me) return;
  try {
    const { data } = await api(`/api/v1/organizations/${me.organization_id}/funding`);
    summary(data);
    $("funders").querySelector("tbody").replaceChildren(...data.funding.funders.map(funderRow));
    const names = await areaNames(data.services.map((s) => s.area_code));
    $("services").querySelector("tbody")
      .replaceChildren(...data.services.map((s) => serviceRow(s, names)));
    const n = data.funding.funders.length;
    status.textContent = n
      ? `${n} funder${n === 1 ? "" : "s"} pay for grants running today.`
      : "No grant runs today.";
  } catch (error) {
    status.textContent = `Could not load your funding: ${error.message}`;
  }
  $("page").dataset.ready = "true";
}

start();
