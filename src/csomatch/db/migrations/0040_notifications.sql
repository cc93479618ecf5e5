-- csomatch 0040: notifications. The outbox's events are published in one order that never
-- changes (a feed position, `published_seq`), webhook subscriptions receive the events they
-- may see, and every delivery attempt is logged. Ids, types and states only: no person data.

-- Identity values are taken in insert order but commit in any order, so a reader following
-- `outbox_event.id` could step past an event that commits late. A single publisher at a
-- time (it holds the one row of `outbox_publication`) numbers committed events in order;
-- readers follow that number and never skip one.
ALTER TABLE outbox_event ADD COLUMN published_seq bigint;
ALTER TABLE outbox_event ADD CONSTRAINT outbox_event_published_seq_unique UNIQUE (published_seq);
CREATE INDEX outbox_event_unpublished_idx ON outbox_event (id) WHERE published_seq IS NULL;

CREATE TABLE outbox_publication (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);
INSERT INTO outbox_publication (id, last_seq) VALUES (true, 0);

-- An organisation's (provider) or a jurisdiction's (coordinator, admin) webhook.
-- `secret` signs deliveries (HMAC-SHA256); it is a server secret shown once to the owner,
-- stored as is because the server must sign with it.
CREATE TABLE webhook_subscription (
    id uuid PRIMARY KEY,
    organization_id uuid REFERENCES organization (id) ON DELETE CASCADE,
    jurisdiction text
        CHECK (jurisdiction IN ('AL', 'BA', 'XK', 'ME', 'MK', 'RS', 'MARRI')),
    url text NOT NULL CHECK (url ~ '^https?://[^[:space:]]+$' AND length(url) <= 2000),
    event_types text[] NOT NULL CHECK (
        cardinality(event_types) BETWEEN 1 AND 50
        AND array_to_string(event_types, ',') ~ '^([a-z_]+\.([a-z_]+|\*)|\*)(,([a-z_]+\.([a-z_]+|\*)|\*))*$'
    ),
    secret text NOT NULL CHECK (length(secret) >= 32),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_by uuid,
    CONSTRAINT webhook_subscription_owner
        CHECK ((organization_id IS NULL) <> (jurisdiction IS NULL))
);
CREATE INDEX webhook_subscription_org_idx ON webhook_subscription (organization_id);
CREATE INDEX webhook_subscription_jurisdiction_idx ON webhook_subscription (jurisdiction);

-- One row per (subscription, event): the unique constraint is what makes each event go to
-- each subscription once, whichever process publishes it.
CREATE TABLE webhook_delivery (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_id uuid NOT NULL REFERENCES webhook_subscription (id) ON DELETE CASCADE,
    event_id bigint NOT NULL REFERENCES outbox_event (id) ON DELETE CASCADE,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- when the next attempt is due; while an attempt runs, the end of its lease
    next_attempt_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    delivered_at timestamptz,
    CONSTRAINT webhook_delivery_once UNIQUE (subscription_id, event_id),
    CONSTRAINT webhook_delivery_delivered CHECK ((status = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX webhook_delivery_due_idx ON webhook_delivery (next_attempt_at)
    WHERE status = 'pending';

-- Every attempt: when, how long, the HTTP status or the transport error (never a body).
CREATE TABLE webhook_attempt (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES webhook_delivery (id) ON DELETE CASCADE,
    attempt integer NOT NULL CHECK (attempt >= 1),
    attempted_at timestamptz NOT NULL,
    duration_ms integer NOT NULL CHECK (duration_ms >= 0),
    status_code integer CHECK (status_code BETWEEN 100 AND 599),
    error text CHECK (length(error) <= 500),
    CONSTRAINT webhook_attempt_once UNIQUE (delivery_id, attempt)
);
