-- Phase 2 (seed: "User Migration", Story 1.1): every existing user without a
-- subscription gets the Free plan for one year. The seed's statement, verbatim;
-- its NOT EXISTS makes re-running a no-op.
--
-- Locks on existing tables: ACCESS SHARE on users (a plain read: no reader or
-- writer of users is blocked, only DDL such as ALTER TABLE users waits), held
-- for the duration of the INSERT. ROW EXCLUSIVE on user_subscriptions (phase 1).
-- Measured: about 0.1 s for 10,000 users (tests/data/brownfield.sql).
--
-- One step: the INSERT is one statement. Users who sign up while it runs are
-- not in its snapshot; the application gives new users their subscription.
--
-- Down migration: rollback_phase_2.sql (deletes the Free subscriptions).

-- step: assign the Free plan to users without a subscription
-- Auto-assign existing users to Free tier
INSERT INTO user_subscriptions (user_id, plan_id, status, current_period_start, current_period_end)
SELECT u.id,
       (SELECT id FROM subscription_plans WHERE name = 'Free' LIMIT 1),
       'active',
       now(),
       now() + interval '1 year'
FROM users u
WHERE NOT EXISTS (
  SELECT 1 FROM user_subscriptions us WHERE us.user_id = u.id
);
