// The public feedback page (/feedback, /feedback/<code>): no sign-in, no token, nothing from
// another site. The person (or an advocate with them) answers four questions on pictogram
// scales, in the language they choose, and the code is spent (POST /api/v1/feedback).

import { QUESTIONS, WORDS, preferredLanguage } from "./feedbackwords.js";

const SVG = "http://www.w3.org/2000/svg";
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
// Each step of the scale as a face: its colour and the curve of its mouth (y at the corners,
// y in the middle); the middle one is a straight line.
const FACES = [
  { fill: "#f4b6ae", corner: 30, middle: 21 },
  { fill: "#f8d3b5", corner: 28, middle: 24 },
  { fill: "#fbecb3", corner: 27, middle: 27 },
  { fill: "#d3edc2", corner: 25, middle: 30 },
  { fill: "#b5e3b8", corner: 24, middle: 34 },
];

const $ = (id) => document.getElementById(id);
let lang = preferredLanguage();
const texts = []; // [node, (words) => text]

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  return node;
}

/** A face for step ``i`` (0-4) of the scale, or a neutral mark for "prefer not to say". */
function face(i) {
  const box = svg("svg", { viewBox: "0 0 40 40", width: 44, height: 44, "aria-hidden": "true",
    focusable: "false", class: "face" });
  if (i === null) {
    box.append(svg("circle", { cx: 20, cy: 20, r: 17, fill: "#e6e6e6", stroke: "#555",
      "stroke-width": 2 }), svg("path", { d: "M12 20 H28", stroke: "#555", "stroke-width": 3,
      "stroke-linecap": "round" }));
    return box;
  }
  const f = FACES[i];
  box.append(
    svg("circle", { cx: 20, cy: 20, r: 17, fill: f.fill, stroke: "#333", "stroke-width": 2 }),
    svg("circle", { cx: 14, cy: 16, r: 2.2, fill: "#333" }),
    svg("circle", { cx: 26, cy: 16, r: 2.2, fill: "#333" }),
    svg("path", { d: `M12 ${f.corner} Q20 ${f.middle} 28 ${f.corner}`, fill: "none",
      stroke: "#333", "stroke-width": 2.5, "stroke-linecap": "round" }),
  );
  return box;
}

/** Keep a node's text in step with the language. */
function words(node, pick) {
  texts.push([node, pick]);
  return node;
}

function choice(question, value, i) {
  const label = words(el("span", { class: "choice-text" }), (w) =>
    i === null ? w.skip : w.scale[i]);
  const input = el("input", { type: "radio", name: question, value });
  return el("label", { class: "choice", "data-value": value }, input, face(i), label);
}

function drawQuestions() {
  const box = $("fb-questions");
  for (const q of QUESTIONS) {
    const legend = words(el("legend", {}), (w) => w.questions[q]);
    const scale = el("div", { class: "scale" },
      ...FACES.map((_, i) => choice(q, String(i + 1), i)), choice(q, "skip", null));
    box.append(el("fieldset", { class: "question", id: `q-${q}` }, legend, scale));
  }
}

function drawLanguages() {
  const box = $("langs");
  for (const [code, w] of Object.entries(WORDS)) {
    const b = el("button", { type: "button", class: "lang", lang: code, "data-lang": code }, w.name);
    b.addEventListener("click", () => setLanguage(code));
    box.append(b);
  }
}

function setLanguage(code) {
  lang = code;
  const w = WORDS[code];
  document.documentElement.lang = code;
  document.documentElement.dir = w.dir;
  document.title = w.title;
  $("fb-title").textContent = w.title;
  $("fb-intro").textContent = w.intro;
  $("fb-code-label").textContent = w.code;
  $("fb-send").textContent = w.send;
  for (const [node, pick] of texts) node.textContent = pick(w);
  for (const b of document.querySelectorAll(".lang")) {
    b.setAttribute("aria-pressed", String(b.dataset.lang === code));
  }
  if ($("fb-status").dataset.key) say($("fb-status").dataset.key);
  if (!$("fb-done").hidden) $("fb-done").textContent = w.thanks;
}

/** Show a message of the catalogue (kept by its key, so a language change translates it). */
function say(key) {
  const status = $("fb-status");
  status.dataset.key = key || "";
  status.textContent = key ? WORDS[lang][key] : "";
  status.classList.toggle("error", Boolean(key));
}

/** The code as the server reads it: upper case, no separators, O as 0, I and L as 1. */
function normalised(typed) {
  const code = typed.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  return code.length === 16 && [...code].every((c) => ALPHABET.includes(c)) ? code : null;
}

function answer(question) {
  const picked = document.querySelector(`input[name="${question}"]:checked`);
  return !picked || picked.value === "skip" ? null : Number(picked.value);
}

const PROBLEMS = { 404: "notFound", 410: "spent", 429: "tooMany", 400: "badCode", 422: "badCode" };

async function send(event) {
  event.preventDefault();
  const input = $("fb-code");
  if (!normalised(input.value)) {
    say("badCode");
    input.setAttribute("aria-invalid", "true");
    input.focus();
    return;
  }
  input.removeAttribute("aria-invalid");
  const body = { code: input.value.trim() };
  for (const q of QUESTIONS) body[q] = answer(q);
  $("fb-send").disabled = true;
  say("");
  try {
    const response = await fetch("/api/v1/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    if (response.ok) {
      $("fb-form").hidden = true;
      $("fb-done").textContent = WORDS[lang].thanks;
      $("fb-done").hidden = false;
      return;
    }
    say(PROBLEMS[response.status] || "offline");
  } catch {
    say("offline");
  } finally {
    $("fb-send").disabled = false;
  }
}

function start() {
  drawLanguages();
  drawQuestions();
  const fromPath = decodeURIComponent(location.pathname.replace(/^\/feedback\/?/, ""));
  if (fromPath) $("fb-code").value = fromPath.slice(0, 40);
  $("fb-form").addEventListener("submit", send);
  setLanguage(lang);
  $("feedback").dataset.ready = "true";
}

start();
