-- Sessions: one row per sign-in, kept alive by rotating refresh tokens,
-- which are stored only as their SHA-256.
CREATE TABLE sessions (
    id UUID PRIMARY KEY,
    user_id UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- The current refresh token's hash.
    token_hash BYTEA NOT NULL UNIQUE,
    -- How and when the person last authenticated (sign-in or step-up).
    method TEXT NOT NULL CHECK (method IN ('password', 'passkey')),
    auth_time TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    user_agent TEXT,
    client_ip TEXT,
    revoked_at TIMESTAMPTZ
);

CREATE INDEX sessions_by_user ON sessions (user_id, last_seen_at DESC);

-- Refresh tokens a session has rotated out: presenting one again means it
-- was copied, and ends the session.
CREATE TABLE session_retired_tokens (
    token_hash BYTEA PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    -- When the token would have expired; it is forgotten after that.
    expires_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX session_retired_tokens_by_session ON session_retired_tokens (session_id);
CREATE INDEX session_retired_tokens_by_expiry ON session_retired_tokens (expires_at);
