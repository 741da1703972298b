-- Phase 2 (seed: "User Migration", Story 1.1): every existing user without a
-- subscription gets the Free plan for one year. The seed's statement, verbatim;
-- its NOT EXISTS makes re-running a no-op.
--
-- Reads users (ACCESS SHARE only: no reader or writer of users is blocked).
-- Down migration: rollback_phase_2.sql.

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
