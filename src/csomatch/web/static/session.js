// The signed-in session shared by every page: the token, API calls, the page header.
//
// The token lives in sessionStorage only: it is sent as a bearer header to this origin's
// JSON API, never put in a URL or a cookie, and it is gone when the tab closes.

import { lang, plural, t } from "./i18n.js";

const KEY = "csomatch.token";

/** The pages of csomatch and the roles that use each. */
export const PAGES = [
  { href: "/find", label: t("Find services"), roles: ["officer", "coordinator", "admin"] },
  { href: "/refer", label: t("Make a referral"), roles: ["officer", "coordinator", "admin"] },
  { href: "/referrals", label: t("My referrals"), roles: ["officer", "coordinator", "admin"] },
  { href: "/capacity", label: t("My capacity"), roles: ["provider", "coordinator", "admin"] },
  { href: "/offers", label: t("Offers"), roles: ["provider"] },
  { href: "/registry", label: t("Registry"), roles: ["funder", "coordinator", "admin"] },
  { href: "/gaps", label: t("Gaps"), roles: ["funder", "coordinator", "admin"] },
  { href: "/coordination", label: t("Console"), roles: ["coordinator", "admin"] },
  { href: "/feedback-summary", label: t("Feedback"), roles: ["provider", "funder", "coordinator", "admin"] },
  { href: "/licences", label: t("Licences"), roles: ["provider", "coordinator", "admin"] },
  { href: "/funding", label: t("Funding"), roles: ["provider"] },
];

/** The six MARRI participants. */
export const PARTICIPANTS = {
  AL: t("Albania"),
  BA: t("Bosnia and Herzegovina"),
  XK: t("Kosovo*"),
  ME: t("Montenegro"),
  MK: t("North Macedonia"),
  RS: t("Serbia"),
};

export const ROLE_NAMES = {
  officer: t("Referral officer"),
  provider: t("Service provider staff"),
  funder: t("Funder"),
  coordinator: t("National co-ordinator"),
  admin: t("Administrator"),
};

export function token() {
  return sessionStorage.getItem(KEY);
}

export function setToken(value) {
  sessionStorage.setItem(KEY, value);
}

export function clearToken() {
  sessionStorage.removeItem(KEY);
}

/** An answer of the API that is not a success, holding its RFC 9457 problem details. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || t("HTTP {status}", { status }));
    this.status = status;
    this.problem = problem;
    this.field = problem.field || null;
  }
}

/**
 * Call the JSON API with the session's token.
 * Returns { data, etag }; throws ApiError (status 0 when the server cannot be reached).
 */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const sent = {
    Accept: "application/json, application/problem+json",
    "Accept-Language": lang,
    ...headers,
  };
  const secret = token();
  if (secret) sent.Authorization = `Bearer ${secret}`;
  if (body !== undefined) sent["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, {
      title: t("No connection"),
      detail: t("The server could not be reached. Check the connection and try again."),
    });
  }
  const type = response.headers.get("content-type") || "";
  const data = type.includes("json") ? await response.json() : null;
  if (!response.ok) {
    throw new ApiError(response.status, data || { title: response.statusText });
  }
  return { data, etag: response.headers.get("ETag") };
}

/** Build an element: el("p", { class: "x" }, "text", child). Text is never parsed as HTML. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** "12 min ago", "5 h ago", "3 days ago". */
export function ago(iso) {
  const minutes = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 60000));
  if (minutes < 1) return t("just now");
  if (minutes < 60) return t("{count} min ago", { count: minutes });
  const hours = Math.round(minutes / 60);
  if (hours < 72) return t("{count} h ago", { count: hours });
  return plural(Math.round(hours / 24), {
    one: t("{count} day ago"),
    few: t("{count} days ago (few)"),
    other: t("{count} days ago"),
  });
}

const FRESHNESS = {
  fresh: [t("Fresh"), "badge fresh"],
  aging: [t("Aging"), "badge aging"],
  stale: [t("Unknown (stale)"), "badge stale"],
};

/** A freshness badge; a stale number is shown as unknown, never as free. */
export function freshnessBadge(freshness, updatedAt) {
  const [label, css] = FRESHNESS[freshness] || [t("No report"), "badge stale"];
  const text = updatedAt ? t("{freshness} · {ago}", { freshness: label, ago: ago(updatedAt) }) : label;
  return el("span", { class: css, "data-freshness": freshness || "none" }, text);
}

/** Show a message in the page's gate and hide its content. */
function shut(message, ...extra) {
  const gate = document.getElementById("gate");
  gate.replaceChildren(el("span", {}, message), ...extra);
  gate.hidden = false;
  document.getElementById("page").hidden = true;
}

function signInLink() {
  return el("a", { href: "/" }, t("Sign in"));
}

/** The page links a role may use. */
export function pagesFor(role) {
  return PAGES.filter((p) => p.roles.includes(role));
}

function drawNav(me) {
  const nav = document.getElementById("nav");
  const list = el("ul");
  for (const page of pagesFor(me.role)) {
    const current = location.pathname === page.href ? "page" : null;
    list.append(el("li", {}, el("a", { href: page.href, "aria-current": current }, page.label)));
  }
  const out = el("button", { type: "button", class: "link", id: "sign-out" }, t("Sign out"));
  out.addEventListener("click", signOut);
  list.append(el("li", {}, out));
  nav.replaceChildren(
    el("span", { class: "who" },
      t("{role} · {jurisdiction}", { role: ROLE_NAMES[me.role] || me.role, jurisdiction: me.jurisdiction })),
    list,
  );
}

