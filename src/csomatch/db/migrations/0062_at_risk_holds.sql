-- csomatch 0062: places are never stuck, and a provider can always say the truth.
--
-- 1. An accepted offer waits for the referrer's confirmation until its `confirm_by` (set on
--    acceptance, CSOMATCH_CONFIRM_HOURS later). After that it no longer counts, like an
--    unanswered offer after `expires_at`, and the sweeper marks it expired and escalated.
--    The referral may go from accepted to expired.
-- 2. A provider's report of fewer places than are held is stored (reality wins), so `held`
--    may now exceed `available`. The live holds beyond `available`, newest first, are at risk
--    (table `hold_at_risk`). While live holds exceed available the database refuses every new
--    hold on the service, and refuses to accept or confirm a hold that is beyond available;
--    the other holds proceed as usual. A hold stops being at risk as soon as places free up
--    (a higher report, another hold released, declined or expired). Each change is written
--    to the outbox in the same transaction: `hold.at_risk` and `hold.at_risk_cleared`.
--
-- Held plus confirmed places still never exceed what the provider offered when the hold
-- was taken: a hold that would add places beyond `available` is refused (`hold_exceeds_free`),
-- and a confirmation takes its places out of `available` only for a hold within it.

-- 1. The confirmation deadline of an accepted offer -----------------------------------------

ALTER TABLE referral_hold ADD COLUMN confirm_by timestamptz;
-- Offers accepted before this migration get a full period from now, not an instant expiry.
UPDATE referral_hold SET confirm_by = now() + interval '24 hours' WHERE status = 'accepted';
ALTER TABLE referral_hold ADD CONSTRAINT hold_accepted_has_deadline
    CHECK (status <> 'accepted' OR confirm_by IS NOT NULL);
CREATE INDEX referral_hold_confirm_idx ON referral_hold (confirm_by) WHERE status = 'accepted';

-- Whether a hold takes places now: held and not past its answer deadline, or accepted and
-- not past its confirmation deadline. The one definition of a live hold.
CREATE FUNCTION hold_counts(p_status text, p_expires_at timestamptz, p_confirm_by timestamptz)
    RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT (p_status = 'held' AND p_expires_at > now())
        OR (p_status = 'accepted' AND p_confirm_by > now())
$$;

CREATE OR REPLACE FUNCTION live_held_places(p_service_id uuid) RETURNS integer
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(places), 0)::integer FROM referral_hold
    WHERE service_id = p_service_id AND status IN ('held', 'accepted')
      AND hold_counts(status, expires_at, confirm_by)
$$;

INSERT INTO referral_transition (from_state, to_state) VALUES ('accepted', 'expired');

-- 2. Reality wins: available may be below held --------------------------------------------

ALTER TABLE service_capacity DROP CONSTRAINT capacity_counts;
ALTER TABLE service_capacity ADD CONSTRAINT capacity_counts CHECK (held >= 0 AND available >= 0);
ALTER TABLE service_capacity ADD CONSTRAINT capacity_within_maximum CHECK (available <= maximum);

