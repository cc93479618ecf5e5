-- csomatch 0079 (issue 15, item 4 "who pays"): placements counted per service and month, so
-- that the equitable-financing view can set the cases CSOs and state providers take against
-- the public money each gets. A counter only (no referral, hold or person is named), so it
-- survives the retention purge like offer_outcome_count. A placement is a hold confirmed
-- (the person was placed with the service); it counts in the month it was confirmed.
CREATE TABLE placement_count (
    service_id uuid NOT NULL REFERENCES service (id) ON DELETE CASCADE,
    month date NOT NULL,
    n integer NOT NULL CHECK (n > 0),
    PRIMARY KEY (service_id, month),
    CONSTRAINT placement_count_month_start CHECK (month = date_trunc('month', month::timestamp)::date)
);

CREATE FUNCTION count_placement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO placement_count (service_id, month, n)
    VALUES (NEW.service_id, date_trunc('month', now() AT TIME ZONE 'UTC')::date, 1)
    ON CONFLICT (service_id, month) DO UPDATE SET n = placement_count.n + 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER referral_hold_placement_count
    AFTER UPDATE OF status ON referral_hold
    FOR EACH ROW WHEN (NEW.status = 'confirmed' AND OLD.status IS DISTINCT FROM 'confirmed')
    EXECUTE FUNCTION count_placement();

CREATE TRIGGER referral_hold_placement_count_insert
    AFTER INSERT ON referral_hold
    FOR EACH ROW WHEN (NEW.status = 'confirmed')
    EXECUTE FUNCTION count_placement();

-- The placements already made, from the holds still stored (month: when answered, else made).
INSERT INTO placement_count (service_id, month, n)
SELECT service_id, date_trunc('month', coalesce(answered_at, created_at) AT TIME ZONE 'UTC')::date,
       count(*)::integer
FROM referral_hold WHERE status = 'confirmed'
GROUP BY 1, 2;
