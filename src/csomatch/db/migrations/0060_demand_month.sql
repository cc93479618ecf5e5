-- csomatch 0060: demand signals counted per month, kept in step with the signals.
--
-- The gap analysis reads demand per participant × area × service code × UTC month, and unmet
-- needs per participant × service code × month × reason; counting a million raw signals for
-- every request is what made it slow. Two tables hold those counts:
--
--   demand_month  one row per (month, participant, service code, area; area may be NULL)
--                 with the five counts of docs/gaps.md: needs, unmet, unmet_capacity
--                 (unmet with reason no_capacity), declines, searches;
--   unmet_month   one row per (month, participant, service code, reason; reason may be NULL)
--                 with the number of unmet needs.
--
-- Statement-level triggers on demand_signal maintain both in the same transaction as every
-- insert, update, delete or truncate, whoever writes the signals (record_signals, the demo
-- seed, a bulk load, a purge), so they always equal a GROUP BY of demand_signal (month =
-- date_trunc('month', occurred_at AT TIME ZONE 'UTC')). Rows skipped by ON CONFLICT DO
-- NOTHING never reach a transition table, so a repeated dedup_key adds nothing.
--
-- Concurrency: counts only change by `n = n + EXCLUDED.n` upserts or `n = n - old` updates,
-- which row-lock the one counting row, so two transactions touching the same row queue on it
-- and neither loses its count. Inserts upsert in key order and deletes lock their rows in key
-- order first, so two writers take their row locks in the same order and do not deadlock.
-- A row whose counts all fall to 0 is deleted.

CREATE TABLE demand_month (
    month date NOT NULL CHECK (extract(day FROM month) = 1),
    participant_code text NOT NULL,
    taxonomy_code text NOT NULL,
    area_code text,
    needs integer NOT NULL CHECK (needs >= 0),
    unmet integer NOT NULL CHECK (unmet >= 0),
    unmet_capacity integer NOT NULL CHECK (unmet_capacity BETWEEN 0 AND unmet),
    declines integer NOT NULL CHECK (declines >= 0),
    searches integer NOT NULL CHECK (searches >= 0),
    CONSTRAINT demand_month_key UNIQUE NULLS NOT DISTINCT
        (month, participant_code, taxonomy_code, area_code)
);

CREATE TABLE unmet_month (
    month date NOT NULL CHECK (extract(day FROM month) = 1),
    participant_code text NOT NULL,
    taxonomy_code text NOT NULL,
    reason text,
    n integer NOT NULL CHECK (n >= 0),
    CONSTRAINT unmet_month_key UNIQUE NULLS NOT DISTINCT
        (month, participant_code, taxonomy_code, reason)
);

