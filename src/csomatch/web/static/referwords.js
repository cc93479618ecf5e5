// The words of the referral pages (/refer, /referrals) for the server's codes: each list
// has exactly the server's codes (tests/unit/test_web_vocabulary.py checks them).

/** Why services were left out (the matcher's reason codes, docs/matching.md), in words. */
export const REASONS = {
  no_provider: "no service in the registry offers it",
  service_code: "does not offer this service",
  gender: "not for this gender",
  age: "not for this age band",
  group: "cannot take the whole group together",
  not_accepting: "not accepting referrals now",
  licence: "no valid licence for this service",
  no_capacity: "no free place now",
  language: "does not speak the person's languages, and no interpreter",
  excluded_area: "in or too near a place to keep away from",
  security: "not secure enough for a high risk",
  jurisdiction: "outside the jurisdiction, without cross-border support",
};
/** The matcher's cost terms, in words (1 point = 100 m of travel). */
export const TERMS = {
  distance: "travel",
  language: "not the person's first language",
  freshness: "age of the free-places number",
  specialisation: "not specialised for this person",
  availability: "no free place reported now",
  acceptance: "often declines offers",
  feedback: "lower feedback from people served",
  proximity: "far from the person's other services",
};
export const STATES = {
  draft: "Draft: not sent yet",
  submitted: "Submitted",
  matched: "Matched: book the plan or hold a place at one of the services below",
  offered: "Offered: places are held, waiting for the providers' answers",
  accepted: "Accepted by the providers: confirm the placements",
  declined: "A provider declined: hold a place somewhere else",
  expired: "The offer expired (unanswered, or not confirmed in time): hold a place somewhere else",
  confirmed: "Placement confirmed",
  in_service: "In service",
  closed: "Closed",
  cancelled: "Cancelled",
};
export const OFFER_STATUS = {
  held: "waiting for the provider's answer",
  accepted: "accepted",
  confirmed: "confirmed",
  declined: "declined",
  expired: "expired",
  released: "released",
};
/** An offer beyond the places its provider now reports (docs/referrals.md): what to do. */
export const AT_RISK = "At risk: the provider now reports fewer free places than are held, and " +
  "this offer is beyond them, so it cannot be accepted or confirmed for now. Call the " +
  "provider: if the place is there, they report it and the offer goes ahead; if not, it " +
  "will be declined or expire, and you hold a place somewhere else.";

/** A need's own state (docs/referrals.md, "A care plan"). */
export const NEED_STATES = {
  suggested: "No place held yet",
  offered: "Place held, waiting for the provider's answer",
  accepted: "Accepted by the provider: confirm the placement",
  declined: "Declined: hold a place somewhere else",
  expired: "Expired: hold a place somewhere else",
  confirmed: "Placement confirmed: mark it in service when it starts",
  in_service: "In service: close it with its outcome when it ends",
  closed: "Closed",
  unmet: "Left unmet",
};
/** How a need or a referral ends. */
export const OUTCOMES = {
  placed: "Placed: the service was given",
  person_declined: "The person declined",
  no_capacity: "No place could be found",
  transferred: "Transferred elsewhere",
  withdrawn: "Withdrawn",
};
/** Why a need is left unmet. */
export const UNMET_REASONS = {
  no_provider: "No service offers it",
  no_capacity: "No free place",
  not_eligible: "No eligible service",
  person_declined: "The person declined it",
  not_pursued: "Not pursued",
};
/** Why a referral is cancelled (a code, never free text). */
export const CANCEL_REASONS = {
  person_withdrew: "The person withdrew",
  placed_elsewhere: "Placed outside this referral",
  duplicate: "A duplicate of another referral",
  no_longer_needed: "No longer needed",
  safety: "Going on would endanger the person",
};

/** The timeline of a transnational referral (docs/transnational.md), in its order. */
export const TRM_STEPS = {
  risk_assessment: "Pre-return risk assessment",
  documents: "Documents",
  escort: "Escort",
  arrival: "Arrival",
  follow_up_3m: "Follow-up at 3 months",
  follow_up_6m: "Follow-up at 6 months",
  follow_up_12m: "Follow-up at 12 months",
};
export const TRM_STEP_STATUS = {
  planned: "planned",
  done: "done",
  cancelled: "cancelled",
};
/** What a transnational referral records consent for, item by item. */
export const CONSENT_ITEMS = {
  referral: "Referral",
  data_sharing: "Data sharing",
  cross_border: "Cross-border",
};
/** Why the receiving side declines a transnational referral (the offers' decline reasons). */
export const DECLINE_REASONS = {
  no_capacity: "No capacity to receive the person now",
  not_eligible: "Not eligible for the services here",
  safety: "Not safe to receive the person",
  person_declined: "The person declined",
  other: "Another reason",
};
