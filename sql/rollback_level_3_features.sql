-- Level 3 rollback, "feature rollback" (seed: "Disable new features, keep
-- data"). Not a down migration: schema and data stay; every subscription plan
-- is marked inactive, which the application reads as "subscription features
-- off" (together with its own configuration switch, as the seed says).
--
-- To re-enable: UPDATE subscription_plans SET is_active = true WHERE ...
-- (name the plans: this file does not remember which plans were active).
--
-- Needs: phase_1 (run on a fully migrated database). Safe to re-run: plans
-- already inactive are not touched again.
--
-- Locks: ROW EXCLUSIVE on subscription_plans (row locks on the three plans
-- until the step commits). The refresh takes EXCLUSIVE on
-- subscription_analytics (readers keep going: REFRESH ... CONCURRENTLY).
-- users, businesses, health_metrics, forecast_results: none.

-- step: deactivate every subscription plan
-- Disable subscription features (keep data for future re-enablement)
UPDATE subscription_plans SET is_active = false
WHERE is_active IS DISTINCT FROM false;

-- step: refresh subscription_analytics (phase 5), when present
DO $$
BEGIN
  IF to_regclass('subscription_analytics') IS NOT NULL THEN
    REFRESH MATERIALIZED VIEW CONCURRENTLY subscription_analytics;
  END IF;
END
$$;
