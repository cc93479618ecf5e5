-- csomatch 0066: a child's referral (issue 13, item 3), following the child-protection
-- practice of the seeds: presumption of minority, the best interests of the child, a second
-- person for every decision about a child's placement.
--
-- * ``accompanied``: a parent or carer is placed with the child (and counted in
--   group_adults). False unless stated: a child, or a person of uncertain age, who is not
--   accompanied is matched only to services that serve unaccompanied minors.
-- * ``guardian_status``: whether a guardian is appointed, requested or not there; required
--   for a child's referral (age band under 18, or age uncertain). NOT VALID: referrals made
--   before this migration keep loading; every new or changed row is checked.
-- * the child sign-off: before a child's placement is confirmed, a second person (a
--   coordinator, or an officer of a guardianship authority) signs it off. Who and when are
--   kept with the profile (deleted at the end of retention); the audit log keeps the event.
-- * ``api_token.guardianship_authority``: the token's agency is the guardianship authority
--   (usually the centre for social work), whose officers may sign off.

ALTER TABLE referral_profile
    ADD COLUMN accompanied boolean NOT NULL DEFAULT false,
    ADD COLUMN guardian_status text CONSTRAINT referral_guardian_status
        CHECK (guardian_status IN ('appointed', 'requested', 'none')),
    ADD COLUMN child_sign_off_by uuid REFERENCES api_token (id) ON DELETE SET NULL,
    ADD COLUMN child_sign_off_at timestamptz;

ALTER TABLE referral_profile ADD CONSTRAINT referral_child_guardian CHECK (
    guardian_status IS NOT NULL
    OR NOT (age_uncertain OR age_band IN ('0-5', '6-13', '14-17'))
) NOT VALID;
-- A sign-off has its time (its signer may be gone later: a deleted token sets NULL).
ALTER TABLE referral_profile ADD CONSTRAINT referral_child_sign_off_complete CHECK (
    child_sign_off_by IS NULL OR child_sign_off_at IS NOT NULL
);

ALTER TABLE api_token ADD COLUMN guardianship_authority boolean NOT NULL DEFAULT false;
