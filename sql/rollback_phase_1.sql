-- Rollback of 002_phase_1.sql: the seed's phase 1 rollback, verbatim.
-- Dropping the tables drops their indexes (idx_user_subscriptions_user_id,
-- idx_usage_metrics_user_date, idx_subscription_plans_name) and the plans with them.
-- Run after rollback_phase_2.sql. Safe to re-run.

DROP TABLE IF EXISTS usage_metrics CASCADE;
DROP TABLE IF EXISTS billing_transactions CASCADE;
DROP TABLE IF EXISTS user_subscriptions CASCADE;
DROP TABLE IF EXISTS subscription_plans CASCADE;
