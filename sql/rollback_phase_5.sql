-- Rollback of 006_phase_5.sql: drops what phase 5 added, in reverse order.
-- Run after rollback_orchestrator.sql. Safe to re-run.

DROP MATERIALIZED VIEW IF EXISTS subscription_analytics;

ALTER TABLE IF EXISTS generated_reports    DROP CONSTRAINT IF EXISTS generated_reports_portfolio_id_fkey;
ALTER TABLE IF EXISTS generated_reports    DROP CONSTRAINT IF EXISTS generated_reports_business_id_fkey;
ALTER TABLE IF EXISTS generated_reports    DROP CONSTRAINT IF EXISTS generated_reports_user_id_fkey;
ALTER TABLE IF EXISTS portfolio_businesses DROP CONSTRAINT IF EXISTS portfolio_businesses_business_id_fkey;
ALTER TABLE IF EXISTS portfolio_businesses DROP CONSTRAINT IF EXISTS portfolio_businesses_portfolio_id_fkey;
ALTER TABLE IF EXISTS portfolios           DROP CONSTRAINT IF EXISTS portfolios_user_id_fkey;
ALTER TABLE IF EXISTS ai_analysis_sessions DROP CONSTRAINT IF EXISTS ai_analysis_sessions_business_id_fkey;
ALTER TABLE IF EXISTS ai_analysis_sessions DROP CONSTRAINT IF EXISTS ai_analysis_sessions_user_id_fkey;
ALTER TABLE IF EXISTS billing_transactions DROP CONSTRAINT IF EXISTS billing_transactions_subscription_id_fkey;
ALTER TABLE IF EXISTS billing_transactions DROP CONSTRAINT IF EXISTS billing_transactions_user_id_fkey;
ALTER TABLE IF EXISTS usage_metrics        DROP CONSTRAINT IF EXISTS usage_metrics_subscription_id_fkey;
ALTER TABLE IF EXISTS usage_metrics        DROP CONSTRAINT IF EXISTS usage_metrics_user_id_fkey;
ALTER TABLE IF EXISTS user_subscriptions   DROP CONSTRAINT IF EXISTS user_subscriptions_plan_id_fkey;
ALTER TABLE IF EXISTS user_subscriptions   DROP CONSTRAINT IF EXISTS user_subscriptions_user_id_fkey;

DROP VIEW IF EXISTS billing_integration_issues;

DROP TABLE IF EXISTS query_performance_samples;
