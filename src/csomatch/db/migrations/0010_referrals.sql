-- csomatch 0010: referrals, their lifecycle (enforced here), holds/offers on capacity, and
-- idempotency keys. See docs/referrals.md.
--
-- A referral is split in two on purpose:
--   referral          the aggregate facts kept after retention (ids, jurisdictions, agency,
--                     urgency, current area, state, outcome, dates) and the needs (codes);
--   referral_profile  everything else about the person's situation (age band, gender,
--                     languages, excluded areas, risk, group, consent, nationality), deleted
--                     whole when the retention period of a closed referral ends.
-- There is no column for a name, a birth date, a document, a contact, an address or free text.

CREATE TABLE referral (
    id uuid PRIMARY KEY,
    -- the referring participant, and the one whose services are sought (differs: transnational)
    jurisdiction text NOT NULL REFERENCES participant (code),
    receiving_participant text NOT NULL REFERENCES participant (code),
    transnational boolean GENERATED ALWAYS AS (jurisdiction <> receiving_participant) STORED,
    agency text CHECK (length(agency) BETWEEN 1 AND 200),
    created_by uuid REFERENCES api_token (id) ON DELETE SET NULL,
    creator_organization_id uuid REFERENCES organization (id) ON DELETE SET NULL,
    state text NOT NULL DEFAULT 'draft' CHECK (state IN (
        'draft', 'submitted', 'matched', 'offered', 'accepted', 'declined', 'expired',
        'confirmed', 'in_service', 'closed', 'cancelled'
    )),
    outcome text CHECK (outcome IN (
        'placed', 'person_declined', 'no_capacity', 'transferred', 'withdrawn'
    )),
    urgency text NOT NULL CHECK (urgency IN ('emergency', 'urgent', 'planned')),
    needed_by timestamptz,
    current_area text NOT NULL REFERENCES area (code),
    -- the matcher's best next service after a decline or an expired offer (an id only)
    next_service_id uuid REFERENCES service (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    submitted_at timestamptz,
    closed_at timestamptz,
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    CONSTRAINT referral_outcome_when_closed CHECK ((state = 'closed') = (outcome IS NOT NULL))
);
CREATE INDEX referral_jurisdiction_idx ON referral (jurisdiction, agency, created_at);
CREATE INDEX referral_receiving_idx ON referral (receiving_participant, created_at)
    WHERE transnational;
CREATE INDEX referral_closed_idx ON referral (closed_at) WHERE state IN ('closed', 'cancelled');

-- The needs: taxonomy codes, each `must` or `should`, in the order given (idx from 0).
CREATE TABLE referral_need (
    referral_id uuid NOT NULL REFERENCES referral (id) ON DELETE CASCADE,
    idx smallint NOT NULL CHECK (idx BETWEEN 0 AND 19),
    taxonomy_code text NOT NULL REFERENCES taxonomy_term (code),
    priority text NOT NULL CHECK (priority IN ('must', 'should')),
    PRIMARY KEY (referral_id, idx)
);

CREATE TABLE referral_profile (
    referral_id uuid PRIMARY KEY REFERENCES referral (id) ON DELETE CASCADE,
    age_band text NOT NULL CHECK (age_band IN ('0-5', '6-13', '14-17', '18-24', '25-59', '60+')),
    age_uncertain boolean NOT NULL DEFAULT false,
    gender text NOT NULL CHECK (gender IN ('female', 'male', 'other')),
    languages text[] NOT NULL CHECK (cardinality(languages) BETWEEN 1 AND 10),
    interpreter_needed boolean NOT NULL DEFAULT false,
    preferred_areas text[] NOT NULL DEFAULT '{}' CHECK (cardinality(preferred_areas) <= 50),
    excluded_areas text[] NOT NULL DEFAULT '{}' CHECK (cardinality(excluded_areas) <= 50),
    min_distance_km double precision NOT NULL DEFAULT 0 CHECK (min_distance_km BETWEEN 0 AND 1000),
    risk_level text NOT NULL DEFAULT 'low' CHECK (risk_level IN ('low', 'medium', 'high')),
    accessibility text[] NOT NULL DEFAULT '{}',
    group_adults integer NOT NULL DEFAULT 1 CHECK (group_adults BETWEEN 1 AND 20),
    group_children_age_bands text[] NOT NULL DEFAULT '{}'
        CHECK (group_children_age_bands <@ ARRAY['0-5', '6-13', '14-17']),
    -- ISO 3166 alpha-2; only when a requested service needs it (checked by the use case)
    nationality text CHECK (nationality ~ '^[A-Z]{2}$'),
    consent_given boolean,
    consent_method text CHECK (consent_method IN ('verbal', 'written', 'electronic', 'guardian')),
    consent_scope text[] NOT NULL DEFAULT '{}'
        CHECK (consent_scope <@ ARRAY['referral', 'data_sharing', 'cross_border']),
    consent_at timestamptz,
    -- an override of consent, requested by the referrer, approved by a second person
    -- (a coordinator): the approval is also an audit event
    override_reason text CHECK (override_reason IN (
        'child_best_interest', 'lacks_capacity', 'imminent_danger'
    )),
    override_scope text[] NOT NULL DEFAULT '{}'
        CHECK (override_scope <@ ARRAY['referral', 'data_sharing', 'cross_border']),
    override_requested_by uuid REFERENCES api_token (id) ON DELETE SET NULL,
    override_approved_by uuid REFERENCES api_token (id) ON DELETE SET NULL,
    override_approved_at timestamptz,
    CONSTRAINT referral_consent_complete CHECK (
        consent_given IS NULL OR (consent_method IS NOT NULL AND consent_at IS NOT NULL)
    ),
    CONSTRAINT referral_override_second_person CHECK (
        override_approved_by IS NULL
        OR (override_reason IS NOT NULL AND override_approved_by <> override_requested_by)
    )
);

-- The lifecycle: the only state changes allowed. A trigger checks every change against it
-- and writes the change to referral_state_change (which references this table too).
CREATE TABLE referral_transition (
    from_state text NOT NULL,
    to_state text NOT NULL,
    PRIMARY KEY (from_state, to_state)
);
INSERT INTO referral_transition (from_state, to_state) VALUES
    ('draft', 'submitted'),
    ('submitted', 'matched'),
    ('matched', 'offered'),
    ('offered', 'accepted'),
    ('offered', 'declined'),
    ('offered', 'expired'),
    ('declined', 'matched'),
    ('declined', 'offered'),
    ('expired', 'matched'),
    ('expired', 'offered'),
    ('accepted', 'confirmed'),
    ('confirmed', 'in_service'),
    ('in_service', 'closed'),
    -- closing without a placement (no outcome 'placed': see the trigger)
    ('submitted', 'closed'),
    ('matched', 'closed'),
    ('declined', 'closed'),
    ('expired', 'closed'),
    ('accepted', 'closed'),
    ('confirmed', 'closed'),
    -- cancelled from any open state
    ('draft', 'cancelled'),
    ('submitted', 'cancelled'),
    ('matched', 'cancelled'),
    ('offered', 'cancelled'),
    ('accepted', 'cancelled'),
    ('declined', 'cancelled'),
    ('expired', 'cancelled'),
    ('confirmed', 'cancelled'),
    ('in_service', 'cancelled');

CREATE TABLE referral_state_change (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    referral_id uuid NOT NULL REFERENCES referral (id) ON DELETE CASCADE,
    from_state text,
    to_state text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT referral_state_change_allowed FOREIGN KEY (from_state, to_state)
        REFERENCES referral_transition (from_state, to_state)
);
CREATE INDEX referral_state_change_referral_idx ON referral_state_change (referral_id, at);

CREATE FUNCTION referral_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF NEW.state = 'closed' AND NEW.outcome = 'placed' AND OLD.state <> 'in_service' THEN
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
CREATE TRIGGER referral_check_transition BEFORE INSERT OR UPDATE OF state ON referral
    FOR EACH ROW EXECUTE FUNCTION referral_check_transition();

CREATE FUNCTION referral_log_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO referral_state_change (referral_id, from_state, to_state)
        VALUES (NEW.id, NULL, NEW.state);
    ELSIF NEW.state IS DISTINCT FROM OLD.state THEN
        INSERT INTO referral_state_change (referral_id, from_state, to_state)
        VALUES (NEW.id, OLD.state, NEW.state);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER referral_log_transition AFTER INSERT OR UPDATE OF state ON referral
    FOR EACH ROW EXECUTE FUNCTION referral_log_transition();

-- A hold takes places of a service's capacity for a referral; it is the offer to the
-- provider. It counts as taken while `held` and not past `expires_at`, or once `accepted`
-- (until it is confirmed, which consumes the places from `available`, or released).
CREATE TABLE referral_hold (
    id uuid PRIMARY KEY,
    referral_id uuid NOT NULL REFERENCES referral (id) ON DELETE CASCADE,
    service_id uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    places integer NOT NULL CHECK (places BETWEEN 1 AND 100),
    status text NOT NULL DEFAULT 'held' CHECK (status IN (
        'held', 'accepted', 'declined', 'expired', 'released', 'confirmed'
    )),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    answered_at timestamptz,
    decline_reason text CHECK (decline_reason IN (
        'no_capacity', 'not_eligible', 'safety', 'person_declined', 'other'
    )),
    -- who answered: a role and an agency or organisation, never a person's name
    answered_by_role text CHECK (answered_by_role IN ('provider', 'coordinator', 'admin')),
    answered_by_agency text CHECK (length(answered_by_agency) <= 200),
    escalated_at timestamptz,
    CONSTRAINT hold_expiry_after_creation CHECK (expires_at > created_at),
    CONSTRAINT hold_decline_has_reason CHECK ((status = 'declined') = (decline_reason IS NOT NULL))
);
CREATE INDEX referral_hold_service_live_idx ON referral_hold (service_id, expires_at)
    WHERE status IN ('held', 'accepted');
CREATE INDEX referral_hold_referral_idx ON referral_hold (referral_id, created_at);
CREATE INDEX referral_hold_org_idx ON referral_hold (organization_id, created_at);
CREATE INDEX referral_hold_expiry_idx ON referral_hold (expires_at) WHERE status = 'held';
-- One open offer per referral at a time.
CREATE UNIQUE INDEX referral_hold_one_open ON referral_hold (referral_id)
    WHERE status IN ('held', 'accepted');

-- Places a service's live holds take now: held and not expired, or accepted.
CREATE FUNCTION live_held_places(p_service_id uuid) RETURNS integer
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(places), 0)::integer FROM referral_hold
    WHERE service_id = p_service_id
      AND (status = 'accepted' OR (status = 'held' AND expires_at > now()))
