CREATE TABLE ceremonies_old (
    handle TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('registration', 'authentication')),
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
INSERT INTO ceremonies_old (handle, kind, user_id, state, expires_at)
    SELECT handle, kind, user_id, state, expires_at FROM ceremonies WHERE kind <> 'signup';
DROP TABLE ceremonies;
ALTER TABLE ceremonies_old RENAME TO ceremonies;
CREATE INDEX ceremonies_by_expiry ON ceremonies (expires_at);
