-- Rollback of 007_orchestrator.sql: drops what it added, in reverse order.
-- The seed's ai_analysis_sessions columns are untouched.
-- Run before rollback_phase_5.sql. Safe to re-run (IF EXISTS everywhere).
--
-- Locks (measured with pg_locks on PostgreSQL 15). Dropping a foreign key
-- drops its internal triggers on BOTH tables, and dropping a trigger needs
-- ACCESS EXCLUSIVE, so ALTER TABLE ... DROP CONSTRAINT <fk> takes ACCESS
-- EXCLUSIVE on the constrained table AND on the referenced table (and DROP
-- TABLE of a table that still has a foreign key does the same to the
-- referenced table). The ALTER TABLE reference page (PostgreSQL 15) says
-- ACCESS EXCLUSIVE is taken on the altered table unless noted otherwise, notes
-- nothing for DROP CONSTRAINT, and does not mention the referenced table at
-- all (only ADD FOREIGN KEY's SHARE ROW EXCLUSIVE on it), hence measured.
-- ACCESS EXCLUSIVE blocks readers too, so each such step is a single
-- catalog-only statement that commits in milliseconds once granted, and the
-- migrator's per-step lock_timeout bounds the wait (with psql:
-- PGOPTIONS='-c lock_timeout=2s').
--   * businesses: ACCESS EXCLUSIVE for the step dropping
--     business_financial_periods_business_id_fkey. The DROP TABLE after it
--     then touches no other table.
--   * ai_analysis_sessions: ACCESS EXCLUSIVE for the step dropping
--     session_events (its foreign key), for the CHECK drop and for the column
--     drop (catalog-only, no rewrite); SHARE UPDATE EXCLUSIVE (blocks nobody)
--     for each DROP INDEX CONCURRENTLY step.
--   * users, health_metrics, forecast_results: none.

-- step: drop FK business_financial_periods_business_id_fkey
-- locks: ACCESS EXCLUSIVE business_financial_periods, ACCESS EXCLUSIVE businesses
ALTER TABLE IF EXISTS business_financial_periods
  DROP CONSTRAINT IF EXISTS business_financial_periods_business_id_fkey;

-- step: drop business_financial_periods
DROP TABLE IF EXISTS business_financial_periods;

-- step: drop session_events
-- Its trigger and its FK to ai_analysis_sessions go with it.
-- locks: ACCESS EXCLUSIVE session_events, ACCESS EXCLUSIVE ai_analysis_sessions
DROP TABLE IF EXISTS session_events;

-- step: drop the append-only trigger function
DROP FUNCTION IF EXISTS session_events_reject_update();

-- step: drop index idx_ai_sessions_lease (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_lease;

-- step: drop index idx_ai_sessions_business_created (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_business_created;

-- step: drop index idx_ai_sessions_created (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_created;

-- step: drop index idx_ai_sessions_claim (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_claim;

-- step: drop index idx_ai_sessions_request_id (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_request_id;

-- step: drop the ai_analysis_sessions CHECK constraints
ALTER TABLE IF EXISTS ai_analysis_sessions
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_history_source_check,
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_attempt_check,
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_progress_percentage_check,
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_session_type_check,
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_status_check;

-- step: drop the ai_analysis_sessions columns added by 007
ALTER TABLE IF EXISTS ai_analysis_sessions
  DROP COLUMN IF EXISTS inline_history,
  DROP COLUMN IF EXISTS history_source,
  DROP COLUMN IF EXISTS cancel_requested,
  DROP COLUMN IF EXISTS error_message,
  DROP COLUMN IF EXISTS error_code,
  DROP COLUMN IF EXISTS last_sequence,
  DROP COLUMN IF EXISTS options,
  DROP COLUMN IF EXISTS stage,
  DROP COLUMN IF EXISTS updated_at,
  DROP COLUMN IF EXISTS started_at,
  DROP COLUMN IF EXISTS lease_expires_at,
  DROP COLUMN IF EXISTS lease_owner,
  DROP COLUMN IF EXISTS attempt,
  DROP COLUMN IF EXISTS request_id;
