-- csomatch 0045: tell running servers what changed in the registry, so that each can keep
-- its in-memory search index (src/csomatch/search_index.py) equal to the tables.
--
-- NOTIFY is transactional: a server hears of a change when, and only when, it commits, in
-- commit order; PostgreSQL folds repeated identical payloads of one transaction into one.
-- Payloads on channel ``csomatch_search``:
--   s:<service id>      the service, its capacity or its search row changed (or is gone)
--   o:<organization id> an organisation's name or intake changed
--   l:<location id>     a location changed
--   a:<area code>       a gazetteer entry changed
--   t                   the taxonomy changed
--   *                   a table was truncated: reload everything

-- One function for every row trigger: TG_ARGV[0] is the payload's kind, TG_ARGV[1] the
-- column of the changed row that names it (read from the new row, or the old one on delete).
CREATE FUNCTION search_notify_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('csomatch_search', TG_ARGV[0] || ':' || CASE TG_OP
        WHEN 'DELETE' THEN to_jsonb(OLD) ->> TG_ARGV[1]
        ELSE to_jsonb(NEW) ->> TG_ARGV[1] END);
    RETURN NULL;
END $$;
CREATE TRIGGER search_notify_service AFTER INSERT OR UPDATE OR DELETE ON service
    FOR EACH ROW EXECUTE FUNCTION search_notify_row('s', 'id');
CREATE TRIGGER search_notify_capacity AFTER INSERT OR UPDATE OR DELETE ON service_capacity
    FOR EACH ROW EXECUTE FUNCTION search_notify_row('s', 'service_id');
CREATE TRIGGER search_notify_search_row AFTER INSERT OR UPDATE OR DELETE ON service_search
    FOR EACH ROW EXECUTE FUNCTION search_notify_row('s', 'service_id');
CREATE TRIGGER search_notify_organization AFTER UPDATE OR DELETE ON organization
    FOR EACH ROW EXECUTE FUNCTION search_notify_row('o', 'id');
CREATE TRIGGER search_notify_location AFTER UPDATE OR DELETE ON location
    FOR EACH ROW EXECUTE FUNCTION search_notify_row('l', 'id');
CREATE TRIGGER search_notify_area AFTER INSERT OR UPDATE OR DELETE ON area
    FOR EACH ROW EXECUTE FUNCTION search_notify_row('a', 'code');

-- Statement triggers: the payload is the trigger's argument ("t", or "*" for a truncation).
CREATE FUNCTION search_notify_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('csomatch_search', TG_ARGV[0]);
    RETURN NULL;
END $$;
CREATE TRIGGER search_notify_taxonomy AFTER INSERT OR UPDATE OR DELETE ON taxonomy_term
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_statement('t');
CREATE TRIGGER search_notify_truncate_service AFTER TRUNCATE ON service
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_statement('*');
CREATE TRIGGER search_notify_truncate_capacity AFTER TRUNCATE ON service_capacity
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_statement('*');
CREATE TRIGGER search_notify_truncate_search AFTER TRUNCATE ON service_search
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_statement('*');
CREATE TRIGGER search_notify_truncate_organization AFTER TRUNCATE ON organization
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_statement('*');
CREATE TRIGGER search_notify_truncate_location AFTER TRUNCATE ON location
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_statement('*');
CREATE TRIGGER search_notify_truncate_area AFTER TRUNCATE ON area
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_statement('*');
CREATE TRIGGER search_notify_truncate_taxonomy AFTER TRUNCATE ON taxonomy_term
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_statement('*');
