-- Ceremonies live for minutes and are worth nothing after a crash (the
-- user asks for new options), so they need not be written to the WAL:
-- every sign-in inserts and deletes one, and their WAL flushes cost more
-- than the rest of the sign-in's writes (docs/BENCHMARKS.md). An unlogged
-- table is emptied by crash recovery and is not copied to replicas, which
-- is also right: a replica must not hold live challenges.
ALTER TABLE ceremonies SET UNLOGGED;
