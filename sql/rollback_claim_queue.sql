-- Rollback of 010_claim_queue.sql. Run before rollback_tenancy.sql. Safe to
-- re-run. Claims keep working without the new index, at a cost that grows
-- with the number of pending sessions again.

-- step: restore index idx_ai_sessions_claim (concurrently)
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_claim
  ON ai_analysis_sessions (status, created_at) WHERE status IN ('pending', 'running');

-- step: drop index idx_ai_sessions_pending_user (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_pending_user;
