// Language names for the ISO 639 codes the registry uses.

/** Languages of the region and of the people its services most often meet (ISO 639). */
export const LANGUAGES = {
  sq: "Albanian", ar: "Arabic", bs: "Bosnian", hr: "Croatian", cnr: "Montenegrin",
  en: "English", fa: "Persian (Farsi)", fr: "French", de: "German", el: "Greek",
  hu: "Hungarian", it: "Italian", mk: "Macedonian", ps: "Pashto", rom: "Romani",
  ro: "Romanian", ru: "Russian", sr: "Serbian", es: "Spanish", tr: "Turkish",
  uk: "Ukrainian", ur: "Urdu", vi: "Vietnamese", zh: "Chinese",
};
