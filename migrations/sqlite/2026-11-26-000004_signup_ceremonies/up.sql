-- Sign-up with a passkey keeps its ceremony (email, display name, user
-- handle) server-side like the other kinds. SQLite cannot change a CHECK
-- constraint, so the table is rebuilt; ceremonies are short-lived state
-- and nothing refers to them.
CREATE TABLE ceremonies_new (
    handle TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('registration', 'authentication', 'signup')),
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
INSERT INTO ceremonies_new (handle, kind, user_id, state, expires_at)
    SELECT handle, kind, user_id, state, expires_at FROM ceremonies;
DROP TABLE ceremonies;
ALTER TABLE ceremonies_new RENAME TO ceremonies;
CREATE INDEX ceremonies_by_expiry ON ceremonies (expires_at);
