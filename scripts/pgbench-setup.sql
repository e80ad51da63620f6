-- 1,000 of the load generator's passkeys, numbered for pgbench-sign-in.sql.
DROP TABLE IF EXISTS bench_ids;
CREATE TABLE bench_ids AS
SELECT row_number() OVER (ORDER BY id)::int AS n, credential_id, id AS passkey_id, user_id
FROM passkeys WHERE name <> 'Filler' LIMIT 1000;
ALTER TABLE bench_ids ADD PRIMARY KEY (n);
