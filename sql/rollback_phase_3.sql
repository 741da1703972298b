-- Rollback of 004_phase_3.sql: drops what phase 3 added, in reverse order
-- (the seed's three DROP TABLE statements plus the usage index).
-- Run after rollback_phase_4.sql. Safe to re-run.

DROP INDEX IF EXISTS idx_usage_metrics_type_date;
DROP TABLE IF EXISTS portfolio_businesses CASCADE;
DROP TABLE IF EXISTS portfolios CASCADE;
DROP TABLE IF EXISTS ai_analysis_sessions CASCADE;
