-- csomatch 0030: a narrow search table, kept up to date by triggers, so that a search reads
-- one small table instead of joining service, organization, location, area and capacity
-- for every candidate.
--
-- One row per service: the columns the search filters on, and two points as unit vectors
-- on the sphere (x, y, z): the point shown to most roles (a confidential site's municipality
-- centre) and the site's own point (for coordinators and admins). The straight-line (chord)
-- distance between unit vectors orders points exactly as the great-circle distance does, and
-- needs no trigonometry per row; a radius becomes a range on each coordinate (|z - z0| <= the
-- chord), which the (taxonomy_code, shown_z) index serves: a bounding-box prefilter with no
-- extension.
--
-- Each trigger writes only the columns its own table feeds, so concurrent changes to, say, a
-- service's capacity and its eligibility never overwrite each other's columns here.

CREATE TABLE service_search (
    service_id uuid PRIMARY KEY REFERENCES service (id) ON DELETE CASCADE,
    taxonomy_code text NOT NULL,
    participant_code text NOT NULL,
    languages text[] NOT NULL,
    genders text[] NOT NULL,
    age_bands text[] NOT NULL,
    accepts_children boolean NOT NULL,
    service_accepting boolean NOT NULL,
    organization_accepting boolean NOT NULL,
    -- available - held, and when the number was reported; NULL without a capacity record
    free integer,
    capacity_updated_at timestamptz,
    shown_x double precision NOT NULL,
    shown_y double precision NOT NULL,
    shown_z double precision NOT NULL,
    site_x double precision NOT NULL,
    site_y double precision NOT NULL,
    site_z double precision NOT NULL
) WITH (fillfactor = 80);  -- room for HOT updates: capacity changes touch no indexed column
CREATE INDEX service_search_code_idx ON service_search (taxonomy_code, shown_z);
CREATE INDEX service_search_z_idx ON service_search (shown_z);

-- The unit vector of a point given in degrees.
CREATE FUNCTION unit_x(lat double precision, lon double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN cos(radians(lat)) * cos(radians(lon));
CREATE FUNCTION unit_y(lat double precision, lon double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN cos(radians(lat)) * sin(radians(lon));
CREATE FUNCTION unit_z(lat double precision) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN sin(radians(lat));

-- The search row of every service in ``ids``, computed from the registry tables (a new
-- service, and the backfill below).
CREATE FUNCTION service_search_insert(ids uuid[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO service_search (
        service_id, taxonomy_code, participant_code, languages, genders, age_bands,
        accepts_children, service_accepting, organization_accepting, free,
        capacity_updated_at, shown_x, shown_y, shown_z, site_x, site_y, site_z)
    SELECT s.id, s.taxonomy_code, a.participant_code, s.languages, s.genders, s.age_bands,
        s.accepts_children, s.accepting_referrals, o.accepting_referrals,
        c.available - c.held, c.updated_at,
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

-- Place and participant of the services at some locations (a location or an area changed,
-- or a service moved).
CREATE FUNCTION service_search_place(location_ids uuid[]) RETURNS void LANGUAGE sql AS $$
    UPDATE service_search ss SET
        participant_code = a.participant_code,
        shown_x = CASE WHEN l.confidential THEN unit_x(a.latitude, a.longitude)
                       ELSE unit_x(l.latitude, l.longitude) END,
        shown_y = CASE WHEN l.confidential THEN unit_y(a.latitude, a.longitude)
                       ELSE unit_y(l.latitude, l.longitude) END,
        shown_z = CASE WHEN l.confidential THEN unit_z(a.latitude) ELSE unit_z(l.latitude) END,
        site_x = unit_x(l.latitude, l.longitude),
        site_y = unit_y(l.latitude, l.longitude),
        site_z = unit_z(l.latitude)
    FROM service s
    JOIN location l ON l.id = s.location_id
    JOIN area a ON a.code = l.area_code
    WHERE s.location_id = ANY(location_ids) AND ss.service_id = s.id
$$;

CREATE FUNCTION service_search_on_service() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM service_search_insert(ARRAY[NEW.id]);
        RETURN NULL;
    END IF;
    UPDATE service_search SET
        taxonomy_code = NEW.taxonomy_code,
        languages = NEW.languages,
        genders = NEW.genders,
        age_bands = NEW.age_bands,
        accepts_children = NEW.accepts_children,
        service_accepting = NEW.accepting_referrals
    WHERE service_id = NEW.id;
    IF NEW.organization_id IS DISTINCT FROM OLD.organization_id THEN
        UPDATE service_search SET organization_accepting = o.accepting_referrals
        FROM organization o WHERE o.id = NEW.organization_id AND service_id = NEW.id;
    END IF;
    IF NEW.location_id IS DISTINCT FROM OLD.location_id THEN
        PERFORM service_search_place(ARRAY[NEW.location_id]);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER service_search_service AFTER INSERT OR UPDATE ON service
    FOR EACH ROW EXECUTE FUNCTION service_search_on_service();

CREATE FUNCTION service_search_on_capacity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE service_search SET free = NULL, capacity_updated_at = NULL
        WHERE service_id = OLD.service_id;
    ELSE
        UPDATE service_search SET
            free = NEW.available - NEW.held,
            capacity_updated_at = NEW.updated_at
        WHERE service_id = NEW.service_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER service_search_capacity AFTER INSERT OR UPDATE OR DELETE ON service_capacity
    FOR EACH ROW EXECUTE FUNCTION service_search_on_capacity();

CREATE FUNCTION service_search_on_organization() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE service_search ss SET organization_accepting = NEW.accepting_referrals
    FROM service s WHERE s.organization_id = NEW.id AND ss.service_id = s.id;
    RETURN NULL;
END $$;
CREATE TRIGGER service_search_organization AFTER UPDATE OF accepting_referrals ON organization
    FOR EACH ROW WHEN (OLD.accepting_referrals IS DISTINCT FROM NEW.accepting_referrals)
    EXECUTE FUNCTION service_search_on_organization();

CREATE FUNCTION service_search_on_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM service_search_place(ARRAY[NEW.id]);
    RETURN NULL;
END $$;
CREATE TRIGGER service_search_location
    AFTER UPDATE OF latitude, longitude, confidential, area_code ON location
    FOR EACH ROW EXECUTE FUNCTION service_search_on_location();

CREATE FUNCTION service_search_on_area() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM service_search_place(ARRAY(SELECT id FROM location WHERE area_code = NEW.code));
    RETURN NULL;
END $$;
CREATE TRIGGER service_search_area
    AFTER UPDATE OF latitude, longitude, participant_code ON area
    FOR EACH ROW EXECUTE FUNCTION service_search_on_area();

SELECT service_search_insert(ARRAY(SELECT id FROM service));
