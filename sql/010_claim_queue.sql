-- 010_claim_queue: the fair claim's index, so a claim costs what the number
-- of users with pending sessions costs, not what the queue's depth costs. It
-- replaces 007's idx_ai_sessions_claim.
--
-- The fair claim (server/store/pg/pg_session_store.cc, claim_pending) takes
-- every user's oldest pending sessions round robin. Before this index it
-- ranked every pending row: at 5,000 pending sessions a claim read all of
-- them (25 ms; docs/benchmarks.md). On idx_ai_sessions_pending_user it skips
-- from one user with pending sessions to the next and locks at most each
-- user's free slots (0.35 ms at the same depth).
--
-- idx_ai_sessions_claim (status, created_at) WHERE status IN ('pending',
-- 'running') is dropped: pending rows are found on the new index and running
-- ones on idx_ai_sessions_lease, and with both in place the planner, whose
-- statistics of a queue are always stale, took the old one and sorted. One
-- index fewer is also one write fewer on every status change. A server older
-- than this migration runs its claims on the new index too; a newer one runs
-- against a database without it (rolled back, or not yet migrated), slower.
--
-- Locks: both run CONCURRENTLY (SHARE UPDATE EXCLUSIVE on
-- ai_analysis_sessions: they block no read or write). users, businesses,
-- health_metrics and forecast_results: none.
--
-- Down migration: rollback_claim_queue.sql. Safe to re-run.

-- step: index idx_ai_sessions_pending_user (concurrently)
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_pending_user
  ON ai_analysis_sessions (user_id, created_at, id) WHERE status = 'pending';

-- step: drop index idx_ai_sessions_claim (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_claim;
