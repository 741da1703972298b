-- Level 2 rollback, "data rollback" (seed: "Preserve new tables, reset data").
-- Not a down migration: the schema of phases 1-5 and 007 stays in place; only
-- subscription data is cleared. `analysis-server migrate rollback --level=2`
-- runs this file and then marks phase_2 (the Free plan assignment) pending
-- again, so `migrate up` re-populates it (with psql: re-run 003_phase_2.sql).
--
-- What it does: the seed's three DELETEs, with usage_metrics and
-- billing_transactions first, because phase 5 gives both a foreign key to
-- user_subscriptions (no ON DELETE action): deleting subscriptions first would
-- fail while usage or billing rows still point at them. One step, so the
-- three DELETEs commit together or not at all. Then the analytics snapshot is
-- refreshed so it no longer counts the deleted rows.
--
-- Seed: "Reset users to pre-migration state". Nothing to do: no migration
-- (phases 1-5, 007) writes to users. Phase 2 only reads users, and every
-- new column lives in the new tables, so users are already in their
-- pre-migration state.
--
-- Needs: phase_1 for the DELETEs (run on a fully migrated database). After
-- it, the post-migration rule "every user has a subscription" no longer holds,
-- by design.
--
-- Locks: ROW EXCLUSIVE on usage_metrics, billing_transactions and
-- user_subscriptions (row locks on every deleted row, held until the step
-- commits: writers of those rows wait). The foreign-key checks on the deleted
-- user_subscriptions rows read usage_metrics and billing_transactions (already
-- empty) with ROW SHARE. users, businesses, health_metrics, forecast_results:
-- none. The refresh takes EXCLUSIVE on subscription_analytics (readers of the
-- view keep going: it is REFRESH ... CONCURRENTLY).
--
-- Rollback of this rollback: none (the rows are gone; restore from a backup
-- if they are needed). Safe to re-run.

-- step: clear subscription assignments, usage and billing history
DELETE FROM usage_metrics;
DELETE FROM billing_transactions;
DELETE FROM user_subscriptions;

-- step: refresh subscription_analytics (phase 5), when present
DO $$
BEGIN
  IF to_regclass('subscription_analytics') IS NOT NULL THEN
    REFRESH MATERIALIZED VIEW CONCURRENTLY subscription_analytics;
  END IF;
END
$$;
