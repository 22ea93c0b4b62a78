-- Each channel's delivery of each notification (the outbox row with the same dedupe key).
-- The `notify` activity skips channels already `delivered` for a key, so a retried activity
-- sends again only to the channels that failed, and nobody is told twice.
CREATE TABLE notification_deliveries (
    dedupe_key   text NOT NULL REFERENCES notification_outbox (dedupe_key),
    channel      text NOT NULL,
    status       text NOT NULL CHECK (status IN ('delivered', 'failed')),
    attempts     integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    last_error   text,
    delivered_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dedupe_key, channel)
);
