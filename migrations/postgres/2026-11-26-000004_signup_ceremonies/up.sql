-- Sign-up with a passkey keeps its ceremony (email, display name, user
-- handle) server-side like the other kinds.
ALTER TABLE ceremonies DROP CONSTRAINT ceremonies_kind_check;
ALTER TABLE ceremonies ADD CONSTRAINT ceremonies_kind_check
    CHECK (kind IN ('registration', 'authentication', 'signup'));
