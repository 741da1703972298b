-- Rollback of 007_orchestrator.sql: drops what it added, in reverse order.
-- The seed's ai_analysis_sessions columns are untouched.
-- Run before rollback_phase_5.sql. Safe to re-run.

DROP TABLE IF EXISTS business_financial_periods;

DROP TABLE IF EXISTS session_events;  -- its trigger goes with it
DROP FUNCTION IF EXISTS session_events_reject_update();

DROP INDEX IF EXISTS idx_ai_sessions_lease;
DROP INDEX IF EXISTS idx_ai_sessions_business_created;
DROP INDEX IF EXISTS idx_ai_sessions_created;
DROP INDEX IF EXISTS idx_ai_sessions_claim;
DROP INDEX IF EXISTS idx_ai_sessions_request_id;

ALTER TABLE IF EXISTS ai_analysis_sessions
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_history_source_check,
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_attempt_check,
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_progress_percentage_check,
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_session_type_check,
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_status_check;

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
