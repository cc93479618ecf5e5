// The pages' words in the user's language. Every string a person reads goes through t():
//   t("{count} beds free", { count: 3 })
// msgids are the English text with named placeholders in braces; Babel's JavaScript
// extractor collects them into the "web" catalogues (src/csomatch/locale/*/LC_MESSAGES/web.po).
// Until the catalogue of the page's language is loaded, t() answers in English.

let catalogue = {};

/** The English msgid in the page's language, with {name} placeholders filled in. */
export function t(msgid, params = {}) {
  const text = catalogue[msgid] || msgid;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** Replace the catalogue (msgid -> translation); used by the loader of the page's language. */
export function useCatalogue(entries) {
  catalogue = entries || {};
}
