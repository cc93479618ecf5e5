-- csomatch 0082: the names of each town as people write them (docs/places.md).
--
-- Every name a search finds a town by, in any script, with its search key (Latin, lower case,
-- no accents: csomatch.registry.placenames.name_key, computed by the application), and the
-- locales in which the name is the one shown. Rows are (re)loaded with the gazetteer by
-- `csomatch db migrate` and the demo seed; a town without rows is still found by its
-- gazetteer name (area.ascii_name).

CREATE TABLE area_name (
    area_code text NOT NULL REFERENCES area (code) ON DELETE CASCADE,
    name text NOT NULL CONSTRAINT area_name_name CHECK (length(name) BETWEEN 1 AND 200),
    search_key text NOT NULL CONSTRAINT area_name_search_key
        CHECK (search_key ~ '^[a-z0-9]+( [a-z0-9]+)*$'),
    -- The served locales (BCP 47 tags) that show this name.
    locales text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (area_code, name)
);
CREATE INDEX area_name_search_key_idx ON area_name (search_key text_pattern_ops);
CREATE INDEX area_name_locales_idx ON area_name USING gin (locales);
