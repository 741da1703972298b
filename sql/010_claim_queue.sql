-- 010_claim_queue: an index that makes a claim cost what the number of users
-- with pending sessions costs, not what the queue's depth costs. Additive.
--
-- The fair claim (server/store/pg/pg_session_store.cc, claim_pending) takes
-- every user's oldest pending sessions round robin. Before this index it
-- ranked every pending row: at 5,000 pending sessions a claim read all of
-- them (25 ms; docs/benchmarks.md). With idx_ai_sessions_pending_user it
-- skips from one user with pending sessions to the next and reads at most
-- the user's free slots of each (0.35 ms at the same depth). A server older
-- than this migration never uses the index; a newer one runs against a
-- database without it (rolled back, or not yet migrated), only slower.
--
-- Locks: the build runs CONCURRENTLY (SHARE UPDATE EXCLUSIVE on
-- ai_analysis_sessions: it blocks no read or write). users, businesses,
-- health_metrics and forecast_results: none.
--
-- Down migration: rollback_claim_queue.sql. Safe to re-run.

-- step: index idx_ai_sessions_pending_user (concurrently)
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_pending_user
  ON ai_analysis_sessions (user_id, created_at, id) WHERE status = 'pending';
