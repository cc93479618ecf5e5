"""csomatch: service-capacity registry and matcher for National Referral Mechanisms."""
