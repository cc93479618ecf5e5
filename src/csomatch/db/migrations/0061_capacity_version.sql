-- csomatch 0061: the capacity's version (its ETag) changes with the number, whatever changes it.
--
-- A provider's PUT of capacity is guarded by If-Match with this version. Before this
-- migration only the PUT itself raised it, so confirming a placement (which lowers
-- `available`) kept the ETag, and a provider's PUT carrying the ETag read before the
-- confirmation answered 200 and made the occupied bed free again.
--
-- Now the database owns the version: a BEFORE UPDATE trigger raises it by one whenever
-- `unit`, `maximum`, `available`, `held`, `update_requested_at`, `updated_at` or
-- `verified_at` change, through any statement (a report, a hold and its recount, a
-- confirmation, a release, an expiry, the sweeper, a decline for no_capacity), and also when
-- the statement asks for it by changing `version` itself (a report always does; a change to
-- a hold on the service always does, see 0062, because the holds are part of the number even
-- when a change, like accepting, leaves `held` as it was). A statement that changes nothing
-- keeps the version. `updated_at` remains the time of the last report: nothing here sets it.
--
-- The trigger is named so that it runs after `capacity_recount_held` (BEFORE triggers fire in
-- name order), which is what sets `held` and clears `update_requested_at`.

CREATE FUNCTION capacity_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version IS DISTINCT FROM OLD.version
       OR (NEW.unit, NEW.maximum, NEW.available, NEW.held, NEW.update_requested_at,
           NEW.updated_at, NEW.verified_at)
          IS DISTINCT FROM
          (OLD.unit, OLD.maximum, OLD.available, OLD.held, OLD.update_requested_at,
           OLD.updated_at, OLD.verified_at)
    THEN
        NEW.version := OLD.version + 1;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER capacity_version BEFORE UPDATE ON service_capacity
    FOR EACH ROW EXECUTE FUNCTION capacity_bump_version();
