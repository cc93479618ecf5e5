-- csomatch 0080: demand signals carry a coarse population group (docs/gaps.md, "Who is left out").
--
-- One of six values, never finer: women, men, unaccompanied_children, families,
-- language_not_served, or unknown. It is derived from the needs profile when the signal is
-- recorded (matching/unmet.py population_group) and stores nothing else about the person.
-- Signals recorded before this migration, and signals whose writer has no profile (empty
-- searches, declines for lack of capacity), are `unknown`. The constant default adds the
-- column without rewriting the table.

ALTER TABLE demand_signal
    ADD COLUMN population_group text NOT NULL DEFAULT 'unknown'
        CONSTRAINT demand_signal_population_group CHECK (population_group IN (
            'women', 'men', 'unaccompanied_children', 'families', 'language_not_served',
            'unknown'
        ));
