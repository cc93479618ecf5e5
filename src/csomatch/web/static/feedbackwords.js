// The words of the public feedback page and of the feedback card, per language: English,
// Arabic, Farsi and Ukrainian here (the languages of the people it most often asks), and the
// page's own interface language (Albanian, Serbian, Macedonian, Bosnian: the header's switch)
// from the web catalogue (docs/web.md "Languages").

import { lang as pageLanguage, t } from "./i18n.js";

/** The page's interface language, its words from the web catalogue (named as the switch does). */
function interfaceWords() {
  const own = document.querySelector("#page-language option[selected]");
  return {
    name: own ? own.textContent : pageLanguage,
    dir: "ltr",
    title: t("Tell us about the service"),
    intro: t("We do not ask your name. The service will not know these answers are yours. " +
      "There is nothing to write: only choose."),
    code: t("Your code (on the card)"),
    questions: {
      safe: t("Did you feel safe there?"),
      respected: t("Were you treated with respect?"),
      understood: t("Did you understand them, and did they understand you (language)?"),
      helped: t("Did the service help you?"),
    },
    scale: [t("Not at all"), t("A little"), t("Partly"), t("Mostly"), t("Completely")],
    skip: t("Prefer not to say"),
    send: t("Send"),
    thanks: t("Thank you. Your answers were saved."),
    badCode: t("A code has 16 letters and digits, as on the card."),
    notFound: t("We could not find this code. Check it letter by letter."),
    spent: t("This code has already been used, or it has expired."),
    tooMany: t("Too many tries. Please wait a few minutes."),
    offline: t("No connection. Please try again."),
    cardHint: t("Tell us how the service treated you. Open the link or scan the code, " +
      "and enter the code. No name, nothing to write."),
  };
}

