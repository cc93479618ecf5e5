-- csomatch 0083: an organisation's names in other languages and scripts (docs/places.md).
--
-- One name per language tag (BCP 47: sq, sr-Latn, sr-Cyrl, mk, bs, cnr, en ...), beside the
-- registry name in organization.name. The organisation search and the funding import's
-- recipient matching compare every name.

CREATE TABLE organization_name (
    organization_id uuid NOT NULL REFERENCES organization (id) ON DELETE CASCADE,
    language text NOT NULL CONSTRAINT organization_name_language
        CHECK (language ~ '^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$'),
    name text NOT NULL CONSTRAINT organization_name_name
        CHECK (length(btrim(name)) BETWEEN 2 AND 200),
    PRIMARY KEY (organization_id, language)
);
