-- Rollback of 008_durability.sql, in reverse order. Run before
-- rollback_orchestrator.sql. Safe to re-run.
--
-- Rebuilding the global request_id index fails (and leaves an INVALID index,
-- which the migrator drops) if two users have used the same request_id since
-- 008: rolling back then needs those keys made unique first.

-- step: restore the global request_id index (concurrently)
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_request_id
  ON ai_analysis_sessions (request_id) WHERE request_id IS NOT NULL;

-- step: drop index idx_ai_sessions_user_request_id (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_user_request_id;

-- step: drop ai_analysis_sessions.run_after
ALTER TABLE IF EXISTS ai_analysis_sessions DROP COLUMN IF EXISTS run_after;

-- step: drop session_attempts (its foreign key locks ai_analysis_sessions)
DROP TABLE IF EXISTS session_attempts;
