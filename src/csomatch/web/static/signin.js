// The sign-in page: check a pasted token with GET /api/v1/me, then list the role's pages.

import { t } from "./i18n.js";
import {
  ROLE_NAMES,
  api,
  clearToken,
  el,
  pagesFor,
  setToken,
  signOut,
  token,
} from "./session.js";

const form = document.getElementById("sign-in");
const input = document.getElementById("token");
const message = document.getElementById("message");
const session = document.getElementById("session");

function say(text) {
  message.textContent = text;
  message.hidden = !text;
}

async function organisationName(id) {
  try {
    const { data } = await api(`/api/v1/organizations/${id}`);
    return data.name;
  } catch {
    return id;
  }
}

async function show(me) {
  document.getElementById("me-role").textContent = ROLE_NAMES[me.role] || me.role;
  document.getElementById("me-jurisdiction").textContent = me.jurisdiction;
  document.getElementById("me-organization").textContent = me.organization_id
    ? await organisationName(me.organization_id)
    : "—";
  document.getElementById("me-agency").textContent = me.agency || "—";
  const links = pagesFor(me.role).map((page) =>
    el("li", {}, el("a", { href: page.href }, page.label)),
  );
  document.getElementById("my-pages").replaceChildren(...links);
  form.hidden = true;
  session.hidden = false;
  say("");
  document.getElementById("session-title").focus();
}

async function check() {
  try {
    const { data } = await api("/api/v1/me");
    await show(data);
  } catch (error) {
    clearToken();
    form.hidden = false;
    session.hidden = true;
    if (error.status === 401) {
      say(t("This token is not valid: it is unknown or has been revoked. Check that you " +
          "pasted all of it, or ask your co-ordinator for a new one."));
    } else {
      say(t("Could not sign in: {error}", { error: error.message }));
    }
    input.focus();
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = input.value.trim().replace(/^Bearer\s+/i, "");
  if (!value) {
    say(t("Paste your access token first."));
    input.focus();
    return;
  }
  input.value = "";
  setToken(value);
  await check();
});

document.getElementById("sign-out-here").addEventListener("click", signOut);
document.getElementById("session-title").setAttribute("tabindex", "-1");

if (token()) check();
