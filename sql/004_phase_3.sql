-- Phase 3 (seed: "AI Enhancement", Stories 1.2-1.4): AI analysis session
-- tracking, portfolio management, usage metrics collection.
--
-- The seed's tables, column for column, WITHOUT the seed's foreign keys (phase 5
-- adds them as NOT VALID + VALIDATE). UNIQUE(portfolio_id, business_id) stays:
-- it is a uniqueness rule, not a reference. Plain CREATE INDEX is fine: the tables
-- are new and empty, and usage_metrics is new since phase 1.
--
-- Real-time streaming and the orchestrator's lease/event columns come in
-- 007_orchestrator.sql (additive).
--
-- Down migration: rollback_phase_3.sql. Safe to re-run.

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

-- The seed's critical performance indexes for phase 3 tables.
CREATE INDEX IF NOT EXISTS idx_ai_sessions_user_status ON ai_analysis_sessions (user_id, status);
CREATE INDEX IF NOT EXISTS idx_portfolios_user_default ON portfolios (user_id, is_default);

-- Usage metrics collection: quota checks and analytics count usage of one
-- metric_type ('ai_analysis', ...) over a date range.
CREATE INDEX IF NOT EXISTS idx_usage_metrics_type_date ON usage_metrics (metric_type, date);
