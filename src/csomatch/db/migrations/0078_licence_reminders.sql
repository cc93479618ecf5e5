-- The reminders sent about a licence: 90, 30 and 7 days before its end, and the day after
-- it. Each is sent once per licence and validity period (its `valid_to`): a renewal moves
-- `valid_to`, so the reminders of the new period are sent again.
CREATE TABLE licence_reminder (
    licence_id uuid NOT NULL REFERENCES licence (id) ON DELETE CASCADE,
    valid_to date NOT NULL,
    kind text NOT NULL CHECK (kind IN ('ninety_days', 'thirty_days', 'seven_days', 'expired')),
    sent_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    event_id bigint,
    CONSTRAINT licence_reminder_once PRIMARY KEY (licence_id, valid_to, kind)
);
