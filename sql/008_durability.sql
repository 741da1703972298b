-- 008_durability: what durable orchestration needs beyond 007. Additive
-- except for one index, which is replaced.
--
-- 1. session_attempts: one row per claim of a session (the attempt number is
--    the fencing token), with its worker, when it was claimed and when and how
--    it ended (completed, failed, cancelled, released, expired). It is the
--    lease history: a session never has two attempts open at once, which
--    sql/validation/post_migration.sql checks.
-- 2. ai_analysis_sessions.run_after: a retried or re-queued session is not
--    claimed before this time (capped exponential backoff with jitter).
-- 3. CreateSession idempotency per user: request_id is unique per user_id
--    (idx_ai_sessions_user_request_id) instead of globally
--    (idx_ai_sessions_request_id, dropped), so two users' keys never collide.
--
-- Locks on existing tables: ACCESS EXCLUSIVE on ai_analysis_sessions for the
-- instant the ADD COLUMN (no default, no rewrite) takes; SHARE ROW EXCLUSIVE
-- on it while session_attempts (which references it) is created; the index
-- builds and the drop run CONCURRENTLY and block no query. users,
-- businesses, health_metrics and forecast_results: none.
--
-- Down migration: rollback_durability.sql. Safe to re-run.

-- step: session_attempts table (references ai_analysis_sessions)
CREATE TABLE IF NOT EXISTS session_attempts (
  session_id  VARCHAR NOT NULL REFERENCES ai_analysis_sessions (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL,
  lease_owner VARCHAR NOT NULL,
  claimed_at  TIMESTAMP NOT NULL DEFAULT clock_timestamp(),
  ended_at    TIMESTAMP,
  outcome     VARCHAR
                CONSTRAINT session_attempts_outcome_check
                CHECK (outcome IN ('completed', 'failed', 'cancelled', 'released', 'expired')),
  PRIMARY KEY (session_id, attempt)
);

-- step: ai_analysis_sessions.run_after
ALTER TABLE ai_analysis_sessions ADD COLUMN IF NOT EXISTS run_after TIMESTAMP;

-- step: index idx_ai_sessions_user_request_id (concurrently)
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_user_request_id
  ON ai_analysis_sessions (user_id, request_id) WHERE request_id IS NOT NULL;

-- step: drop the global request_id index (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_request_id;
