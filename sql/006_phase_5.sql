-- Phase 5 (seed: "Finalization", Stories 1.6-1.7): monitoring, billing
-- integration verification, referential integrity, subscription analytics.
--
-- 1. query_performance_samples: timings of key queries (see key_queries.sql),
--    recorded before/after each phase, to catch the seed's rollback trigger
--    "performance degradation > 20% on key queries".
-- 2. billing_integration_issues: a view of subscriptions whose billing state is
--    inconsistent (paid and active but not linked to Stripe, ...). Empty = OK.
-- 3. Every foreign key the seed lists for the phase 1-4 tables, added NOT VALID
--    and then validated. Constraint names are PostgreSQL's defaults
--    (<table>_<column>_fkey), i.e. what the seed's inline REFERENCES would have
--    produced. Guarded: an existing constraint is not added again and an already
--    validated one is not validated again.
--    Locks: ADD ... NOT VALID takes SHARE ROW EXCLUSIVE on users / businesses
--    (readers are never blocked; writers wait while this transaction runs). The
--    validations read only the new tables' rows. lock_timeout bounds how long we
--    queue for those locks, so writers queued behind us are not stalled either;
--    on a lock timeout (SQLSTATE 55P03) the migration fails cleanly and can be
--    retried.
-- 4. subscription_analytics: a materialized view (plan, active subscribers,
--    analyses this month) with a unique index, so it can be refreshed with
--    REFRESH MATERIALIZED VIEW CONCURRENTLY subscription_analytics.
--
-- Down migration: rollback_phase_5.sql. Safe to re-run.

-- 1. Performance monitoring ------------------------------------------------
CREATE TABLE IF NOT EXISTS query_performance_samples (
  id          VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
  query_name  VARCHAR NOT NULL,          -- e.g. 'user_by_id', 'latest_health_metrics'
  duration_ms DOUBLE PRECISION NOT NULL,
  sampled_at  TIMESTAMP NOT NULL DEFAULT now(),
  phase       VARCHAR,                   -- e.g. 'baseline', 'phase_1', ... 'phase_5'
  details     JSONB                      -- optional: plan, row count, host, ...
);
CREATE INDEX IF NOT EXISTS idx_query_performance_samples_name_time
  ON query_performance_samples (query_name, sampled_at DESC);

-- 2. Billing integration verification --------------------------------------
-- One row per problem. Paid = the plan's price > 0.
CREATE OR REPLACE VIEW billing_integration_issues AS
SELECT us.id AS subscription_id,
       us.user_id,
       p.name AS plan_name,
       'paid_subscription_without_stripe_subscription_id'::varchar AS issue
FROM user_subscriptions us
JOIN subscription_plans p ON p.id = us.plan_id
WHERE us.status = 'active' AND p.price > 0 AND us.stripe_subscription_id IS NULL
UNION ALL
SELECT us.id, us.user_id, p.name,
       'paid_subscription_without_stripe_customer_id'::varchar
FROM user_subscriptions us
JOIN subscription_plans p ON p.id = us.plan_id
WHERE us.status = 'active' AND p.price > 0 AND us.stripe_customer_id IS NULL;

-- 3. Foreign keys from the seed: NOT VALID, then VALIDATE -------------------
DO $$
DECLARE
  fk record;
