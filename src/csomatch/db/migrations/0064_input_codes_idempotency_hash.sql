-- csomatch 0064: nothing identifying slips in through allowed fields (issue 11, item 10).
--
-- The API checks language codes against pycountry's ISO 639 list and country codes against
-- ISO 3166-1 (csomatch.domain.LanguageCode / CountryCode); the database keeps the shape that
-- no list is needed for, so no path (API, seeding, a script) can store free text, a newline
-- or a fraction there:
--   * every language code is two or three lower-case letters (service, referral_profile);
--   * min_distance_km is whole kilometres (an integer);
--   * at most 10 accompanying children's age bands.
-- Idempotency keys are stored as their SHA-256 (a client may have put something readable in
-- a key); each answer keeps the headers it was given with (ETag), so a replay repeats them.

CREATE FUNCTION language_codes_well_formed(codes text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT NOT EXISTS (
        SELECT 1 FROM unnest(codes) AS c WHERE c IS NULL OR c !~ '^[a-z]{2,3}$'
    )
$$;

-- What an earlier version let in is tidied, never refused: surrounding whitespace and
-- capitals go ('sr\n' -> 'sr', 'SR' -> 'sr'), an entry that is still not two or three
-- letters was never a language code and is dropped, duplicates keep their first place. A
-- referral left with no language gets 'und' (ISO 639 "undetermined": interpretation is then
-- looked for, as for any language no service speaks).
UPDATE service SET languages = ARRAY(
    SELECT t.code FROM (
        SELECT lower(btrim(x, E' \t\r\n\f\v')) AS code, min(i) AS first
        FROM unnest(languages) WITH ORDINALITY AS u (x, i)
        WHERE lower(btrim(x, E' \t\r\n\f\v')) ~ '^[a-z]{2,3}$'
        GROUP BY 1
    ) AS t ORDER BY t.first
)
WHERE NOT language_codes_well_formed(languages);

UPDATE referral_profile SET languages = coalesce(nullif(ARRAY(
    SELECT t.code FROM (
        SELECT lower(btrim(x, E' \t\r\n\f\v')) AS code, min(i) AS first
        FROM unnest(languages) WITH ORDINALITY AS u (x, i)
        WHERE lower(btrim(x, E' \t\r\n\f\v')) ~ '^[a-z]{2,3}$'
        GROUP BY 1
    ) AS t ORDER BY t.first
), '{}'), ARRAY['und'])
WHERE NOT language_codes_well_formed(languages);

ALTER TABLE service ADD CONSTRAINT service_languages_well_formed
    CHECK (language_codes_well_formed(languages));
ALTER TABLE referral_profile ADD CONSTRAINT referral_languages_well_formed
    CHECK (language_codes_well_formed(languages));

-- A stored fraction is rounded up: a minimum distance from the excluded areas is kept, never
-- shortened.
ALTER TABLE referral_profile
    ALTER COLUMN min_distance_km DROP DEFAULT,
    ALTER COLUMN min_distance_km TYPE integer USING ceil(min_distance_km)::integer,
    ALTER COLUMN min_distance_km SET DEFAULT 0;

-- NOT VALID: a profile stored before this limit (up to 20 bands) is a real family and stays
-- as it is until retention deletes it; every profile written from now on is checked.
ALTER TABLE referral_profile ADD CONSTRAINT referral_children_at_most_10
    CHECK (cardinality(group_children_age_bands) <= 10) NOT VALID;

-- Keys already stored are hashed here rather than left to expire: a client retrying across
-- the upgrade still gets its first answer (the hash of a key is what the code now looks up).
ALTER TABLE idempotency_key ADD COLUMN key_hash bytea;
UPDATE idempotency_key SET key_hash = sha256(convert_to(idem_key, 'UTF8'));
ALTER TABLE idempotency_key
    ALTER COLUMN key_hash SET NOT NULL,
    ADD CONSTRAINT idempotency_key_hash_length CHECK (length(key_hash) = 32),
    DROP CONSTRAINT idempotency_key_pkey,
    DROP COLUMN idem_key,
    ADD PRIMARY KEY (token_id, key_hash),
    ADD COLUMN headers jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(headers) = 'object');
