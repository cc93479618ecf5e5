-- csomatch 0065: two service fields replace the ambiguous ``accepts_children``.
--
-- ``accepts_children`` meant, for an adult women's shelter, "children who come with their
-- mother", and for a youth service "children on their own"; the matcher could not tell the
-- two apart and offered an adult shelter to an unaccompanied 16-year-old. Now:
--
--   accepts_accompanied_children  a child placed or served together with a parent or carer
--   serves_unaccompanied_minors   a child on their own (child-appropriate care)
--
-- Today's values map as follows (``child_only`` stays as it is):
--   accommodation (ACC.*):  serves_unaccompanied_minors  = child_only
--                           accepts_accompanied_children = accepts_children AND NOT child_only
--   every other code:       serves_unaccompanied_minors  = accepts_children AND a child age band
--                           accepts_accompanied_children = accepts_families

ALTER TABLE service
    ADD COLUMN accepts_accompanied_children boolean NOT NULL DEFAULT false,
    ADD COLUMN serves_unaccompanied_minors boolean NOT NULL DEFAULT false;

UPDATE service SET
    serves_unaccompanied_minors = CASE
        WHEN taxonomy_code LIKE 'ACC.%' THEN child_only
        ELSE accepts_children AND age_bands && ARRAY['0-5', '6-13', '14-17'] END,
    accepts_accompanied_children = CASE
        WHEN taxonomy_code LIKE 'ACC.%' THEN accepts_children AND NOT child_only
        ELSE accepts_families END;

ALTER TABLE service DROP CONSTRAINT service_child_only_accepts_children;
-- A child-only service serves children, alone or accompanied. NOT VALID: a legacy row the
-- mapping leaves incoherent (child-only outside accommodation, with no child age band and no
-- families) still loads; every new or changed row is checked.
ALTER TABLE service ADD CONSTRAINT service_child_only_serves_children CHECK (
    NOT child_only OR serves_unaccompanied_minors OR accepts_accompanied_children
) NOT VALID;

-- The search table (0030) copies the two fields instead of accepts_children.
ALTER TABLE service_search
    ADD COLUMN accepts_accompanied_children boolean NOT NULL DEFAULT false,
    ADD COLUMN serves_unaccompanied_minors boolean NOT NULL DEFAULT false;
UPDATE service_search ss SET
    accepts_accompanied_children = s.accepts_accompanied_children,
    serves_unaccompanied_minors = s.serves_unaccompanied_minors
FROM service s WHERE s.id = ss.service_id;
ALTER TABLE service_search
    ALTER COLUMN accepts_accompanied_children DROP DEFAULT,
    ALTER COLUMN serves_unaccompanied_minors DROP DEFAULT;

-- The trigger functions of 0030 (and 0062's backfill function), with the new columns.
CREATE OR REPLACE FUNCTION service_search_insert(ids uuid[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO service_search (
        service_id, taxonomy_code, participant_code, languages, genders, age_bands,
        accepts_accompanied_children, serves_unaccompanied_minors,
        service_accepting, organization_accepting, free,
        capacity_updated_at, shown_x, shown_y, shown_z, site_x, site_y, site_z)
    SELECT s.id, s.taxonomy_code, a.participant_code, s.languages, s.genders, s.age_bands,
        s.accepts_accompanied_children, s.serves_unaccompanied_minors,
        s.accepting_referrals, o.accepting_referrals,
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

CREATE OR REPLACE FUNCTION service_search_on_service() RETURNS trigger LANGUAGE plpgsql AS $$
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
        accepts_accompanied_children = NEW.accepts_accompanied_children,
        serves_unaccompanied_minors = NEW.serves_unaccompanied_minors,
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

ALTER TABLE service_search DROP COLUMN accepts_children;
ALTER TABLE service DROP COLUMN accepts_children;
