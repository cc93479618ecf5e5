-- The survivor's voice (docs/feedback.md): one-time feedback codes, their answers, and the
-- counters that rate-limit issuing and answering.
--
-- Unlinkable by construction: a code row names the service, never the referral; an answer
-- row names the service and the quarter it was given in, never the code; no time finer
-- than a day is stored on either side (the code's quarter and days, the answer's quarter).

CREATE TABLE feedback_code (
    -- SHA-256 of the code's 16 characters (normalised); the code itself is never stored
    code_hash bytea PRIMARY KEY CHECK (length(code_hash) = 32),
    service_id uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    -- the quarter it was issued in (its first day)
    quarter date NOT NULL CHECK (quarter = date_trunc('quarter', quarter)::date),
    issued_on date NOT NULL,
    expires_at timestamptz NOT NULL,
    spent_on date,
    CONSTRAINT feedback_code_expiry CHECK (expires_at > issued_on)
);
CREATE INDEX feedback_code_expiry_idx ON feedback_code (expires_at);

-- One answer: the service, its code and participant as they were at the answer, the quarter
-- it was given in, and the four answers (1-5; NULL: prefer not to say). No id of a code or
-- of a referral, no time of day.
CREATE TABLE feedback_answer (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    service_id uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    taxonomy_code text NOT NULL,
    participant_code text NOT NULL,
    quarter date NOT NULL CHECK (quarter = date_trunc('quarter', quarter)::date),
    safe smallint CHECK (safe BETWEEN 1 AND 5),
    respected smallint CHECK (respected BETWEEN 1 AND 5),
    understood smallint CHECK (understood BETWEEN 1 AND 5),
    helped smallint CHECK (helped BETWEEN 1 AND 5),
    -- the one 1-5 score the matcher counts (NULL: every question skipped)
    score smallint CHECK (score BETWEEN 1 AND 5)
);
CREATE INDEX feedback_answer_quarter_idx ON feedback_answer (quarter, service_id);

-- Codes issued per token and day (CSOMATCH_FEEDBACK_CODES_PER_DAY).
CREATE TABLE feedback_issue_count (
    token_id uuid NOT NULL REFERENCES api_token (id) ON DELETE CASCADE,
    day date NOT NULL,
    n integer NOT NULL CHECK (n >= 0),
    PRIMARY KEY (token_id, day)
);

-- Attempts at the public answer per client address (SHA-256 of it) and ten-minute window;
-- rows older than a day are deleted as new ones come.
CREATE TABLE feedback_attempt (
    client_hash bytea NOT NULL CHECK (length(client_hash) = 32),
    window_start timestamptz NOT NULL,
    n integer NOT NULL CHECK (n >= 0),
    PRIMARY KEY (client_hash, window_start)
);
CREATE INDEX feedback_attempt_window_idx ON feedback_attempt (window_start);
