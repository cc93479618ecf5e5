// The words of the referral pages (/refer, /referrals) for the server's codes: each list
// has exactly the server's codes (tests/unit/test_web_vocabulary.py checks them).

import { t } from "./i18n.js";

/** Why services were left out (the matcher's reason codes, docs/matching.md), in words. */
export const REASONS = {
  no_provider: t("no service in the registry offers it"),
  service_code: t("does not offer this service"),
  gender: t("not for this gender"),
  age: t("not for this age band"),
  group: t("cannot take the whole group together"),
  not_accepting: t("not accepting referrals now"),
  licence: t("no valid licence for this service"),
  no_capacity: t("no free place now"),
  language: t("does not speak the person's languages, and no interpreter"),
  excluded_area: t("in or too near a place to keep away from"),
  security: t("not secure enough for a high risk"),
  jurisdiction: t("outside the jurisdiction, without cross-border support"),
};
/** The matcher's cost terms, in words (1 point = 100 m of travel). */
export const TERMS = {
  distance: t("travel"),
  language: t("not the person's first language"),
  freshness: t("age of the free-places number"),
  specialisation: t("not specialised for this person"),
  availability: t("no free place reported now"),
  acceptance: t("often declines offers"),
  feedback: t("lower feedback from people served"),
  proximity: t("far from the person's other services"),
};
export const STATES = {
  draft: t("Draft: not sent yet"),
  submitted: t("Submitted"),
  matched: t("Matched: book the plan or hold a place at one of the services below"),
  offered: t("Offered: places are held, waiting for the providers' answers"),
  accepted: t("Accepted by the providers: confirm the placements"),
  declined: t("A provider declined: hold a place somewhere else"),
  expired: t("The offer expired (unanswered, or not confirmed in time): hold a place somewhere else"),
  confirmed: t("Placement confirmed"),
  in_service: t("In service"),
  closed: t("Closed"),
  cancelled: t("Cancelled"),
};
export const OFFER_STATUS = {
  held: t("waiting for the provider's answer"),
  accepted: t("accepted"),
  confirmed: t("confirmed"),
  declined: t("declined"),
  expired: t("expired"),
  released: t("released"),
};
/** An offer beyond the places its provider now reports (docs/referrals.md): what to do. */
export const AT_RISK = t("At risk: the provider now reports fewer free places than are held, and " +
  "this offer is beyond them, so it cannot be accepted or confirmed for now. Call the " +
  "provider: if the place is there, they report it and the offer goes ahead; if not, it " +
  "will be declined or expire, and you hold a place somewhere else.");

/** A need's own state (docs/referrals.md, "A care plan"). */
export const NEED_STATES = {
  suggested: t("No place held yet"),
  offered: t("Place held, waiting for the provider's answer"),
  accepted: t("Accepted by the provider: confirm the placement"),
  declined: t("Declined: hold a place somewhere else"),
  expired: t("Expired: hold a place somewhere else"),
  confirmed: t("Placement confirmed: mark it in service when it starts"),
  in_service: t("In service: close it with its outcome when it ends"),
  closed: t("Closed"),
  unmet: t("Left unmet"),
};
/** How a need or a referral ends. */
export const OUTCOMES = {
  placed: t("Placed: the service was given"),
  person_declined: t("The person declined"),
  no_capacity: t("No place could be found"),
  transferred: t("Transferred elsewhere"),
  withdrawn: t("Withdrawn"),
};
/** Why a need is left unmet. */
export const UNMET_REASONS = {
  no_provider: t("No service offers it"),
  no_capacity: t("No free place"),
  not_eligible: t("No eligible service"),
  person_declined: t("The person declined it"),
  not_pursued: t("Not pursued"),
};
/** Why a referral is cancelled (a code, never free text). */
export const CANCEL_REASONS = {
  person_withdrew: t("The person withdrew"),
  placed_elsewhere: t("Placed outside this referral"),
  duplicate: t("A duplicate of another referral"),
  no_longer_needed: t("No longer needed"),
  safety: t("Going on would endanger the person"),
};

/** The timeline of a transnational referral (docs/transnational.md), in its order. */
export const TRM_STEPS = {
  risk_assessment: t("Pre-return risk assessment"),
  documents: t("Documents"),
  escort: t("Escort"),
  arrival: t("Arrival"),
  follow_up_3m: t("Follow-up at 3 months"),
  follow_up_6m: t("Follow-up at 6 months"),
  follow_up_12m: t("Follow-up at 12 months"),
};
export const TRM_STEP_STATUS = {
  planned: t("planned"),
  done: t("done"),
  cancelled: t("cancelled"),
};
/** What a transnational referral records consent for, item by item. */
export const CONSENT_ITEMS = {
  referral: t("Referral"),
  data_sharing: t("Data sharing"),
  cross_border: t("Cross-border"),
};
/** Why the receiving side declines a transnational referral (the offers' decline reasons). */
export const DECLINE_REASONS = {
  no_capacity: t("No capacity to receive the person now"),
  not_eligible: t("Not eligible for the services here"),
  safety: t("Not safe to receive the person"),
  person_declined: t("The person declined"),
  other: t("Another reason"),
};
