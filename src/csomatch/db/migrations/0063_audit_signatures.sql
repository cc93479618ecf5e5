-- csomatch 0063: every audit event is signed (HMAC-SHA-256) with a key kept outside the
-- database, so that an event cannot be edited, nor the chain recomputed after an edit, by
-- someone who can write to the database (even with the triggers off) but not read the key.
-- The application computes the signature; the key never reaches PostgreSQL.

-- NULL only for events written before signing began (and by writers without the key, which
-- `csomatch audit verify` reports).
ALTER TABLE audit_event ADD COLUMN mac bytea CHECK (mac IS NULL OR length(mac) = 32);

-- Where signing began: events up to `unsigned_until` predate it. One row, written here once;
-- every signed checkpoint outside the database repeats it, so moving it is detected.
CREATE TABLE audit_signing (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    unsigned_until bigint NOT NULL CHECK (unsigned_until >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO audit_signing (unsigned_until) SELECT coalesce(max(seq), 0) FROM audit_event;

CREATE FUNCTION audit_signing_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_signing is written once' USING ERRCODE = '42501';
END $$;
CREATE TRIGGER audit_signing_no_update BEFORE UPDATE OR DELETE ON audit_signing
    FOR EACH ROW EXECUTE FUNCTION audit_signing_append_only();
CREATE TRIGGER audit_signing_no_truncate BEFORE TRUNCATE ON audit_signing
    FOR EACH STATEMENT EXECUTE FUNCTION audit_signing_append_only();
