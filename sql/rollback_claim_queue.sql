-- Rollback of 010_claim_queue.sql. Run before rollback_tenancy.sql. Safe to
-- re-run. Claims keep working without the index, at a cost that grows with
-- the number of pending sessions again.

-- step: drop index idx_ai_sessions_pending_user (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_pending_user;