-- The live holds at risk. No foreign key on purpose: the key check would lock the hold's row
-- (FOR KEY SHARE) from inside a capacity write, while the use cases lock a hold's row before
-- its capacity row; the opposite order could deadlock. A trigger on referral_hold removes
-- the row of a deleted hold instead.
CREATE TABLE hold_at_risk (
    hold_id uuid PRIMARY KEY,
    service_id uuid NOT NULL,
    since timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hold_at_risk_service_idx ON hold_at_risk (service_id);

-- The live holds of a service beyond `available`. Oldest first, a hold fits while the places
-- of the live holds up to it (itself included) fit in `available`; the rest, the newest, are
-- beyond it.
CREATE FUNCTION holds_beyond(p_service_id uuid, p_available integer) RETURNS SETOF uuid
    LANGUAGE sql STABLE AS $$
    SELECT id FROM (
        SELECT h.id, sum(h.places) OVER (ORDER BY h.created_at, h.id) AS upto
        FROM referral_hold h
        WHERE h.service_id = p_service_id AND h.status IN ('held', 'accepted')
          AND hold_counts(h.status, h.expires_at, h.confirm_by)
    ) live
    WHERE upto > p_available
$$;

-- Who hears of a hold's change: its provider and the referral's jurisdiction(s), as the
-- use cases' hold events (docs/referrals.md).
CREATE FUNCTION referral_jurisdictions(p_jurisdiction text, p_receiving text) RETURNS text[]
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_receiving = p_jurisdiction THEN ARRAY[p_jurisdiction]
                ELSE ARRAY[p_jurisdiction, p_receiving] END
$$;

-- Make `hold_at_risk` equal to the holds beyond `available` now, and announce each change.
-- Called with the capacity row written (and locked) by the current transaction, so changes
-- on one service are serialised.
CREATE FUNCTION hold_risk_refresh(p_service_id uuid, p_available integer) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    beyond uuid[];
BEGIN
    SELECT coalesce(array_agg(b.id), '{}') INTO beyond
    FROM holds_beyond(p_service_id, p_available) AS b (id);

    WITH cleared AS (
        DELETE FROM hold_at_risk r
        WHERE r.service_id = p_service_id AND r.hold_id <> ALL (beyond)
        RETURNING r.hold_id
    )
    INSERT INTO outbox_event (event_type, object_type, object_id, state, organization_ids,
                              jurisdictions)
    SELECT 'hold.at_risk_cleared', 'hold', h.id, h.status, ARRAY[h.organization_id],
           referral_jurisdictions(f.jurisdiction, f.receiving_participant)
    FROM cleared c
    JOIN referral_hold h ON h.id = c.hold_id
    JOIN referral f ON f.id = h.referral_id
    -- a hold released, declined or expired says so in its own event
    WHERE hold_counts(h.status, h.expires_at, h.confirm_by)
    ORDER BY h.created_at, h.id;

    WITH added AS (
        INSERT INTO hold_at_risk (hold_id, service_id)
        SELECT b, p_service_id FROM unnest(beyond) AS b
        ON CONFLICT (hold_id) DO NOTHING
        RETURNING hold_id
    )
    INSERT INTO outbox_event (event_type, object_type, object_id, state, organization_ids,
                              jurisdictions)
    SELECT 'hold.at_risk', 'hold', h.id, 'at_risk', ARRAY[h.organization_id],
           referral_jurisdictions(f.jurisdiction, f.receiving_participant)
    FROM added a
    JOIN referral_hold h ON h.id = a.hold_id
    JOIN referral f ON f.id = h.referral_id
    ORDER BY h.created_at DESC, h.id DESC;
END $$;

-- After every write of a capacity row: when live holds exceed available, or holds were at
-- risk, recompute which are. `held` was just recounted from the live holds, so held <=
-- available means that none is beyond.
CREATE FUNCTION capacity_refresh_risk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.held > NEW.available
       OR EXISTS (SELECT 1 FROM hold_at_risk r WHERE r.service_id = NEW.service_id) THEN
        PERFORM hold_risk_refresh(NEW.service_id, NEW.available);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER capacity_refresh_risk AFTER INSERT OR UPDATE ON service_capacity
    FOR EACH ROW EXECUTE FUNCTION capacity_refresh_risk();

-- Any change to a hold recounts its service's capacity row and changes its version (0061).
-- The UPDATE locks the row (holds on one service serialise here) and the recount after the
-- lock sees every committed hold. A hold that adds places (a new hold; one that counts again)
-- is refused when the live holds then exceed available: this is what refuses every new hold
-- while a provider's report is below the places held.
CREATE OR REPLACE FUNCTION hold_recount_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_held integer;
    v_available integer;
    added integer;
BEGIN
    UPDATE service_capacity SET version = version + 1 WHERE service_id = NEW.service_id
        RETURNING held, available INTO v_held, v_available;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'service % has no capacity record', NEW.service_id
            USING ERRCODE = '23514', CONSTRAINT = 'hold_needs_capacity';
    END IF;
    added := CASE WHEN hold_counts(NEW.status, NEW.expires_at, NEW.confirm_by)
                  THEN NEW.places ELSE 0 END;
    IF TG_OP = 'UPDATE' AND hold_counts(OLD.status, OLD.expires_at, OLD.confirm_by) THEN
        added := added - OLD.places;
    END IF;
    IF added > 0 AND v_held > v_available THEN
        RAISE EXCEPTION 'service % has % places held of % available', NEW.service_id, v_held,
            v_available
            USING ERRCODE = '23514', CONSTRAINT = 'hold_exceeds_free';
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER hold_recount_capacity ON referral_hold;
CREATE TRIGGER hold_recount_capacity
    AFTER INSERT OR UPDATE OF status, places, expires_at, confirm_by ON referral_hold
    FOR EACH ROW EXECUTE FUNCTION hold_recount_capacity();

-- Accepting or confirming a hold beyond available is refused, and so is confirming anything
-- but an accepted offer before its deadline. The capacity row is locked first, then the
-- holds before this one (older, still live) are counted in a statement of their own, which
-- under READ COMMITTED sees every hold committed before the lock was granted.
CREATE FUNCTION hold_refuse_at_risk() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_available integer;
    v_upto integer;
BEGIN
    IF NEW.status IS NOT DISTINCT FROM OLD.status OR NEW.status NOT IN ('accepted', 'confirmed')
    THEN
        RETURN NEW;
    END IF;
    IF NEW.status = 'confirmed' AND (OLD.status <> 'accepted' OR OLD.confirm_by <= now()) THEN
        RAISE EXCEPTION 'hold % is %, not accepted and within its confirmation deadline',
            OLD.id, OLD.status
            USING ERRCODE = '23514', CONSTRAINT = 'hold_confirm_in_time';
    END IF;
    SELECT c.available INTO v_available FROM service_capacity c
    WHERE c.service_id = OLD.service_id FOR UPDATE;
    SELECT coalesce(sum(h.places), 0)::integer + OLD.places INTO v_upto
    FROM referral_hold h
    WHERE h.service_id = OLD.service_id AND h.id <> OLD.id
      AND h.status IN ('held', 'accepted') AND hold_counts(h.status, h.expires_at, h.confirm_by)
      AND (h.created_at, h.id) < (OLD.created_at, OLD.id);
    IF v_upto > v_available THEN
        RAISE EXCEPTION 'hold % is beyond the % places available', OLD.id, v_available
            USING ERRCODE = '23514', CONSTRAINT = 'hold_at_risk';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER hold_refuse_at_risk BEFORE UPDATE OF status ON referral_hold
    FOR EACH ROW EXECUTE FUNCTION hold_refuse_at_risk();

CREATE FUNCTION hold_forget_risk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM hold_at_risk WHERE hold_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER hold_forget_risk AFTER DELETE ON referral_hold
    FOR EACH ROW EXECUTE FUNCTION hold_forget_risk();

-- Free places are never negative where they are read: the search table (0030) and its
-- backfill function show 0 while holds exceed available (and still NULL without a record;
-- greatest() alone would turn a missing number into 0).
CREATE OR REPLACE FUNCTION service_search_on_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE service_search SET free = NULL, capacity_updated_at = NULL
        WHERE service_id = OLD.service_id;
    ELSE
        UPDATE service_search SET
            free = greatest(NEW.available - NEW.held, 0),
            capacity_updated_at = NEW.updated_at
        WHERE service_id = NEW.service_id;
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION service_search_insert(ids uuid[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO service_search (
        service_id, taxonomy_code, participant_code, languages, genders, age_bands,
        accepts_children, service_accepting, organization_accepting, free,
        capacity_updated_at, shown_x, shown_y, shown_z, site_x, site_y, site_z)
    SELECT s.id, s.taxonomy_code, a.participant_code, s.languages, s.genders, s.age_bands,
        s.accepts_children, s.accepting_referrals, o.accepting_referrals,
        CASE WHEN c.service_id IS NOT NULL THEN greatest(c.available - c.held, 0) END,
        c.updated_at,
        CASE WHEN l.confidential THEN unit_x(a.latitude, a.longitude)
             ELSE unit_x(l.latitude, l.longitude) END,
        CASE WHEN l.confidential THEN unit_y(a.latitude, a.longitude)
             ELSE unit_y(l.latitude, l.longitude) END,
        CASE WHEN l.confidential THEN unit_z(a.latitude) ELSE unit_z(l.latitude) END,
        unit_x(l.latitude, l.longitude), unit_y(l.latitude, l.longitude), unit_z(l.latitude)
    FROM service s
    JOIN organization o ON o.id = s.organization_id
    JOIN location l ON l.id = s.location_id
    JOIN area a ON a.code = l.area_code
    LEFT JOIN service_capacity c ON c.service_id = s.id
    WHERE s.id = ANY(ids)
    ON CONFLICT (service_id) DO NOTHING
$$;
