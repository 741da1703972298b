-- Phase 3 (seed: "AI Enhancement", Stories 1.2-1.4): AI analysis session
-- tracking, portfolio management, usage metrics collection.
--
-- What it does
--   1. The seed's tables, column for column, WITHOUT the seed's foreign keys
--      (phase 5 adds them as NOT VALID + VALIDATE, so this phase takes no lock
--      on users or businesses). UNIQUE (portfolio_id, business_id) stays: it is
--      a uniqueness rule, not a reference.
--   2. The seed's two "critical performance indexes" (ai_analysis_sessions,
--      portfolios), each CREATE INDEX CONCURRENTLY in its own step, outside any
--      transaction, as the seed asks.
--   3. An index for usage metrics collection on usage_metrics (metric_type,
--      date). usage_metrics exists since phase 1 and the application may be
--      writing usage rows by now, so this one is built CONCURRENTLY for a real
--      reason: a plain CREATE INDEX would hold SHARE on usage_metrics and block
--      its writers for the whole build.
--
-- Real-time streaming and the orchestrator's lease/event columns come in
-- 007_orchestrator.sql (additive).
--
-- Locks on existing tables (users, businesses, health_metrics,
-- forecast_results): none. The concurrent builds take SHARE UPDATE EXCLUSIVE
-- on their own table only (readers and writers keep going).
--
-- Re-running: every statement is guarded (IF NOT EXISTS). An interrupted
-- concurrent build leaves an INVALID index that IF NOT EXISTS skips. The
-- migrator drops such an index before building it again; with psql, the
-- post-migration rule "no invalid index" reports it: drop it (concurrently)
-- and run again.
--
-- Down migration: rollback_phase_3.sql.

-- step: AI analysis and portfolio tables
CREATE TABLE IF NOT EXISTS ai_analysis_sessions (
  id                  VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
  user_id             VARCHAR NOT NULL,  -- FK users(id): phase 5
  business_id         VARCHAR NOT NULL,  -- FK businesses(id): phase 5
  session_type        VARCHAR NOT NULL,  -- 'health_analysis', 'valuation', 'forecast'
  status              VARCHAR NOT NULL DEFAULT 'pending',
  progress_percentage INTEGER DEFAULT 0,
  streaming_data      JSON,
  results             JSON,
  confidence_score    INTEGER,
  processing_time_ms  INTEGER,
  created_at          TIMESTAMP DEFAULT now(),
  completed_at        TIMESTAMP
);

CREATE TABLE IF NOT EXISTS portfolios (
  id          VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
  user_id     VARCHAR NOT NULL,  -- FK users(id): phase 5
  name        VARCHAR NOT NULL,
  description TEXT,
  is_default  BOOLEAN DEFAULT false,
  created_at  TIMESTAMP DEFAULT now(),
  updated_at  TIMESTAMP DEFAULT now()
);

CREATE TABLE IF NOT EXISTS portfolio_businesses (
  id           VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
  portfolio_id VARCHAR NOT NULL,  -- FK portfolios(id) ON DELETE CASCADE: phase 5
  business_id  VARCHAR NOT NULL,  -- FK businesses(id) ON DELETE CASCADE: phase 5
  added_at     TIMESTAMP DEFAULT now(),
  notes        TEXT,
  UNIQUE (portfolio_id, business_id)
);

-- step: index idx_ai_sessions_user_status (concurrently)
-- Seed critical index. SHARE UPDATE EXCLUSIVE on ai_analysis_sessions only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_user_status
  ON ai_analysis_sessions (user_id, status);

-- step: index idx_portfolios_user_default (concurrently)
-- Seed critical index. SHARE UPDATE EXCLUSIVE on portfolios only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_portfolios_user_default
  ON portfolios (user_id, is_default);

-- step: index idx_usage_metrics_type_date (concurrently)
-- Usage metrics collection: quota checks and analytics count usage of one
-- metric_type ('ai_analysis', ...) over a date range. SHARE UPDATE EXCLUSIVE
-- on usage_metrics only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_usage_metrics_type_date
  ON usage_metrics (metric_type, date);
