-- Events for other systems, written in the transaction of the change they
-- report and delivered by the webhook dispatcher: one row per event and
-- endpoint.
CREATE TABLE webhook_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL,
    -- The endpoint's URL, as configured.
    endpoint TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- The JSON body, rendered once.
    payload TEXT NOT NULL,
    -- pending, delivered or dead
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    -- When a pending delivery is due (or its claim's lease ends).
    next_attempt_at TEXT NOT NULL,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT,
    UNIQUE (event_id, endpoint)
);

CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_outbox_delivered ON webhook_outbox (delivered_at) WHERE status = 'delivered';
