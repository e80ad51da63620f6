-- UUIDs are stored as their canonical text, timestamps as RFC 3339 text.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT,
    user_handle TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE passkeys (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    credential_id BLOB NOT NULL UNIQUE,
    verifier TEXT NOT NULL,
    sign_count BIGINT NOT NULL CHECK (sign_count >= 0),
    backup_eligible BOOLEAN NOT NULL,
    backed_up BOOLEAN NOT NULL,
    transports TEXT NOT NULL,
    aaguid TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_used_at TEXT
);

CREATE INDEX passkeys_by_user ON passkeys (user_id, created_at DESC);

CREATE TABLE ceremonies (
    handle TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('registration', 'authentication')),
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE INDEX ceremonies_by_expiry ON ceremonies (expires_at);
