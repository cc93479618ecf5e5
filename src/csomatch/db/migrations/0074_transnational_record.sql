-- csomatch 0074 (issue 14, item 3): the record both sides of a transnational referral follow.
-- See docs/transnational.md.
--
-- One row per transnational referral (`referral_transnational`): the focal point of each
-- side (an agency record of that side's participant; its duty phone is the duty contact),
-- the return area (a municipality of the receiving participant, from which the return and
-- reintegration needs are matched), and who last changed it (a token). Consent per item
-- (`referral_transnational_consent`: referral, data sharing, cross-border; given, method,
-- time) and the timeline (`referral_transnational_step`): seven fixed steps, each planned,
-- done or cancelled, with its date and who recorded it (a token and an agency). No names, no
-- free text: codes, dates and ids only. The database checks that each focal point and the
-- return area belong to their side, and that the referral is transnational.

CREATE TABLE referral_transnational (
    referral_id uuid PRIMARY KEY REFERENCES referral (id) ON DELETE CASCADE,
    sending_agency_id uuid REFERENCES agency (id) ON DELETE SET NULL,
    receiving_agency_id uuid REFERENCES agency (id) ON DELETE SET NULL,
    return_area text REFERENCES area (code),
    updated_by uuid REFERENCES api_token (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1)
);

CREATE TABLE referral_transnational_consent (
    referral_id uuid NOT NULL REFERENCES referral_transnational (referral_id) ON DELETE CASCADE,
    item text NOT NULL CHECK (item IN ('referral', 'data_sharing', 'cross_border')),
    given boolean NOT NULL,
    method text NOT NULL CHECK (method IN ('verbal', 'written', 'electronic', 'guardian')),
    at timestamptz NOT NULL,
    PRIMARY KEY (referral_id, item)
);

CREATE TABLE referral_transnational_step (
    referral_id uuid NOT NULL REFERENCES referral_transnational (referral_id) ON DELETE CASCADE,
    code text NOT NULL CHECK (code IN (
        'risk_assessment', 'documents', 'escort', 'arrival',
        'follow_up_3m', 'follow_up_6m', 'follow_up_12m'
    )),
    status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'done', 'cancelled')),
    on_date date,
    recorded_by uuid REFERENCES api_token (id) ON DELETE SET NULL,
    recorded_by_agency_id uuid REFERENCES agency (id) ON DELETE SET NULL,
    recorded_at timestamptz,
    PRIMARY KEY (referral_id, code),
    CONSTRAINT trm_step_done_dated CHECK (status <> 'done' OR on_date IS NOT NULL)
);
CREATE INDEX referral_transnational_step_open_idx ON referral_transnational_step (referral_id)
    WHERE status = 'planned';

-- Each side's focal point and the return area belong to that side; only a transnational
-- referral has this record.
CREATE FUNCTION referral_transnational_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_sending text;
    v_receiving text;
BEGIN
    SELECT r.jurisdiction, r.receiving_participant INTO v_sending, v_receiving
    FROM referral r WHERE r.id = NEW.referral_id AND r.transnational;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'referral % is not transnational', NEW.referral_id
            USING ERRCODE = '23514', CONSTRAINT = 'trm_only_transnational';
    END IF;
    IF NEW.sending_agency_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM agency a WHERE a.id = NEW.sending_agency_id AND a.jurisdiction = v_sending
    ) THEN
        RAISE EXCEPTION 'the sending focal point is not an agency of %', v_sending
            USING ERRCODE = '23514', CONSTRAINT = 'trm_sending_agency_side';
    END IF;
    IF NEW.receiving_agency_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM agency a
        WHERE a.id = NEW.receiving_agency_id AND a.jurisdiction = v_receiving
    ) THEN
        RAISE EXCEPTION 'the receiving focal point is not an agency of %', v_receiving
            USING ERRCODE = '23514', CONSTRAINT = 'trm_receiving_agency_side';
    END IF;
    IF NEW.return_area IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM area a WHERE a.code = NEW.return_area AND a.participant_code = v_receiving
    ) THEN
        RAISE EXCEPTION 'the return area is not in %', v_receiving
            USING ERRCODE = '23514', CONSTRAINT = 'trm_return_area_side';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := now();
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER referral_transnational_check
    BEFORE INSERT OR UPDATE ON referral_transnational
    FOR EACH ROW EXECUTE FUNCTION referral_transnational_check();
