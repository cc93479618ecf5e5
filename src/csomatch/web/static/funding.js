// Funding and runway: a provider sees who pays for its own organisation (public against donor
// money, the largest funder's share, the runway) and, per service, the gap cell it serves
// (GET /api/v1/organizations/{id}/funding; docs/funding.md, "Who pays").

import { date, number, plural, t } from "./i18n.js";
import { api, areaNames, el, signedIn } from "./session.js";

const $ = (id) => document.getElementById(id);
const status = $("status");

const KINDS = {
  ministry: t("ministry"),
  municipality: t("municipality"),
  donor: t("donor"),
  foundation: t("foundation"),
  io: t("international organisation"),
  other: t("other funder"),
};

const euros = (n) => number(Math.round(n), {
  style: "currency", currency: "EUR", minimumFractionDigits: 0, maximumFractionDigits: 0,
});
const percent = (share) => number(share, { style: "percent" });

/** A runway in words: "12.5 months, to 2027-06-30", or that no grant runs today. */
export function runwayText(mix) {
  if (mix.runway_days === null) return t("No committed or disbursed grant runs today");
  if (mix.runway_days === 0) return t("Ends today ({date})", { date: date(mix.funded_through) });
  return plural(mix.runway_months, {
    one: t("{count} month, to {date}"),
    few: t("{count} months, to {date} (few)"),
    other: t("{count} months, to {date}"),
  }, { date: date(mix.funded_through) });
}

function summary(body) {
  const mix = body.funding;
  $("summary-title").textContent = body.organization_name;
  const total = mix.public_eur_per_year + mix.donor_eur_per_year;
  const withShare = (part) => (total
    ? t("{money} ({share})", { money: euros(part), share: percent(part / total) })
    : euros(part));
  $("public").textContent = withShare(mix.public_eur_per_year);
  $("donor").textContent = withShare(mix.donor_eur_per_year);
  const top = mix.funders[0];
  $("top").textContent = top
    ? t("{funder}: {share} of the money", { funder: top.name, share: percent(top.share) })
    : t("None");
  $("runway").textContent = runwayText(mix);
  const bar = $("mix-bar");
  bar.hidden = !total;
  if (total) {
    bar.querySelector(".mix-public").style.width = `${(100 * mix.public_eur_per_year) / total}%`;
    bar.querySelector(".mix-donor").style.width = `${(100 * mix.donor_eur_per_year) / total}%`;
  }
  $("mix-text").textContent = total
    ? t("Solid: public money {public}; striped: donor money {donor}.", {
      public: percent(mix.public_eur_per_year / total),
      donor: percent(mix.donor_eur_per_year / total),
    })
    : t("No grant runs today.");
  $("summary").hidden = false;
}

function funderRow(f) {
  const kind = f.public
    ? t("Public ({kind})", { kind: KINDS[f.kind] || f.kind })
    : t("Donor ({kind})", { kind: KINDS[f.kind] || f.kind });
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
    el("td", { class: "num" }, mix.public_share === null ? t("No grant") : percent(mix.public_share)),
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
      ? plural(n, {
        one: t("{count} funder pays for grants running today."),
        few: t("{count} funders pay for grants running today. (few)"),
        other: t("{count} funders pay for grants running today."),
      })
      : t("No grant runs today.");
  } catch (error) {
    status.textContent = t("Could not load your funding: {error}", { error: error.message });
  }
  $("page").dataset.ready = "true";
}

start();
