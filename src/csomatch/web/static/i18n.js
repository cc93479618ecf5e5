// The pages' words in the user's language. Every string a person reads goes through t():
//   t("{count} beds free", { count: 3 })
// msgids are the English text with named placeholders in braces; Babel's JavaScript
// extractor collects them into the "web" catalogues (src/csomatch/locale/*/LC_MESSAGES/web.po).
// The page's language is its <html lang> (chosen by the server from the csomatch.lang cookie,
// then Accept-Language); this module loads that language's catalogue (/i18n/<lang>.json)
// before any page script runs (top-level await), so t() answers in it from the start.
// It also runs the language switch in the header (docs/web.md "Languages").

const STORE = "csomatch.lang";
const YEAR_S = 365 * 24 * 3600;

/** The page's language: a BCP 47 tag for Intl and the API (en, sq, sr-Latn, sr-Cyrl, mk, bs). */
export const lang = document.documentElement.lang || "en";

let catalogue = {};

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** The English msgid in the page's language, with {name} placeholders filled in. */
export function t(msgid, params = {}) {
  return fill(catalogue[msgid] || msgid, params);
}

/**
 * A sentence with elements in it, for el()'s children: tParts("Free now: {free} of {total}",
 * { free: el("strong", {}, "3"), total: 12 }) -> ["Free now: ", <strong>, " of 12"]. The
 * translation may move the placeholders; each element keeps its place in the words.
 */
export function tParts(msgid, params = {}) {
  return (catalogue[msgid] || msgid).split(/(\{\w+\})/).filter(Boolean).map((part) => {
    const name = /^\{(\w+)\}$/.exec(part)?.[1];
    if (!name || !Object.prototype.hasOwnProperty.call(params, name)) return part;
    const value = params[name];
    return value instanceof Node ? value : String(value);
  });
}

/** Replace the catalogue (msgid -> translation); used by the loader of the page's language. */
export function useCatalogue(entries) {
  catalogue = entries || {};
}

/**
 * The locales Intl formats with: the page's language where this browser's Intl knows it;
 * else one that writes numbers and dates as the language does (Chromium's ICU has no
 * Albanian or Macedonian data: "3,2" and "1 234" for Albanian as in French, "1.234,5" and
 * the date "03.12.2026" for both as in German).
 */
const SAME_NUMBERS = { sq: "fr", mk: "de" };
const known = (tag) => Intl.NumberFormat.supportedLocalesOf([tag]).length > 0;
const numberLocale = known(lang) ? lang : SAME_NUMBERS[lang] || lang;
const dateLocale = known(lang) ? lang : "de";

const pluralRules = new Intl.PluralRules(lang);
const numberFormat = new Intl.NumberFormat(numberLocale);

/**
 * A message whose words depend on a number, {count} filled in (formatted for the language).
 * Each form is its own msgid, chosen with Intl.PluralRules of the page's language:
 *   plural(n, { one: t("{count} place"), few: t("{count} places (few)"),
 *               other: t("{count} places") }, { more: "params" })
 * English uses one and other; Serbian and Bosnian also few (2-4, 22-24...), so every such
 * message has all three; the "(few)" msgid is never shown in English (docs/web.md).
 */
export function plural(count, forms, params = {}) {
  return fill(pluralForm(count, forms), { count: numberFormat.format(count), ...params });
}

/** The plural form (still with its placeholders) for count: for tParts() with elements. */
export function pluralForm(count, forms) {
  return forms[pluralRules.select(count)] ?? forms.other;
}

/** A number in the page's language (digits grouped as its readers write them). */
export function number(value, options = {}) {
  return new Intl.NumberFormat(numberLocale, options).format(value);
}

/** A number with one decimal (or ``digits``) in the page's language: 3.2, 3,2. */
export function decimal(value, digits = 1) {
  return number(value, { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A date and time (ISO string or Date) in the page's language. */
export function dateTime(value, options = { dateStyle: "medium", timeStyle: "short" }) {
  return new Intl.DateTimeFormat(dateLocale, options).format(new Date(value));
}

/** A date (ISO string or Date) in the page's language. */
export function date(value, options = { dateStyle: "medium" }) {
  return new Intl.DateTimeFormat(dateLocale, options).format(new Date(value));
}

/** Remember a language (this browser: localStorage and the cookie the server reads). */
export function remember(tag) {
  localStorage.setItem(STORE, tag);
  document.cookie = `${STORE}=${encodeURIComponent(tag)}; path=/; max-age=${YEAR_S}; SameSite=Lax`;
}

function cookieLanguage() {
  const found = document.cookie.split("; ").find((c) => c.startsWith(`${STORE}=`));
  return found ? decodeURIComponent(found.slice(STORE.length + 1)) : null;
}

/** The header's language switch: choosing reloads the page in that language. */
function watchSwitch() {
  const select = document.getElementById("page-language");
  if (!select) return;
  select.value = lang;
  select.addEventListener("change", () => {
    remember(select.value);
    location.reload();
  });
}

// A language chosen earlier in this browser whose cookie has gone (cleared, expired) is set
// again and the page asked for once more in it; a cookie that is there is the choice.
const stored = localStorage.getItem(STORE);
const cookie = cookieLanguage();
if (cookie && cookie !== stored) {
  localStorage.setItem(STORE, cookie);
} else if (!cookie && stored && stored !== lang && !sessionStorage.getItem(STORE)) {
  sessionStorage.setItem(STORE, "asked"); // at most once per tab, should the server not agree
  remember(stored);
  location.reload();
}

if (lang !== "en") {
  try {
    const response = await fetch(`/i18n/${encodeURIComponent(lang)}.json`, {
      credentials: "omit",
    });
    if (response.ok) useCatalogue(await response.json());
  } catch {
    // Without its catalogue the page reads in English (t() falls back to the msgid).
  }
}

watchSwitch();
