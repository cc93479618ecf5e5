-- Licences that live (issue 14): a licence is active, suspended or revoked, with a reason
-- code for the last two, a reference to its evidence (a document held elsewhere, never a
-- copy of it) and a version that guards changes (If-Match). Existing rows stay active.
ALTER TABLE licence
    ADD COLUMN status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'suspended', 'revoked')),
    ADD COLUMN status_reason text
        CHECK (status_reason IN ('inspection_failed', 'standards_not_met',
                                 'authority_request', 'closed', 'other')),
    ADD COLUMN evidence_ref text CHECK (length(evidence_ref) BETWEEN 1 AND 200),
    ADD COLUMN suspended_at timestamptz,
    ADD COLUMN revoked_at timestamptz,
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);

-- An active licence has no reason; a suspended or revoked one has its reason and its time.
ALTER TABLE licence ADD CONSTRAINT licence_status_reason CHECK (
    (status = 'active') = (status_reason IS NULL)
    AND (status <> 'suspended' OR suspended_at IS NOT NULL)
    AND (status <> 'revoked' OR revoked_at IS NOT NULL)
);

-- A revoked licence stays revoked: a new licence is added instead.
CREATE FUNCTION licence_revoked_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'revoked' THEN
        RAISE EXCEPTION 'a revoked licence cannot change'
            USING ERRCODE = '23514', CONSTRAINT = 'licence_revoked_final';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER licence_revoked_final BEFORE UPDATE ON licence
    FOR EACH ROW EXECUTE FUNCTION licence_revoked_is_final();

CREATE INDEX licence_valid_to_idx ON licence (valid_to) WHERE status <> 'revoked';
