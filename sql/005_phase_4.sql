-- Phase 4 (seed: "Professional Reporting", Story 1.5): report generation
-- tracking, file storage metadata (file_path, file_size, expires_at) and
-- branding customization storage (branding_config).
--
-- The seed's table, column for column, WITHOUT its foreign keys (phase 5 adds
-- them as NOT VALID + VALIDATE), and one index for listing a user's reports.
--
-- One step. The index is a plain CREATE INDEX on purpose: it is built in the
-- same transaction that creates the table, so the table is empty and nobody
-- else can see it yet (CONCURRENTLY would gain nothing and would need a step
-- of its own outside the transaction).
--
-- Locks on existing tables (users, businesses, health_metrics,
-- forecast_results, and the phase 1-3 tables): none.
--
-- Re-running: guarded (IF NOT EXISTS).
-- Down migration: rollback_phase_4.sql (drops the table and its index).

-- step: generated_reports table and its index
CREATE TABLE IF NOT EXISTS generated_reports (
  id                 VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
  user_id            VARCHAR NOT NULL,  -- FK users(id): phase 5
  business_id        VARCHAR,           -- FK businesses(id): phase 5
  portfolio_id       VARCHAR,           -- FK portfolios(id): phase 5
  report_type        VARCHAR NOT NULL,
  template_used      VARCHAR,
  branding_config    JSON,
  file_path          VARCHAR,
  file_size          INTEGER,
  generation_time_ms INTEGER,
  created_at         TIMESTAMP DEFAULT now(),
  expires_at         TIMESTAMP
);

-- A user's reports, newest first.
CREATE INDEX IF NOT EXISTS idx_generated_reports_user_created
  ON generated_reports (user_id, created_at DESC);
