-- The users' security log.
CREATE TABLE audit_events (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    -- Error code of a failed attempt.
    code TEXT,
    passkey_id UUID,
    client_ip TEXT,
    user_agent TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX audit_events_by_user ON audit_events (user_id, created_at DESC, id DESC);