BEGIN
  PERFORM set_config('lock_timeout', '1s', true);  -- local to this transaction

  FOR fk IN
    SELECT * FROM (VALUES
      ('user_subscriptions',   'user_subscriptions_user_id_fkey',         'user_id',         'users',              'ON DELETE CASCADE'),
      ('user_subscriptions',   'user_subscriptions_plan_id_fkey',         'plan_id',         'subscription_plans', ''),
      ('usage_metrics',        'usage_metrics_user_id_fkey',              'user_id',         'users',              'ON DELETE CASCADE'),
      ('usage_metrics',        'usage_metrics_subscription_id_fkey',      'subscription_id', 'user_subscriptions', ''),
      ('billing_transactions', 'billing_transactions_user_id_fkey',       'user_id',         'users',              ''),
      ('billing_transactions', 'billing_transactions_subscription_id_fkey', 'subscription_id', 'user_subscriptions', ''),
      ('ai_analysis_sessions', 'ai_analysis_sessions_user_id_fkey',       'user_id',         'users',              ''),
      ('ai_analysis_sessions', 'ai_analysis_sessions_business_id_fkey',   'business_id',     'businesses',         ''),
      ('portfolios',           'portfolios_user_id_fkey',                 'user_id',         'users',              ''),
      ('portfolio_businesses', 'portfolio_businesses_portfolio_id_fkey',  'portfolio_id',    'portfolios',         'ON DELETE CASCADE'),
      ('portfolio_businesses', 'portfolio_businesses_business_id_fkey',   'business_id',     'businesses',         'ON DELETE CASCADE'),
      ('generated_reports',    'generated_reports_user_id_fkey',          'user_id',         'users',              ''),
      ('generated_reports',    'generated_reports_business_id_fkey',      'business_id',     'businesses',         ''),
      ('generated_reports',    'generated_reports_portfolio_id_fkey',     'portfolio_id',    'portfolios',         '')
    ) AS t (tbl, conname, col, reftbl, on_delete)
  LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_constraint c
                   WHERE c.conrelid = fk.tbl::regclass AND c.conname = fk.conname) THEN
      EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES %I (id) %s NOT VALID',
                     fk.tbl, fk.conname, fk.col, fk.reftbl, fk.on_delete);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_constraint c
               WHERE c.conrelid = fk.tbl::regclass AND c.conname = fk.conname
                 AND NOT c.convalidated) THEN
      EXECUTE format('ALTER TABLE %I VALIDATE CONSTRAINT %I', fk.tbl, fk.conname);
    END IF;
  END LOOP;
END
$$;

-- 4. Subscription analytics ------------------------------------------------
-- One row per plan. Usage counts rows of usage_metrics with metric_type
-- 'ai_analysis' dated in the current calendar month (at refresh time), attributed
-- to the usage row's subscription, or else to the user's newest active one.
CREATE MATERIALIZED VIEW IF NOT EXISTS subscription_analytics AS
SELECT p.id                                        AS plan_id,
       p.name                                      AS plan_name,
       p.price,
       p.billing_period,
       p.is_active                                 AS plan_is_active,
       COALESCE(s.active_subscribers, 0)::bigint   AS active_subscribers,
       COALESCE(a.analyses_this_month, 0)::bigint  AS analyses_this_month,
       date_trunc('month', CURRENT_DATE)::date     AS month,
       now()::timestamp                            AS refreshed_at
FROM subscription_plans p
LEFT JOIN (
  SELECT plan_id, count(DISTINCT user_id) AS active_subscribers
  FROM user_subscriptions
  WHERE status = 'active'
  GROUP BY plan_id
) s ON s.plan_id = p.id
LEFT JOIN (
  SELECT us.plan_id, sum(COALESCE(um.count, 1)) AS analyses_this_month
  FROM usage_metrics um
  JOIN LATERAL (
    SELECT x.plan_id
    FROM user_subscriptions x
    WHERE (um.subscription_id IS NOT NULL AND x.id = um.subscription_id)
       OR (um.subscription_id IS NULL AND x.user_id = um.user_id AND x.status = 'active')
    ORDER BY x.created_at DESC NULLS LAST, x.id
    LIMIT 1
  ) us ON true
  WHERE um.metric_type = 'ai_analysis'
    AND um.date >= date_trunc('month', CURRENT_DATE)::date
  GROUP BY us.plan_id
) a ON a.plan_id = p.id
WITH DATA;

CREATE UNIQUE INDEX IF NOT EXISTS idx_subscription_analytics_plan
  ON subscription_analytics (plan_id);
