-- Rollback of 004_phase_3.sql: drops what phase 3 added, in reverse order:
-- the usage index on usage_metrics (a phase 1 table that stays), then the
-- seed's three DROP TABLE statements, with the tables' own indexes
-- (idx_portfolios_user_default, idx_ai_sessions_user_status) named explicitly.
-- Run after rollback_phase_4.sql, before rollback_phase_2.sql. Safe to re-run.
--
-- Locks: SHARE UPDATE EXCLUSIVE on usage_metrics (DROP INDEX CONCURRENTLY,
-- blocks nobody), then ACCESS EXCLUSIVE on the three dropped tables only, once
-- rollback_phase_5.sql and rollback_orchestrator.sql have dropped the foreign
-- keys. (Run without them, the DROP TABLE ... CASCADE would also take ACCESS
-- EXCLUSIVE on users and businesses, the tables those keys reference.)
-- users, businesses, health_metrics, forecast_results: none.

-- step: drop index idx_usage_metrics_type_date (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_usage_metrics_type_date;

-- step: drop the portfolio and AI analysis tables
DROP INDEX IF EXISTS idx_portfolios_user_default;
DROP INDEX IF EXISTS idx_ai_sessions_user_status;
DROP TABLE IF EXISTS portfolio_businesses CASCADE;
DROP TABLE IF EXISTS portfolios CASCADE;
DROP TABLE IF EXISTS ai_analysis_sessions CASCADE;
