-- Rollback of 002_phase_1.sql: the seed's phase 1 rollback (the four DROP
-- TABLE statements, verbatim), preceded by explicit drops of the indexes phase
-- 1 created (idx_usage_metrics_user_date, idx_user_subscriptions_user_id,
-- idx_subscription_plans_name; they would go with their tables anyway). The
-- plans go with subscription_plans.
-- Run after rollback_phase_2.sql. Safe to re-run.
--
-- Locks: ACCESS EXCLUSIVE on the four dropped tables only, once
-- rollback_phase_5.sql has dropped the foreign keys. (Run without it, the
-- DROP TABLE ... CASCADE would also take ACCESS EXCLUSIVE on users.)
-- users, businesses, health_metrics, forecast_results: none.

-- step: drop the subscription tables
DROP INDEX IF EXISTS idx_usage_metrics_user_date;
DROP INDEX IF EXISTS idx_user_subscriptions_user_id;
DROP INDEX IF EXISTS idx_subscription_plans_name;
DROP TABLE IF EXISTS usage_metrics CASCADE;
DROP TABLE IF EXISTS billing_transactions CASCADE;
DROP TABLE IF EXISTS user_subscriptions CASCADE;
DROP TABLE IF EXISTS subscription_plans CASCADE;
