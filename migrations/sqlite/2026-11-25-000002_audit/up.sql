-- The users' security log.
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    code TEXT,
    passkey_id TEXT,
    client_ip TEXT,
    user_agent TEXT,
    created_at TEXT NOT NULL
);

CREATE INDEX audit_events_by_user ON audit_events (user_id, created_at DESC, id DESC);
