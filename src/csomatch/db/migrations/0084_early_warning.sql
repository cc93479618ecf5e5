-- csomatch 0084: the early warning's crossings (docs/early-warnings.md).
--
-- One row per participant, service code and population group ('all': every group) whose
-- days until full have ever dropped below the code's threshold: whether they are below now,
-- and when that last changed. The sweep announces a crossing (early_warning.below, and
-- early_warning.cleared when the days rise again) only when it flips `below`, in the same
-- transaction, so each crossing is announced once, whichever process sweeps.
CREATE TABLE early_warning (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    participant_code text NOT NULL REFERENCES participant (code),
    taxonomy_code text NOT NULL REFERENCES taxonomy_term (code),
    population_group text NOT NULL CHECK (population_group IN (
        'all', 'women', 'men', 'unaccompanied_children', 'families', 'language_not_served'
    )),
    below boolean NOT NULL,
    threshold_days double precision NOT NULL CHECK (threshold_days > 0),
    days double precision CHECK (days >= 0),
    changed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT early_warning_once UNIQUE (participant_code, taxonomy_code, population_group)
);
