-- Rollback of 003_phase_2.sql: the seed's phase 2 rollback (the DELETE below).
-- Note (seed semantics): this removes every Free subscription, including ones
-- created after the migration. Usage and billing rows that point at a removed
-- subscription are detached first (subscription_id is nullable), so the
-- DELETE does not trip phase 5's foreign keys (if still present) and a later
-- re-run of phases 2-5 can validate them.
-- Run after rollback_phase_3.sql, before rollback_phase_1.sql. Safe to re-run,
-- and a no-op once phase 1 has been rolled back too (the guard; the DO block
-- is kept for it, since plain statements would fail on missing tables).
--
-- One step (one transaction: the detach and the DELETE commit together).
-- Locks: ROW EXCLUSIVE on user_subscriptions, usage_metrics and
-- billing_transactions (row locks on the rows it changes), ACCESS SHARE on
-- subscription_plans. users, businesses, health_metrics, forecast_results:
-- none (the DELETE only reads rows that reference user_subscriptions).

-- step: remove the Free subscriptions
DO $$
BEGIN
  IF to_regclass('user_subscriptions') IS NULL OR to_regclass('subscription_plans') IS NULL THEN
    RETURN;
  END IF;

  IF to_regclass('usage_metrics') IS NOT NULL THEN
    UPDATE usage_metrics SET subscription_id = NULL
    WHERE subscription_id IN (
      SELECT us.id FROM user_subscriptions us
      WHERE us.plan_id = (SELECT id FROM subscription_plans WHERE name = 'Free'));
  END IF;

  IF to_regclass('billing_transactions') IS NOT NULL THEN
    UPDATE billing_transactions SET subscription_id = NULL
    WHERE subscription_id IN (
      SELECT us.id FROM user_subscriptions us
      WHERE us.plan_id = (SELECT id FROM subscription_plans WHERE name = 'Free'));
  END IF;

  -- Remove auto-assigned subscriptions
  DELETE FROM user_subscriptions
  WHERE plan_id = (SELECT id FROM subscription_plans WHERE name = 'Free');
END
$$;
