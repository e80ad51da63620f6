-- Grows a benchmark database to :target stored passkeys with filler
-- accounts (10 passkeys each) whose credentials nobody holds, so that the
-- load generator's sign-ins look theirs up among :target rows.
-- psql -v target=1000000 -f scripts/filler-passkeys.sql DATABASE
\set ON_ERROR_STOP on
SELECT greatest(0, (:target - count(*)) / 10) AS missing_users FROM passkeys \gset
INSERT INTO users (id, email, display_name, user_handle, password_hash, created_at)
SELECT gen_random_uuid(), 'filler-' || gen_random_uuid() || '@example.com', NULL,
       gen_random_uuid(), NULL, now()
FROM generate_series(1, :missing_users);
INSERT INTO passkeys (id, user_id, name, credential_id, verifier, sign_count,
                      backup_eligible, backed_up, transports, aaguid, created_at, last_used_at)
SELECT gen_random_uuid(), u.id, 'Filler', sha256(convert_to(u.id::text || k, 'UTF8')),
       (SELECT verifier FROM passkeys WHERE name <> 'Filler' LIMIT 1), 0, true, true,
       'internal,hybrid', '00000000-0000-0000-0000-000000000000', now(), NULL
FROM users u CROSS JOIN generate_series(1, 10) k
WHERE u.email LIKE 'filler-%' AND NOT EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = u.id);
ANALYZE users;
ANALYZE passkeys;
SELECT count(*) AS passkeys FROM passkeys;
