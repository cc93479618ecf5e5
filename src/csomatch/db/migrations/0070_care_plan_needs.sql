-- csomatch 0070 (issue 13, item 4): a care plan in one referral. See docs/referrals.md.
--
-- 1. Each need of a referral has its own state: suggested (no offer yet), offered, accepted,
--    declined, expired, confirmed, in_service, closed (with an outcome; none when the
--    referral was cancelled) or unmet (with a reason code).
-- 2. Each hold (offer) is for one need (`need_idx`); one open offer per need instead of one
--    per referral, so a plan holds a service for every need at once.
-- 3. The referral's state summarises its needs, so it may move between any two in-progress
--    states (a new offer for a second need after the first was confirmed: confirmed ->
--    offered), and closes when every need is closed or unmet. It closes as `placed` from
--    in_service, or when one of its needs was closed as placed.
-- 4. A cancelled referral names why (`cancel_reason`, a code; never free text).
-- Existing referrals are mapped: every hold is for the first need its service's code meets,
-- and each need takes the state of its newest offer (closed with the referral).

-- 1. Per-need state -------------------------------------------------------------------------

ALTER TABLE referral_need
    ADD COLUMN state text NOT NULL DEFAULT 'suggested' CHECK (state IN (
        'suggested', 'offered', 'accepted', 'declined', 'expired', 'confirmed', 'in_service',
        'closed', 'unmet'
    )),
    ADD COLUMN outcome text CHECK (outcome IN (
        'placed', 'person_declined', 'no_capacity', 'transferred', 'withdrawn'
    )),
    ADD COLUMN unmet_reason text CHECK (unmet_reason IN (
        'no_provider', 'no_capacity', 'not_eligible', 'person_declined', 'not_pursued'
    )),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- 2. A hold is an offer for one need --------------------------------------------------------

-- Default 0: an offer written without a need (older code, a hand-written statement) is for
-- the first need.
ALTER TABLE referral_hold ADD COLUMN need_idx smallint NOT NULL DEFAULT 0;
UPDATE referral_hold h SET need_idx = coalesce(
    (SELECT min(n.idx) FROM referral_need n JOIN service s ON s.taxonomy_code = n.taxonomy_code
      WHERE n.referral_id = h.referral_id AND s.id = h.service_id),
    0);
ALTER TABLE referral_hold ADD CONSTRAINT referral_hold_need_fkey
    FOREIGN KEY (referral_id, need_idx) REFERENCES referral_need (referral_id, idx)
    ON DELETE CASCADE;
DROP INDEX referral_hold_one_open;
CREATE UNIQUE INDEX referral_hold_one_open_per_need ON referral_hold (referral_id, need_idx)
    WHERE status IN ('held', 'accepted');

-- The state of each existing need: its newest offer's, or closed with its referral.
WITH last AS (
    SELECT n.referral_id, n.idx, r.state AS referral_state, r.outcome AS referral_outcome,
           (SELECT h.status FROM referral_hold h
             WHERE h.referral_id = n.referral_id AND h.need_idx = n.idx
             ORDER BY h.created_at DESC, h.id DESC LIMIT 1) AS status
    FROM referral_need n JOIN referral r ON r.id = n.referral_id
)
UPDATE referral_need n SET
    state = CASE
        WHEN l.referral_state = 'cancelled' THEN 'closed'
        WHEN l.referral_state = 'closed'
             AND (l.referral_outcome <> 'placed' OR l.status = 'confirmed') THEN 'closed'
        WHEN l.referral_state = 'closed' THEN 'unmet'
        WHEN l.status IS NULL OR l.status = 'released' THEN 'suggested'
        WHEN l.status = 'held' THEN 'offered'
        WHEN l.status = 'confirmed' AND l.referral_state = 'in_service' THEN 'in_service'
        ELSE l.status
    END,
    outcome = CASE
        WHEN l.referral_state = 'closed'
             AND (l.referral_outcome <> 'placed' OR l.status = 'confirmed')
            THEN l.referral_outcome
    END,
    unmet_reason = CASE
        WHEN l.referral_state = 'closed' AND l.referral_outcome = 'placed'
             AND l.status IS DISTINCT FROM 'confirmed' THEN 'not_pursued'
    END
FROM last l
WHERE l.referral_id = n.referral_id AND l.idx = n.idx;

ALTER TABLE referral_need ADD CONSTRAINT referral_need_outcome_when_closed
    CHECK (outcome IS NULL OR state = 'closed');
ALTER TABLE referral_need ADD CONSTRAINT referral_need_reason_when_unmet
    CHECK ((state = 'unmet') = (unmet_reason IS NOT NULL));

-- 3. The referral's state summarises its needs ----------------------------------------------

INSERT INTO referral_transition (from_state, to_state)
SELECT a, b
FROM unnest(ARRAY['matched', 'offered', 'accepted', 'declined', 'expired', 'confirmed',
                  'in_service']) a,
     unnest(ARRAY['matched', 'offered', 'accepted', 'declined', 'expired', 'confirmed',
                  'in_service', 'closed']) b
WHERE a <> b
ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION referral_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'draft' THEN
            RAISE EXCEPTION 'a referral starts as draft, not %', NEW.state
                USING ERRCODE = '23514', CONSTRAINT = 'referral_transition';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.state IS NOT DISTINCT FROM OLD.state THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM referral_transition t
        WHERE t.from_state = OLD.state AND t.to_state = NEW.state
    ) THEN
        RAISE EXCEPTION 'a referral cannot go from % to %', OLD.state, NEW.state
            USING ERRCODE = '23514', CONSTRAINT = 'referral_transition';
    END IF;
    IF NEW.state = 'closed' AND NEW.outcome = 'placed' AND OLD.state <> 'in_service'
       AND NOT EXISTS (
           SELECT 1 FROM referral_need n
           WHERE n.referral_id = NEW.id AND n.outcome = 'placed'
       ) THEN
        RAISE EXCEPTION 'only a referral in service closes as placed'
            USING ERRCODE = '23514', CONSTRAINT = 'referral_transition';
    END IF;
    IF OLD.state = 'draft' AND NEW.state = 'submitted' AND NOT EXISTS (
        SELECT 1 FROM referral_profile p
        WHERE p.referral_id = NEW.id
          AND (p.consent_given OR p.override_approved_at IS NOT NULL)
    ) THEN
        RAISE EXCEPTION 'a referral is submitted only with consent or an approved override'
            USING ERRCODE = '23514', CONSTRAINT = 'referral_consent_required';
    END IF;
    NEW.updated_at := now();
    NEW.version := OLD.version + 1;
    IF NEW.state = 'submitted' THEN
        NEW.submitted_at := coalesce(NEW.submitted_at, now());
    END IF;
    IF NEW.state IN ('closed', 'cancelled') THEN
        NEW.closed_at := now();
    END IF;
    RETURN NEW;
END $$;

-- 4. Why a referral was cancelled -----------------------------------------------------------

ALTER TABLE referral ADD COLUMN cancel_reason text CHECK (cancel_reason IN (
    'person_withdrew', 'placed_elsewhere', 'duplicate', 'no_longer_needed', 'safety'
));
