-- csomatch 0020: funding feeds. Exchange rates to EUR, import reports, organisation matches
-- waiting for review, per-transaction detail of IATI activities, and funder tokens.
-- The ledger tables of 0001 (funder, funding, funding_service) keep their meaning; funding
-- gains columns that say where a row came from and what it is worth in EUR.

-- EUR per unit of a currency, valid from a date until the next row of the same currency.
CREATE TABLE fx_rate (
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    valid_from date NOT NULL,
    eur_per_unit numeric(20, 10) NOT NULL CHECK (eur_per_unit > 0),
    source text NOT NULL DEFAULT 'user' CHECK (length(source) BETWEEN 1 AND 200),
    illustrative boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (currency, valid_from)
);

-- ILLUSTRATIVE rates, rounded, so that a fresh install converts something: replace them
-- with real ones ('csomatch funding rates import FILE.csv'). BAM is pegged (1 EUR = 1.95583).
INSERT INTO fx_rate (currency, valid_from, eur_per_unit, source, illustrative) VALUES
    ('EUR', DATE '2000-01-01', 1, 'identity', false),
    ('USD', DATE '2000-01-01', 0.92, 'illustrative default, not a market rate', true),
    ('GBP', DATE '2000-01-01', 1.17, 'illustrative default, not a market rate', true),
    ('CHF', DATE '2000-01-01', 1.04, 'illustrative default, not a market rate', true),
    ('SEK', DATE '2000-01-01', 0.087, 'illustrative default, not a market rate', true),
    ('NOK', DATE '2000-01-01', 0.086, 'illustrative default, not a market rate', true),
    ('ALL', DATE '2000-01-01', 0.0102, 'illustrative default, not a market rate', true),
    ('BAM', DATE '2000-01-01', 0.5112918812, 'fixed peg 1 EUR = 1.95583 BAM', true),
    ('MKD', DATE '2000-01-01', 0.01625, 'illustrative default, not a market rate', true),
    ('RSD', DATE '2000-01-01', 0.00854, 'illustrative default, not a market rate', true);

-- The rate of a currency on a date: the latest row valid on it; NULL when there is none.
CREATE FUNCTION eur_rate(cur text, on_date date) RETURNS numeric LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN cur = 'EUR' THEN 1::numeric ELSE (
        SELECT r.eur_per_unit FROM fx_rate r
        WHERE r.currency = cur AND r.valid_from <= on_date
        ORDER BY r.valid_from DESC LIMIT 1
    ) END
$$;

-- One row per import (a file, or one record through the API), with its report.
CREATE TABLE funding_import (
    id uuid PRIMARY KEY,
    format text NOT NULL CHECK (format IN ('iati', 'csv', '360giving', 'api')),
    filename text CHECK (length(filename) <= 300),
    dry_run boolean NOT NULL DEFAULT false,
    token_id uuid,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    rows_read integer NOT NULL DEFAULT 0 CHECK (rows_read >= 0),
    imported integer NOT NULL DEFAULT 0 CHECK (imported >= 0),
    updated integer NOT NULL DEFAULT 0 CHECK (updated >= 0),
    unchanged integer NOT NULL DEFAULT 0 CHECK (unchanged >= 0),
    skipped integer NOT NULL DEFAULT 0 CHECK (skipped >= 0),
    report jsonb NOT NULL DEFAULT '{}'
);

-- Where a funding row came from and what it is worth in EUR.
ALTER TABLE funding
    ADD COLUMN value_date date,
    ADD COLUMN amount_eur numeric(16, 2),
    ADD COLUMN title text CHECK (length(title) <= 500),
    ADD COLUMN activity_ref text CHECK (length(activity_ref) <= 200),
    ADD COLUMN recipient_ref text CHECK (length(recipient_ref) <= 200),
    ADD COLUMN recipient_match_key text CHECK (length(recipient_match_key) <= 400),
    ADD COLUMN match_method text
        CHECK (match_method IN ('id', 'identifier', 'name', 'confirmed')),
    ADD COLUMN match_score smallint CHECK (match_score BETWEEN 0 AND 100),
    ADD COLUMN service_refs text[] NOT NULL DEFAULT '{}',
    ADD COLUMN content_hash text,
    ADD COLUMN import_id uuid REFERENCES funding_import (id) ON DELETE SET NULL,
    ADD COLUMN updated_at timestamptz;
CREATE INDEX funding_match_key_idx ON funding (recipient_match_key)
    WHERE recipient_organization_id IS NULL;
CREATE INDEX funding_funder_idx ON funding (funder_id);
CREATE INDEX funding_activity_idx ON funding (source, activity_ref);

-- amount_eur follows amount, currency and date whoever writes the row (seed, feeds, tests):
-- at the value date, else at the start of the period; NULL when no rate is known.
CREATE FUNCTION funding_amount_eur() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.amount_eur := round(
        NEW.amount * eur_rate(NEW.currency, coalesce(NEW.value_date, NEW.period_start)), 2
    );
    RETURN NEW;
END $$;
CREATE TRIGGER funding_amount_eur
    BEFORE INSERT OR UPDATE OF amount, currency, value_date, period_start ON funding
    FOR EACH ROW EXECUTE FUNCTION funding_amount_eur();
UPDATE funding SET amount = amount;

-- A recipient the importers could not match with confidence: waits for a person to confirm
-- (or reject) a registry organisation. Once confirmed, later imports reuse the decision.
CREATE TABLE funding_org_match (
    id uuid PRIMARY KEY,
    match_key text NOT NULL UNIQUE CHECK (length(match_key) BETWEEN 1 AND 400),
    identifier text CHECK (length(identifier) <= 200),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    candidate_organization_id uuid REFERENCES organization (id) ON DELETE SET NULL,
    score smallint CHECK (score BETWEEN 0 AND 100),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'rejected')),
    organization_id uuid REFERENCES organization (id) ON DELETE CASCADE,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    CONSTRAINT funding_org_match_confirmed CHECK ((status = 'confirmed') = (organization_id IS NOT NULL))
);
CREATE INDEX funding_org_match_status_idx ON funding_org_match (status, last_seen_at);

-- Transactions of an IATI activity (incoming funds, commitment, disbursement, expenditure),
-- kept as detail beside the ledger rows the activity gave (same source and activity_ref).
CREATE TABLE funding_transaction (
    id uuid PRIMARY KEY,
    source text NOT NULL CHECK (source IN ('iati')),
    activity_ref text NOT NULL CHECK (length(activity_ref) BETWEEN 1 AND 200),
    position integer NOT NULL CHECK (position >= 0),
    ref text CHECK (length(ref) <= 200),
    transaction_type smallint NOT NULL CHECK (transaction_type IN (1, 2, 3, 4)),
    transaction_date date NOT NULL,
    amount numeric(16, 2) NOT NULL,
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    value_date date NOT NULL,
    amount_eur numeric(16, 2),
    provider_ref text CHECK (length(provider_ref) <= 200),
    provider_name text CHECK (length(provider_name) <= 300),
    receiver_ref text CHECK (length(receiver_ref) <= 200),
    receiver_name text CHECK (length(receiver_name) <= 300),
    CONSTRAINT funding_transaction_position UNIQUE (source, activity_ref, position)
);

-- A funder token speaks for one funder: it may add funding only where it is the funder.
CREATE TABLE api_token_funder (
    token_id uuid PRIMARY KEY REFERENCES api_token (id) ON DELETE CASCADE,
    funder_id uuid NOT NULL REFERENCES funder (id) ON DELETE CASCADE
);
