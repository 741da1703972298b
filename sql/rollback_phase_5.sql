-- Rollback of 006_phase_5.sql: drops what phase 5 added, in reverse order.
-- Run after rollback_orchestrator.sql, before rollback_phase_4.sql. Safe to
-- re-run (IF EXISTS everywhere).
--
-- Locks (measured with pg_locks on PostgreSQL 15). Dropping a foreign key
-- drops its internal triggers on BOTH tables, and dropping a trigger needs
-- ACCESS EXCLUSIVE, so each ALTER TABLE ... DROP CONSTRAINT <fk> below takes
-- ACCESS EXCLUSIVE on the constrained table (a phase 1-4 table) AND on the
-- referenced table: users, businesses, subscription_plans, user_subscriptions
-- or portfolios. The ALTER TABLE reference page (PostgreSQL 15) says ACCESS
-- EXCLUSIVE is taken on the altered table unless noted otherwise, notes
-- nothing for DROP CONSTRAINT, and does not mention the referenced table at
-- all (only ADD FOREIGN KEY's SHARE ROW EXCLUSIVE on it), hence measured.
-- ACCESS EXCLUSIVE on users / businesses blocks their readers too, so every
-- FK drop is alone in its step: one catalog-only statement that commits in
-- milliseconds once granted, with the migrator's per-step lock_timeout
-- bounding the wait (with psql: PGOPTIONS='-c lock_timeout=2s').
-- Dropping the foreign keys first also means rollback_phase_4/3/1's DROP
-- TABLEs no longer touch users or businesses at all.
-- The views and query_performance_samples: ACCESS EXCLUSIVE on themselves only.

-- step: drop materialized view subscription_analytics
-- Its unique index idx_subscription_analytics_plan goes with it.
DROP MATERIALIZED VIEW IF EXISTS subscription_analytics;

-- step: drop FK generated_reports_portfolio_id_fkey
-- locks: ACCESS EXCLUSIVE generated_reports, ACCESS EXCLUSIVE portfolios
ALTER TABLE IF EXISTS generated_reports DROP CONSTRAINT IF EXISTS generated_reports_portfolio_id_fkey;

-- step: drop FK generated_reports_business_id_fkey
-- locks: ACCESS EXCLUSIVE generated_reports, ACCESS EXCLUSIVE businesses
ALTER TABLE IF EXISTS generated_reports DROP CONSTRAINT IF EXISTS generated_reports_business_id_fkey;

-- step: drop FK generated_reports_user_id_fkey
-- locks: ACCESS EXCLUSIVE generated_reports, ACCESS EXCLUSIVE users
ALTER TABLE IF EXISTS generated_reports DROP CONSTRAINT IF EXISTS generated_reports_user_id_fkey;

-- step: drop FK portfolio_businesses_business_id_fkey
-- locks: ACCESS EXCLUSIVE portfolio_businesses, ACCESS EXCLUSIVE businesses
ALTER TABLE IF EXISTS portfolio_businesses DROP CONSTRAINT IF EXISTS portfolio_businesses_business_id_fkey;

-- step: drop FK portfolio_businesses_portfolio_id_fkey
-- locks: ACCESS EXCLUSIVE portfolio_businesses, ACCESS EXCLUSIVE portfolios
ALTER TABLE IF EXISTS portfolio_businesses DROP CONSTRAINT IF EXISTS portfolio_businesses_portfolio_id_fkey;

-- step: drop FK portfolios_user_id_fkey
-- locks: ACCESS EXCLUSIVE portfolios, ACCESS EXCLUSIVE users
ALTER TABLE IF EXISTS portfolios DROP CONSTRAINT IF EXISTS portfolios_user_id_fkey;

-- step: drop FK ai_analysis_sessions_business_id_fkey
-- locks: ACCESS EXCLUSIVE ai_analysis_sessions, ACCESS EXCLUSIVE businesses
ALTER TABLE IF EXISTS ai_analysis_sessions DROP CONSTRAINT IF EXISTS ai_analysis_sessions_business_id_fkey;

-- step: drop FK ai_analysis_sessions_user_id_fkey
-- locks: ACCESS EXCLUSIVE ai_analysis_sessions, ACCESS EXCLUSIVE users
ALTER TABLE IF EXISTS ai_analysis_sessions DROP CONSTRAINT IF EXISTS ai_analysis_sessions_user_id_fkey;

-- step: drop FK billing_transactions_subscription_id_fkey
-- locks: ACCESS EXCLUSIVE billing_transactions, ACCESS EXCLUSIVE user_subscriptions
ALTER TABLE IF EXISTS billing_transactions DROP CONSTRAINT IF EXISTS billing_transactions_subscription_id_fkey;

-- step: drop FK billing_transactions_user_id_fkey
-- locks: ACCESS EXCLUSIVE billing_transactions, ACCESS EXCLUSIVE users
ALTER TABLE IF EXISTS billing_transactions DROP CONSTRAINT IF EXISTS billing_transactions_user_id_fkey;

-- step: drop FK usage_metrics_subscription_id_fkey
-- locks: ACCESS EXCLUSIVE usage_metrics, ACCESS EXCLUSIVE user_subscriptions
ALTER TABLE IF EXISTS usage_metrics DROP CONSTRAINT IF EXISTS usage_metrics_subscription_id_fkey;

-- step: drop FK usage_metrics_user_id_fkey
-- locks: ACCESS EXCLUSIVE usage_metrics, ACCESS EXCLUSIVE users
ALTER TABLE IF EXISTS usage_metrics DROP CONSTRAINT IF EXISTS usage_metrics_user_id_fkey;

-- step: drop FK user_subscriptions_plan_id_fkey
-- locks: ACCESS EXCLUSIVE user_subscriptions, ACCESS EXCLUSIVE subscription_plans
ALTER TABLE IF EXISTS user_subscriptions DROP CONSTRAINT IF EXISTS user_subscriptions_plan_id_fkey;

-- step: drop FK user_subscriptions_user_id_fkey
-- locks: ACCESS EXCLUSIVE user_subscriptions, ACCESS EXCLUSIVE users
ALTER TABLE IF EXISTS user_subscriptions DROP CONSTRAINT IF EXISTS user_subscriptions_user_id_fkey;

-- step: drop view billing_integration_issues
DROP VIEW IF EXISTS billing_integration_issues;

-- step: drop query_performance_samples
-- Its index idx_query_performance_samples_name_time goes with it.
DROP TABLE IF EXISTS query_performance_samples;
