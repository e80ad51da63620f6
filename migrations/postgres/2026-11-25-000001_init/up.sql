CREATE TABLE users (
    id UUID PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT,
    user_handle UUID NOT NULL UNIQUE,
    -- PHC string (Argon2id); NULL for an account without a password.
    password_hash TEXT,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE passkeys (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- Unique across all users: one credential belongs to one account.
    credential_id BYTEA NOT NULL UNIQUE,
    -- Serialised public key material for the WebAuthn library.
    verifier TEXT NOT NULL,
    sign_count BIGINT NOT NULL CHECK (sign_count >= 0),
    backup_eligible BOOLEAN NOT NULL,
    backed_up BOOLEAN NOT NULL,
    -- Comma-separated transport hints ("internal,hybrid").
    transports TEXT NOT NULL,
    aaguid UUID NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ
);

CREATE INDEX passkeys_by_user ON passkeys (user_id, created_at DESC);

-- Ceremony state between an options call and its finish call.
CREATE TABLE ceremonies (
    handle TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('registration', 'authentication')),
    user_id UUID REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX ceremonies_by_expiry ON ceremonies (expires_at);
