// Language names for the ISO 639 codes the registry uses.

import { t } from "./i18n.js";

/** Languages of the region and of the people its services most often meet (ISO 639). */
export const LANGUAGES = {
  sq: t("Albanian"), ar: t("Arabic"), bs: t("Bosnian"), hr: t("Croatian"), cnr: t("Montenegrin"),
  en: t("English"), fa: t("Persian (Farsi)"), fr: t("French"), de: t("German"), el: t("Greek"),
  hu: t("Hungarian"), it: t("Italian"), mk: t("Macedonian"), ps: t("Pashto"), rom: t("Romani"),
  ro: t("Romanian"), ru: t("Russian"), sr: t("Serbian"), es: t("Spanish"), tr: t("Turkish"),
  uk: t("Ukrainian"), ur: t("Urdu"), vi: t("Vietnamese"), zh: t("Chinese"),
};
