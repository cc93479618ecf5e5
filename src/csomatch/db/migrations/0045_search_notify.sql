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

CREATE FUNCTION search_notify_service() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('csomatch_search', 's:' || COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER search_notify_service AFTER INSERT OR UPDATE OR DELETE ON service
    FOR EACH ROW EXECUTE FUNCTION search_notify_service();

CREATE FUNCTION search_notify_service_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('csomatch_search', 's:' || COALESCE(NEW.service_id, OLD.service_id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER search_notify_capacity AFTER INSERT OR UPDATE OR DELETE ON service_capacity
    FOR EACH ROW EXECUTE FUNCTION search_notify_service_row();
CREATE TRIGGER search_notify_search_row AFTER INSERT OR UPDATE OR DELETE ON service_search
    FOR EACH ROW EXECUTE FUNCTION search_notify_service_row();

CREATE FUNCTION search_notify_organization() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('csomatch_search', 'o:' || COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER search_notify_organization AFTER UPDATE OR DELETE ON organization
    FOR EACH ROW EXECUTE FUNCTION search_notify_organization();

CREATE FUNCTION search_notify_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('csomatch_search', 'l:' || COALESCE(NEW.id, OLD.id)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER search_notify_location AFTER UPDATE OR DELETE ON location
    FOR EACH ROW EXECUTE FUNCTION search_notify_location();

CREATE FUNCTION search_notify_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('csomatch_search', 'a:' || COALESCE(NEW.code, OLD.code));
    RETURN NULL;
END $$;
CREATE TRIGGER search_notify_area AFTER INSERT OR UPDATE OR DELETE ON area
    FOR EACH ROW EXECUTE FUNCTION search_notify_area();

CREATE FUNCTION search_notify_taxonomy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('csomatch_search', 't');
    RETURN NULL;
END $$;
CREATE TRIGGER search_notify_taxonomy AFTER INSERT OR UPDATE OR DELETE ON taxonomy_term
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_taxonomy();

CREATE FUNCTION search_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('csomatch_search', '*');
    RETURN NULL;
END $$;
CREATE TRIGGER search_notify_truncate_service AFTER TRUNCATE ON service
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_all();
CREATE TRIGGER search_notify_truncate_capacity AFTER TRUNCATE ON service_capacity
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_all();
CREATE TRIGGER search_notify_truncate_search AFTER TRUNCATE ON service_search
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_all();
CREATE TRIGGER search_notify_truncate_organization AFTER TRUNCATE ON organization
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_all();
CREATE TRIGGER search_notify_truncate_location AFTER TRUNCATE ON location
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_all();
CREATE TRIGGER search_notify_truncate_area AFTER TRUNCATE ON area
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_all();
CREATE TRIGGER search_notify_truncate_taxonomy AFTER TRUNCATE ON taxonomy_term
    FOR EACH STATEMENT EXECUTE FUNCTION search_notify_all();
