-- Agencies that refer (issue 13, item 6): a police directorate, a centre for social work, a
-- national co-ordinator's office, with the duty phone a provider calls about a placement.
-- Managed by the coordinators and admins of its jurisdiction. An officer's token names its
-- agency (`api_token.agency_id`); the older free-text `api_token.agency` stays, so tokens
-- made before this keep working.
CREATE TABLE agency (
    id uuid PRIMARY KEY,
    jurisdiction text NOT NULL REFERENCES participant (code),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- E.164 (+ and up to 15 digits), checked with the phonenumbers library before it is stored
    duty_phone text NOT NULL CHECK (duty_phone ~ '^\+[1-9][0-9]{6,14}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1,
    CONSTRAINT agency_name_unique UNIQUE (jurisdiction, name)
);

ALTER TABLE api_token ADD COLUMN agency_id uuid REFERENCES agency (id) ON DELETE SET NULL;
CREATE INDEX api_token_agency_idx ON api_token (agency_id) WHERE agency_id IS NOT NULL;