$$;

-- service_capacity.held is never written directly: every write of a capacity row sets it to
-- the places its live holds take (so expired holds never count, swept or not), and the
-- table's CHECK (held <= available) then refuses any overbooking.
CREATE FUNCTION capacity_recount_held() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.held := live_held_places(NEW.service_id);
    IF TG_OP = 'UPDATE' AND NEW.updated_at > OLD.updated_at THEN
        NEW.update_requested_at := NULL;
    END IF;
    RETURN NEW;
END $$;

-- A decline for lack of capacity asks the provider for a new number.
ALTER TABLE service_capacity ADD COLUMN update_requested_at timestamptz;

CREATE TRIGGER capacity_recount_held BEFORE INSERT OR UPDATE ON service_capacity
    FOR EACH ROW EXECUTE FUNCTION capacity_recount_held();

-- Any change to a hold recounts its service's capacity row: the UPDATE locks the row (holds
-- on one service serialise here), the BEFORE trigger above recounts from a snapshot taken
-- after the lock, and the CHECK refuses the change if held would exceed available.
CREATE FUNCTION hold_recount_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE service_capacity SET held = held WHERE service_id = NEW.service_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'service % has no capacity record', NEW.service_id
            USING ERRCODE = '23514', CONSTRAINT = 'hold_needs_capacity';
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER hold_recount_capacity AFTER INSERT OR UPDATE OF status, places, expires_at
    ON referral_hold FOR EACH ROW EXECUTE FUNCTION hold_recount_capacity();

-- Idempotency keys, scoped to a token, with the first answer to replay; kept at least
-- 24 hours, then purged by the sweeper. A request in flight holds a transaction-scoped
-- advisory lock on (token, key); a stored row is always a finished answer.
CREATE TABLE idempotency_key (
    token_id uuid NOT NULL REFERENCES api_token (id) ON DELETE CASCADE,
    idem_key text NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 200),
    fingerprint bytea NOT NULL CHECK (length(fingerprint) = 32),
    status integer NOT NULL CHECK (status BETWEEN 200 AND 599),
    body bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (token_id, idem_key)
);
CREATE INDEX idempotency_key_created_idx ON idempotency_key (created_at);
