-- The coordinator's console (issue 14, item 1).
--
-- referral_time_limit: how long a referral of an urgency may stay in a state before the
-- console shows it overdue. The rows of jurisdiction 'MARRI' are the defaults every
-- participant starts from (docs/coordination.md says why each value); a participant's own
-- row for a (state, urgency) overrides the default there. Minutes, 1 minute to 60 days.
--
-- referral.escalated_at: set once by the sweeper when a referral stayed submitted or matched
-- without any offer past its limit (event `referral.stuck`).
CREATE TABLE referral_time_limit (
    jurisdiction text NOT NULL
        CHECK (jurisdiction IN ('MARRI', 'AL', 'BA', 'XK', 'ME', 'MK', 'RS')),
    state text NOT NULL CHECK (state IN (
        'submitted', 'matched', 'offered', 'accepted', 'declined', 'expired', 'confirmed',
        'in_service')),
    urgency text NOT NULL CHECK (urgency IN ('emergency', 'urgent', 'planned')),
    minutes integer NOT NULL CHECK (minutes BETWEEN 1 AND 86400),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid,
    PRIMARY KEY (jurisdiction, state, urgency)
);

INSERT INTO referral_time_limit (jurisdiction, state, urgency, minutes) VALUES
    ('MARRI', 'submitted', 'emergency', 30),
    ('MARRI', 'matched', 'emergency', 60),
    ('MARRI', 'offered', 'emergency', 45),
    ('MARRI', 'accepted', 'emergency', 120),
    ('MARRI', 'declined', 'emergency', 60),
    ('MARRI', 'expired', 'emergency', 60),
    ('MARRI', 'confirmed', 'emergency', 720),
    ('MARRI', 'in_service', 'emergency', 86400),
    ('MARRI', 'submitted', 'urgent', 240),
    ('MARRI', 'matched', 'urgent', 480),
    ('MARRI', 'offered', 'urgent', 720),
    ('MARRI', 'accepted', 'urgent', 480),
    ('MARRI', 'declined', 'urgent', 480),
    ('MARRI', 'expired', 'urgent', 480),
    ('MARRI', 'confirmed', 'urgent', 2880),
    ('MARRI', 'in_service', 'urgent', 86400),
    ('MARRI', 'submitted', 'planned', 1440),
    ('MARRI', 'matched', 'planned', 2880),
    ('MARRI', 'offered', 'planned', 1080),
    ('MARRI', 'accepted', 'planned', 1080),
    ('MARRI', 'declined', 'planned', 2880),
    ('MARRI', 'expired', 'planned', 2880),
    ('MARRI', 'confirmed', 'planned', 10080),
    ('MARRI', 'in_service', 'planned', 86400);

-- One version per jurisdiction's table, for If-Match: a participant's ETag is its own
-- version plus the defaults' version, so an edit of either makes an older reading stale.
CREATE TABLE referral_time_limit_version (
    jurisdiction text PRIMARY KEY
        CHECK (jurisdiction IN ('MARRI', 'AL', 'BA', 'XK', 'ME', 'MK', 'RS')),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1)
);
INSERT INTO referral_time_limit_version (jurisdiction)
    VALUES ('MARRI'), ('AL'), ('BA'), ('XK'), ('ME'), ('MK'), ('RS');

ALTER TABLE referral ADD COLUMN escalated_at timestamptz;

-- The sweeper looks for open referrals not yet escalated.
CREATE INDEX referral_stuck_idx ON referral (state, submitted_at)
    WHERE escalated_at IS NULL AND state IN ('submitted', 'matched');
