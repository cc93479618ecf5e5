-- csomatch 0073 (issue 14, item 2): the receiving side of a transnational referral declines it.
--
-- A coordinator of the receiving participant declines a transnational referral with a reason
-- code (the decline reasons of offers); the referral goes back to `submitted` with its open
-- offers released, for the referring side to match again. These are the lifecycle's new
-- edges: every in-progress state may return to `submitted`. Who may take them is the use
-- case's to check (csomatch.referrals.sides); the referral records the last such decline.

INSERT INTO referral_transition (from_state, to_state)
SELECT a, 'submitted'
FROM unnest(ARRAY['matched', 'offered', 'accepted', 'declined', 'expired', 'confirmed',
                  'in_service']) a
ON CONFLICT DO NOTHING;

ALTER TABLE referral
    ADD COLUMN receiving_decline_reason text CHECK (receiving_decline_reason IN (
        'no_capacity', 'not_eligible', 'safety', 'person_declined', 'other'
    )),
    ADD COLUMN receiving_declined_at timestamptz,
    ADD CONSTRAINT referral_receiving_decline_complete CHECK (
        (receiving_decline_reason IS NULL) = (receiving_declined_at IS NULL)
    ),
    ADD CONSTRAINT referral_receiving_decline_transnational CHECK (
        receiving_decline_reason IS NULL OR transnational
    );
