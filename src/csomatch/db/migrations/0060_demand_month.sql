-- csomatch 0060: demand signals counted per month, kept in step with the signals.
--
-- The gap analysis reads demand per participant × area × service code × UTC month; counting a
-- million raw signals for every request is what made it slow. `demand_month` holds those
-- counts, split by kind and reason, and is maintained by statement-level triggers on
-- `demand_signal` in the same transaction as every insert, update, delete or truncate, so it
-- always equals
--
--     SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, participant_code,
--            area_code, taxonomy_code, kind, reason, count(*)
--     FROM demand_signal GROUP BY 1, 2, 3, 4, 5, 6
--
-- whoever writes the signals (record_signals, the demo seed, a bulk load, a future purge).
-- Rows that are skipped by ON CONFLICT DO NOTHING never reach a transition table, so a
-- repeated dedup_key adds nothing. Counts change only by `n = n + EXCLUDED.n` upserts (a
-- delete adds a negative count), which row-lock the one rollup row: two transactions adding
-- to the same row queue on it and neither loses its count. Rows are upserted in key order, so
-- two bulk writers take their row locks in the same order and do not deadlock each other.

CREATE TABLE demand_month (
    month date NOT NULL CHECK (extract(day FROM month) = 1),
    participant_code text NOT NULL,
    area_code text,
    taxonomy_code text NOT NULL,
    kind text NOT NULL,
    reason text,
    -- No CHECK (n >= 0): PostgreSQL checks the proposed row of an upsert before it finds the
    -- conflict, and a delete proposes a negative count. The trigger checks instead.
    n integer NOT NULL,
    CONSTRAINT demand_month_key UNIQUE NULLS NOT DISTINCT
        (month, participant_code, area_code, taxonomy_code, kind, reason)
);
-- A count that falls to 0 is deleted right after; this index finds those few rows.
CREATE INDEX demand_month_zero_idx ON demand_month (month) WHERE n <= 0;

CREATE FUNCTION demand_month_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO demand_month AS d
            (month, participant_code, area_code, taxonomy_code, kind, reason, n)
        SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, participant_code,
               area_code, taxonomy_code, kind, reason, -count(*)
        FROM old_rows GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT ON CONSTRAINT demand_month_key DO UPDATE SET n = d.n + EXCLUDED.n;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO demand_month AS d
            (month, participant_code, area_code, taxonomy_code, kind, reason, n)
        SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, participant_code,
               area_code, taxonomy_code, kind, reason, count(*)
        FROM new_rows GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
        ON CONFLICT ON CONSTRAINT demand_month_key DO UPDATE SET n = d.n + EXCLUDED.n;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        IF EXISTS (SELECT 1 FROM demand_month WHERE n < 0) THEN
            RAISE EXCEPTION 'demand_month is out of step with demand_signal'
                USING ERRCODE = 'check_violation';
        END IF;
        DELETE FROM demand_month WHERE n = 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION demand_month_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM demand_month;
    RETURN NULL;
END
$$;

-- No signal may be written between the triggers' creation and the back-fill below.
LOCK TABLE demand_signal IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER demand_month_insert AFTER INSERT ON demand_signal
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION demand_month_add();
CREATE TRIGGER demand_month_update AFTER UPDATE ON demand_signal
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION demand_month_add();
CREATE TRIGGER demand_month_delete AFTER DELETE ON demand_signal
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION demand_month_add();
CREATE TRIGGER demand_month_truncate AFTER TRUNCATE ON demand_signal
    FOR EACH STATEMENT EXECUTE FUNCTION demand_month_clear();

INSERT INTO demand_month (month, participant_code, area_code, taxonomy_code, kind, reason, n)
SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, participant_code, area_code,
       taxonomy_code, kind, reason, count(*)
FROM demand_signal GROUP BY 1, 2, 3, 4, 5, 6;
