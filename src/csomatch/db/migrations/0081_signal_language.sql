-- csomatch 0081: a language-group demand signal names the language the person needed
-- (docs/gaps.md, "Who is left out").
--
-- Only a signal of the group `language_not_served` (the person needs an interpreter) carries
-- it: the person's first language as an ISO 639 code (`ar`, `fa`, `rom`), the language a
-- service must speak to serve them without an interpreter. A language is shared by many
-- people and is never published per signal: it only decides which services' places count
-- as supply for the language group. Signals recorded before this migration, and those of
-- every other group, hold NULL (unknown). A nullable column is added without a rewrite.

ALTER TABLE demand_signal
    ADD COLUMN language text
        CONSTRAINT demand_signal_language CHECK (
            language IS NULL
            OR (language ~ '^[a-z]{2,3}$' AND population_group = 'language_not_served')
        );