export function signOut() {
  clearToken();
  location.assign("/");
}

/**
 * Check the session for a page used by ``roles``: returns the caller (GET /api/v1/me) and
 * shows the page, or explains in the gate why not and returns null.
 */
export async function signedIn(roles) {
  if (!token()) {
    shut(t("Sign in with your access token first."), " ", signInLink());
    return null;
  }
  let me;
  try {
    ({ data: me } = await api("/api/v1/me"));
  } catch (error) {
    if (error.status === 401) {
      clearToken();
      shut(t("Your token is not valid (unknown or revoked)."), " ", signInLink());
    } else {
      shut(`${error.message} `);
    }
    return null;
  }
  drawNav(me);
  if (!roles.includes(me.role)) {
    const links = pagesFor(me.role).map((p) => el("a", { href: p.href }, p.label));
    shut(t("The {role} role does not use this page.", { role: ROLE_NAMES[me.role] || me.role }), " ", ...links);
    return null;
  }
  document.getElementById("gate").hidden = true;
  document.getElementById("page").hidden = false;
  return me;
}

/**
 * Where a field's error goes: after the input, or after the row it shares with buttons (the
 * /capacity stepper, /find's "Where" with Near me). Inside a row the message would be one
 * more item beside the input and squeeze it; below the row it takes the whole width.
 */
function errorAnchor(input) {
  let anchor = input;
  for (let box = anchor.parentElement; box && box !== document.body; box = box.parentElement) {
    const style = getComputedStyle(box);
    const inRow = /flex/.test(style.display) && !style.flexDirection.startsWith("column");
    if (!inRow) break;
    anchor = box;
  }
  return anchor;
}

/** Show an error under a field (aria-describedby) or clear it with an empty message. */
export function fieldError(input, message) {
  const id = `${input.id}-error`;
  let note = document.getElementById(id);
  if (!note) {
    note = el("p", { class: "field-error", id, role: "alert" });
    errorAnchor(input).insertAdjacentElement("afterend", note);
  }
  note.textContent = message || "";
  note.hidden = !message;
  if (message) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
  } else {
    input.removeAttribute("aria-invalid");
  }
}

/** How a town is shown and picked: "Name (RS)", the name in the page's language. */
export function areaLabel(area) {
  return `${area.local_name || area.name} (${area.participant})`;
}

/**
 * Town suggestions for text inputs that share one <datalist> (GET /api/v1/areas?q=), and
 * the area a typed or picked label names. ``watch(input, onInput)`` suggests as the user
 * types (after a short pause; late answers to older questions are dropped); ``find(typed)``
 * gives the area, or null when there is no such town.
 */
export function areaPicker(datalist) {
  const known = new Map(); // t("Name (RS)") -> area
  let asked = 0;

  async function suggest(q) {
    if (q.length < 2 || known.has(q)) return;
    const ticket = ++asked;
    try {
      const { data } = await api(`/api/v1/areas?q=${encodeURIComponent(q)}&limit=8`);
      if (ticket !== asked) return;
      datalist.replaceChildren();
      for (const area of data) {
        known.set(areaLabel(area), area);
        // The name typed (Београд) as the option's label, so the browser lists the town.
        const typedName = area.matched_name !== area.local_name ? area.matched_name : null;
        datalist.append(el("option", { value: areaLabel(area), label: typedName }));
      }
    } catch {
      // Suggestions are a convenience; the page's own request reports errors.
    }
  }

  return {
    watch(input, onInput = () => {}) {
      let timer = null;
      input.addEventListener("input", () => {
        onInput();
        clearTimeout(timer);
        timer = setTimeout(() => suggest(input.value.trim()), 150);
      });
    },
    async find(typed) {
      const picked = known.get(typed);
      if (picked) return picked;
      const name = typed.replace(/\s*\([A-Z]{2}\)$/, "");
      const { data } = await api(`/api/v1/areas?q=${encodeURIComponent(name)}&limit=1`);
      return data[0] || null;
    },
  };
}

const areaNamesByCode = new Map();

/**
 * The names of gazetteer areas by code (GET /api/v1/areas?area=...), each asked once per
 * page. A name that cannot be had is left out: the code still shows.
 */
export async function areaNames(codes) {
  const missing = [...new Set(codes)].filter(
    (code) => /^[A-Z]{2}-\d+$/.test(code || "") && !areaNamesByCode.has(code),
  );
  for (let i = 0; i < missing.length; i += 100) {
    const params = new URLSearchParams();
    for (const code of missing.slice(i, i + 100)) params.append("area", code);
    try {
      const { data } = await api(`/api/v1/areas?${params}`);
      for (const area of data) areaNamesByCode.set(area.code, area.local_name || area.name);
    } catch {
      // Names are a help to read; the codes stay on the page.
    }
  }
  return areaNamesByCode;
}

/** The service codes with their names, by group (GET /api/v1/taxonomy). */
export async function taxonomy() {
  const { data } = await api("/api/v1/taxonomy");
  return data;
}

/** A <select>'s options for the taxonomy, in optgroups. */
export function taxonomyOptions(select, codes) {
  const groups = new Map();
  for (const term of codes) {
    if (!groups.has(term.group)) {
      const group = el("optgroup", { label: term.group_name });
      groups.set(term.group, group);
      select.append(group);
    }
    groups.get(term.group).append(el("option", { value: term.code }, term.name));
  }
}
