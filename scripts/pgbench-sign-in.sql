-- The statements one passkey sign-in issues, in order (options: 1; finish:
-- 4), for pgbench: the database's own floor. Needs bench_ids, made by
-- scripts/pgbench-setup.sql. Run:
-- pgbench -n -M prepared -f scripts/pgbench-sign-in.sql -c 8 -j 2 -T 15 DATABASE
\set n random(1, 1000)
INSERT INTO ceremonies (handle, kind, user_id, state, expires_at)
VALUES (md5(random()::text) || :client_id, 'authentication', NULL, repeat('x', 1200), now() + interval '5 minutes')
RETURNING handle \gset
DELETE FROM ceremonies WHERE handle = :handle AND kind = 'authentication' AND user_id IS NULL
RETURNING handle, kind, user_id, state, expires_at;
SELECT p.id, p.user_id, p.name, p.credential_id, p.verifier, p.sign_count, p.backup_eligible,
       p.backed_up, p.transports, p.aaguid, p.created_at, p.last_used_at,
       u.id, u.email, u.display_name, u.user_handle, u.password_hash, u.created_at
FROM passkeys p INNER JOIN users u ON u.id = p.user_id
WHERE p.credential_id = (SELECT credential_id FROM bench_ids WHERE n = :n) LIMIT 1;
WITH used AS (
    UPDATE passkeys SET sign_count = 0, backed_up = true, last_used_at = now()
    WHERE id = (SELECT passkey_id FROM bench_ids WHERE n = :n)
      AND CASE WHEN 0 = 0 THEN sign_count = 0 ELSE sign_count < 0 END
    RETURNING id, user_id)
INSERT INTO audit_events (id, user_id, kind, code, passkey_id, client_ip, user_agent, created_at)
SELECT gen_random_uuid(), user_id, 'passkey.used', NULL, id, '127.0.0.1', 'pgbench', now() FROM used;
INSERT INTO sessions (id, user_id, token_hash, method, auth_time, created_at, last_seen_at,
                      expires_at, user_agent, client_ip, revoked_at)
SELECT gen_random_uuid(), user_id, sha256(gen_random_uuid()::text::bytea), 'passkey', now(), now(),
       now(), now() + interval '30 days', 'pgbench', '127.0.0.1', NULL
FROM bench_ids WHERE n = :n;
