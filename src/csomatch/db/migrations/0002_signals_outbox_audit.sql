-- csomatch 0002: demand signals, the aggregate-only evidence of demand for the gap analysis.
--
-- One row per observed need for a service in an area: a referral need, a need nobody could
-- meet (with the rule that stopped it), a decline for lack of capacity, a search that found
-- nothing. No person data: no referral id, no profile, no free text; `reason` is a code.
-- `dedup_key` (a hash the writer builds) keeps a repeated request from counting twice.

CREATE TABLE demand_signal (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL
        CHECK (kind IN ('need', 'unmet', 'decline_no_capacity', 'search_empty')),
    source text NOT NULL
        CHECK (source IN ('suggestion', 'batch', 'referral', 'offer', 'search')),
    participant_code text NOT NULL REFERENCES participant (code),
    area_code text REFERENCES area (code),
    taxonomy_code text NOT NULL REFERENCES taxonomy_term (code),
    reason text CHECK (reason ~ '^[a-z_]{1,40}$'),
    dedup_key text UNIQUE CHECK (length(dedup_key) BETWEEN 1 AND 128)
);
CREATE INDEX demand_signal_cell_idx
    ON demand_signal (participant_code, taxonomy_code, area_code, occurred_at);

-- Each service's track record, for the matcher's acceptance-history term: offers made,
-- offers accepted, and survivor feedback (1-5) given at closing. Counters only.
CREATE TABLE service_track_record (
    service_id uuid PRIMARY KEY REFERENCES service (id) ON DELETE CASCADE,
    offers integer NOT NULL DEFAULT 0 CHECK (offers >= 0),
    accepted integer NOT NULL DEFAULT 0,
    feedback_n integer NOT NULL DEFAULT 0 CHECK (feedback_n >= 0),
    feedback_sum integer NOT NULL DEFAULT 0,
    CONSTRAINT track_record_counts CHECK (
        0 <= accepted AND accepted <= offers
        AND feedback_sum BETWEEN feedback_n AND 5 * feedback_n
    )
);

-- The transactional outbox: state changes that notifications (webhooks, live pages) announce,
-- written in the same transaction as the change. Ids and states only, never person data.
CREATE TABLE outbox_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    event_type text NOT NULL CHECK (event_type ~ '^[a-z_]+\.[a-z_]+$'),
    object_type text NOT NULL CHECK (object_type ~ '^[a-z_]+$'),
    object_id uuid NOT NULL,
    state text CHECK (state ~ '^[a-z_]+$'),
    -- who should hear of it: organisations and jurisdictions
    organization_ids uuid[] NOT NULL DEFAULT '{}',
    jurisdictions text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX outbox_event_created_idx ON outbox_event (created_at);

-- The agency a token speaks for (a police directorate, a centre for social work): referrals
-- and audit events name the agency, never a person.
ALTER TABLE api_token ADD COLUMN agency text CHECK (length(agency) BETWEEN 1 AND 200);
ALTER TABLE audit_event ADD COLUMN agency text;