/** Each language: its own name, its direction, and every string the person reads. */
export const WORDS = {
  en: {
    name: "English",
    dir: "ltr",
    title: "Tell us about the service",
    intro: "We do not ask your name. The service will not know these answers are yours. " +
      "There is nothing to write: only choose.",
    code: "Your code (on the card)",
    questions: {
      safe: "Did you feel safe there?",
      respected: "Were you treated with respect?",
      understood: "Did you understand them, and did they understand you (language)?",
      helped: "Did the service help you?",
    },
    scale: ["Not at all", "A little", "Partly", "Mostly", "Completely"],
    skip: "Prefer not to say",
    send: "Send",
    thanks: "Thank you. Your answers were saved.",
    badCode: "A code has 16 letters and digits, as on the card.",
    notFound: "We could not find this code. Check it letter by letter.",
    spent: "This code has already been used, or it has expired.",
    tooMany: "Too many tries. Please wait a few minutes.",
    offline: "No connection. Please try again.",
    cardHint: "Tell us how the service treated you. Open the link or scan the code, " +
      "and enter the code. No name, nothing to write.",
  },
  ar: {
    name: "العربية",
    dir: "rtl",
    title: "أخبرنا عن الخدمة",
    intro: "لا نطلب اسمك. لن تعرف الخدمة أن هذه إجاباتك. لا يوجد ما تكتبه: اختر فقط.",
    code: "رمزك (على البطاقة)",
    questions: {
      safe: "هل شعرت بالأمان هناك؟",
      respected: "هل عوملت باحترام؟",
      understood: "هل فهمتهم وفهموك (اللغة)؟",
      helped: "هل ساعدتك الخدمة؟",
    },
    scale: ["أبدًا", "قليلًا", "إلى حد ما", "في الغالب", "تمامًا"],
    skip: "أفضّل عدم القول",
    send: "إرسال",
    thanks: "شكرًا لك. تم حفظ إجاباتك.",
    badCode: "الرمز 16 حرفًا ورقمًا، كما على البطاقة.",
    notFound: "لم نجد هذا الرمز. تحقق منه حرفًا حرفًا.",
    spent: "هذا الرمز استُخدم من قبل أو انتهت صلاحيته.",
    tooMany: "محاولات كثيرة. يرجى الانتظار بضع دقائق.",
    offline: "لا يوجد اتصال. حاول مرة أخرى.",
    cardHint: "أخبرنا كيف عاملتك الخدمة. افتح الرابط أو امسح الرمز وأدخل الرمز. " +
      "بلا اسم ولا كتابة.",
  },
  fa: {
    name: "فارسی",
    dir: "rtl",
    title: "درباره این خدمت به ما بگویید",
    intro: "نام شما را نمی‌پرسیم. آن خدمت نمی‌داند این پاسخ‌ها از شماست. " +
      "چیزی برای نوشتن نیست: فقط انتخاب کنید.",
    code: "کد شما (روی کارت)",
    questions: {
      safe: "آیا آنجا احساس امنیت کردید؟",
      respected: "آیا با شما با احترام رفتار شد؟",
      understood: "آیا حرف آنها را فهمیدید و آنها حرف شما را فهمیدند (زبان)؟",
      helped: "آیا این خدمت به شما کمک کرد؟",
    },
    scale: ["اصلاً", "کمی", "تا حدی", "بیشتر", "کاملاً"],
    skip: "ترجیح می‌دهم نگویم",
    send: "ارسال",
    thanks: "متشکریم. پاسخ‌های شما ذخیره شد.",
    badCode: "کد ۱۶ حرف و رقم دارد، مانند روی کارت.",
    notFound: "این کد را پیدا نکردیم. آن را حرف به حرف بررسی کنید.",
    spent: "این کد قبلاً استفاده شده یا منقضی شده است.",
    tooMany: "تلاش‌های زیادی انجام شد. لطفاً چند دقیقه صبر کنید.",
    offline: "اتصال برقرار نیست. لطفاً دوباره تلاش کنید.",
    cardHint: "به ما بگویید این خدمت با شما چگونه رفتار کرد. پیوند را باز کنید یا کد را " +
      "اسکن کنید و کد را وارد کنید. بدون نام، بدون نوشتن.",
  },
  uk: {
    name: "Українська",
    dir: "ltr",
    title: "Розкажіть нам про послугу",
    intro: "Ми не питаємо вашого імені. Служба не дізнається, що це ваші відповіді. " +
      "Писати нічого не треба: лише обирайте.",
    code: "Ваш код (на картці)",
    questions: {
      safe: "Чи почувалися ви там у безпеці?",
      respected: "Чи ставилися до вас з повагою?",
      understood: "Чи розуміли ви їх, а вони вас (мова)?",
      helped: "Чи допомогла вам ця послуга?",
    },
    scale: ["Зовсім ні", "Трохи", "Частково", "Здебільшого", "Повністю"],
    skip: "Волію не відповідати",
    send: "Надіслати",
    thanks: "Дякуємо. Ваші відповіді збережено.",
    badCode: "Код має 16 літер і цифр, як на картці.",
    notFound: "Ми не знайшли цей код. Перевірте його літеру за літерою.",
    spent: "Цей код уже використано, або термін його дії минув.",
    tooMany: "Забагато спроб. Зачекайте кілька хвилин.",
    offline: "Немає з'єднання. Спробуйте ще раз.",
    cardHint: "Розкажіть, як служба поводилася з вами. Відкрийте посилання або скануйте код " +
      "і введіть код. Без імені, нічого не писати.",
  },
};

/** The questions, in the order they are asked (as the API names them). */
export const QUESTIONS = ["safe", "respected", "understood", "helped"];

if (pageLanguage !== "en" && !WORDS[pageLanguage]) WORDS[pageLanguage] = interfaceWords();

/**
 * The page's interface language when it is not English (the person or their advocate chose
 * it with the switch); else the browser's language if the page has it; else English.
 */
export function preferredLanguage() {
  if (pageLanguage !== "en" && WORDS[pageLanguage]) return pageLanguage;
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (WORDS[base]) return base;
  }
  return "en";
}