CREATE FUNCTION demand_month_count() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    expected bigint;
    changed bigint;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        -- Lock the counting rows of the old signals in key order, as inserts do, so that a
        -- purge and concurrent writers cannot deadlock on them.
        PERFORM 1 FROM demand_month d
        JOIN (SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,
                     participant_code, taxonomy_code, area_code FROM old_rows) o
          ON d.month = o.month AND d.participant_code = o.participant_code
         AND d.taxonomy_code = o.taxonomy_code AND d.area_code IS NOT DISTINCT FROM o.area_code
        ORDER BY d.month, d.participant_code, d.taxonomy_code, d.area_code
        FOR UPDATE OF d;
        PERFORM 1 FROM unmet_month u
        JOIN (SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,
                     participant_code, taxonomy_code, reason FROM old_rows
              WHERE kind = 'unmet') o
          ON u.month = o.month AND u.participant_code = o.participant_code
         AND u.taxonomy_code = o.taxonomy_code AND u.reason IS NOT DISTINCT FROM o.reason
        ORDER BY u.month, u.participant_code, u.taxonomy_code, u.reason
        FOR UPDATE OF u;
        -- Then subtract: every counting row of an old signal exists.
        WITH o AS (
            SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,
                   participant_code, taxonomy_code, area_code,
                   count(*) FILTER (WHERE kind = 'need') AS needs,
                   count(*) FILTER (WHERE kind = 'unmet') AS unmet,
                   count(*) FILTER (WHERE kind = 'unmet' AND reason = 'no_capacity')
                       AS unmet_capacity,
                   count(*) FILTER (WHERE kind = 'decline_no_capacity') AS declines,
                   count(*) FILTER (WHERE kind = 'search_empty') AS searches
            FROM old_rows GROUP BY 1, 2, 3, 4
        ), upd AS (
            UPDATE demand_month d
            SET needs = d.needs - o.needs, unmet = d.unmet - o.unmet,
                unmet_capacity = d.unmet_capacity - o.unmet_capacity,
                declines = d.declines - o.declines, searches = d.searches - o.searches
            FROM o
            WHERE d.month = o.month AND d.participant_code = o.participant_code
              AND d.taxonomy_code = o.taxonomy_code
              AND d.area_code IS NOT DISTINCT FROM o.area_code
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM upd) INTO expected, changed;
        IF changed <> expected THEN
            RAISE EXCEPTION 'demand_month is out of step with demand_signal'
                USING ERRCODE = 'check_violation';
        END IF;
        WITH o AS (
            SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,
                   participant_code, taxonomy_code, reason, count(*) AS n
            FROM old_rows WHERE kind = 'unmet' GROUP BY 1, 2, 3, 4
        ), upd AS (
            UPDATE unmet_month u SET n = u.n - o.n
            FROM o
            WHERE u.month = o.month AND u.participant_code = o.participant_code
              AND u.taxonomy_code = o.taxonomy_code AND u.reason IS NOT DISTINCT FROM o.reason
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM upd) INTO expected, changed;
        IF changed <> expected THEN
            RAISE EXCEPTION 'unmet_month is out of step with demand_signal'
                USING ERRCODE = 'check_violation';
        END IF;
        DELETE FROM demand_month d
        USING (SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,
                      participant_code, taxonomy_code, area_code FROM old_rows) o
        WHERE d.month = o.month AND d.participant_code = o.participant_code
          AND d.taxonomy_code = o.taxonomy_code AND d.area_code IS NOT DISTINCT FROM o.area_code
          AND d.needs = 0 AND d.unmet = 0 AND d.declines = 0 AND d.searches = 0;
        DELETE FROM unmet_month u
        USING (SELECT DISTINCT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,
                      participant_code, taxonomy_code, reason FROM old_rows
               WHERE kind = 'unmet') o
        WHERE u.month = o.month AND u.participant_code = o.participant_code
          AND u.taxonomy_code = o.taxonomy_code AND u.reason IS NOT DISTINCT FROM o.reason
          AND u.n = 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO demand_month AS d
            (month, participant_code, taxonomy_code, area_code, needs, unmet, unmet_capacity,
             declines, searches)
        SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, participant_code,
               taxonomy_code, area_code,
               count(*) FILTER (WHERE kind = 'need'),
               count(*) FILTER (WHERE kind = 'unmet'),
               count(*) FILTER (WHERE kind = 'unmet' AND reason = 'no_capacity'),
               count(*) FILTER (WHERE kind = 'decline_no_capacity'),
               count(*) FILTER (WHERE kind = 'search_empty')
        FROM new_rows GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT ON CONSTRAINT demand_month_key DO UPDATE
        SET needs = d.needs + EXCLUDED.needs, unmet = d.unmet + EXCLUDED.unmet,
            unmet_capacity = d.unmet_capacity + EXCLUDED.unmet_capacity,
            declines = d.declines + EXCLUDED.declines, searches = d.searches + EXCLUDED.searches;
        INSERT INTO unmet_month AS u (month, participant_code, taxonomy_code, reason, n)
        SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, participant_code,
               taxonomy_code, reason, count(*)
        FROM new_rows WHERE kind = 'unmet' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT ON CONSTRAINT unmet_month_key DO UPDATE SET n = u.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION demand_month_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM demand_month;
    DELETE FROM unmet_month;
    RETURN NULL;
END
$$;

-- No signal may be written between the triggers' creation and the back-fill below.
LOCK TABLE demand_signal IN SHARE ROW EXCLUSIVE MODE;

CREATE TRIGGER demand_month_insert AFTER INSERT ON demand_signal
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION demand_month_count();
CREATE TRIGGER demand_month_update AFTER UPDATE ON demand_signal
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION demand_month_count();
CREATE TRIGGER demand_month_delete AFTER DELETE ON demand_signal
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION demand_month_count();
CREATE TRIGGER demand_month_truncate AFTER TRUNCATE ON demand_signal
    FOR EACH STATEMENT EXECUTE FUNCTION demand_month_clear();

INSERT INTO demand_month
    (month, participant_code, taxonomy_code, area_code, needs, unmet, unmet_capacity, declines,
     searches)
SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, participant_code,
       taxonomy_code, area_code,
       count(*) FILTER (WHERE kind = 'need'),
       count(*) FILTER (WHERE kind = 'unmet'),
       count(*) FILTER (WHERE kind = 'unmet' AND reason = 'no_capacity'),
       count(*) FILTER (WHERE kind = 'decline_no_capacity'),
       count(*) FILTER (WHERE kind = 'search_empty')
FROM demand_signal GROUP BY 1, 2, 3, 4;

INSERT INTO unmet_month (month, participant_code, taxonomy_code, reason, n)
SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date, participant_code,
       taxonomy_code, reason, count(*)
FROM demand_signal WHERE kind = 'unmet' GROUP BY 1, 2, 3, 4;
