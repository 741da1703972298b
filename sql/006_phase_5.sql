-- Phase 5 (seed: "Finalization", Stories 1.6-1.7): monitoring, billing
-- integration verification, referential integrity, subscription analytics.
--
-- What it does, step by step
--   1. query_performance_samples: timings of key queries (see key_queries.sql),
--      recorded before/after each phase, to catch the seed's rollback trigger
--      "performance degradation > 20% on key queries". New table, plain index.
--   2. billing_integration_issues: a view of subscriptions whose billing state
--      is inconsistent (paid and active but not linked to Stripe, ...).
--      Empty = OK.
--   3. The seed's 14 foreign keys for the phase 1-4 tables, one step to add
--      each NOT VALID and one step to VALIDATE it, in that order, FK by FK.
--      Names are PostgreSQL's defaults (<table>_<column>_fkey), i.e. what the
--      seed's inline REFERENCES would have produced; ON DELETE rules as the seed.
--   4. subscription_analytics: a materialized view (plan, active subscribers,
--      analyses this month) with a unique index, so it can be refreshed with
--      REFRESH MATERIALIZED VIEW CONCURRENTLY subscription_analytics.
--
-- Locks on existing tables (measured with pg_locks on PostgreSQL 15)
--   * "add ... NOT VALID" steps: SHARE ROW EXCLUSIVE on the referenced table
--     (users, businesses, subscription_plans, user_subscriptions, portfolios)
--     and ACCESS EXCLUSIVE on the constrained table (a phase 1-4 table; the
--     DROP CONSTRAINT IF EXISTS part raises it from SHARE ROW EXCLUSIVE).
--     SHARE ROW EXCLUSIVE on users / businesses lets every reader through but
--     makes writers of users / businesses wait until the step commits. A step
--     is one catalog-only statement (no table scan), so it commits within
--     milliseconds once it has the lock; the migrator's per-step lock_timeout
--     bounds how long it queues for the lock (and so how long writers queue
--     behind it), and the step is retried as a whole on a lock timeout.
--   * "validate" steps: SHARE UPDATE EXCLUSIVE on the constrained table and
--     ROW SHARE on the referenced one. Neither blocks reads or writes of
--     either table; the step reads both (one anti-join query) for as long as
--     that takes (each step under 60 ms, psql start included, with 10,000
--     users and subscriptions from tests/data/brownfield.sql).
--   * Views: ACCESS SHARE on user_subscriptions, subscription_plans and
--     usage_metrics while they are created (the materialized view runs its
--     query once, WITH DATA).
--   * No SET lock_timeout in this file: the migrator sets it per step. With
--     plain psql, set it yourself, e.g. PGOPTIONS='-c lock_timeout=2s'.
--
-- Why "DROP CONSTRAINT IF EXISTS c, ADD CONSTRAINT c ... NOT VALID"
--   PostgreSQL has no ADD CONSTRAINT IF NOT EXISTS, and a guarded DO block
--   would hide the statement (and its locks) from the migrator's plan. The
--   migrator never re-runs an applied file, so on a first run the DROP is a
--   no-op. A re-run with psql (or of a partly applied file) drops and re-adds
--   the constraint NOT VALID and the next step validates it again: correct and
--   cheap, but note that dropping an existing FK takes ACCESS EXCLUSIVE on the
--   referenced table too (users / businesses, briefly: readers wait as well),
--   so re-run with a lock_timeout.
--
-- Down migration: rollback_phase_5.sql. Safe to re-run.

-- step: performance monitoring table
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

-- step: billing integration verification view
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

-- Foreign keys from the seed: add NOT VALID, then VALIDATE, one FK at a time.

-- step: add user_subscriptions_user_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE user_subscriptions, SHARE ROW EXCLUSIVE users
ALTER TABLE user_subscriptions
  DROP CONSTRAINT IF EXISTS user_subscriptions_user_id_fkey,
  ADD CONSTRAINT user_subscriptions_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE NOT VALID;

-- step: validate user_subscriptions_user_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE user_subscriptions, ROW SHARE users
ALTER TABLE user_subscriptions VALIDATE CONSTRAINT user_subscriptions_user_id_fkey;

-- step: add user_subscriptions_plan_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE user_subscriptions, SHARE ROW EXCLUSIVE subscription_plans
ALTER TABLE user_subscriptions
  DROP CONSTRAINT IF EXISTS user_subscriptions_plan_id_fkey,
  ADD CONSTRAINT user_subscriptions_plan_id_fkey
    FOREIGN KEY (plan_id) REFERENCES subscription_plans (id) NOT VALID;

-- step: validate user_subscriptions_plan_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE user_subscriptions, ROW SHARE subscription_plans
ALTER TABLE user_subscriptions VALIDATE CONSTRAINT user_subscriptions_plan_id_fkey;

-- step: add usage_metrics_user_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE usage_metrics, SHARE ROW EXCLUSIVE users
ALTER TABLE usage_metrics
  DROP CONSTRAINT IF EXISTS usage_metrics_user_id_fkey,
  ADD CONSTRAINT usage_metrics_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE NOT VALID;

-- step: validate usage_metrics_user_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE usage_metrics, ROW SHARE users
ALTER TABLE usage_metrics VALIDATE CONSTRAINT usage_metrics_user_id_fkey;

-- step: add usage_metrics_subscription_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE usage_metrics, SHARE ROW EXCLUSIVE user_subscriptions
ALTER TABLE usage_metrics
  DROP CONSTRAINT IF EXISTS usage_metrics_subscription_id_fkey,
  ADD CONSTRAINT usage_metrics_subscription_id_fkey
    FOREIGN KEY (subscription_id) REFERENCES user_subscriptions (id) NOT VALID;

-- step: validate usage_metrics_subscription_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE usage_metrics, ROW SHARE user_subscriptions
ALTER TABLE usage_metrics VALIDATE CONSTRAINT usage_metrics_subscription_id_fkey;

-- step: add billing_transactions_user_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE billing_transactions, SHARE ROW EXCLUSIVE users
ALTER TABLE billing_transactions
  DROP CONSTRAINT IF EXISTS billing_transactions_user_id_fkey,
  ADD CONSTRAINT billing_transactions_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;

-- step: validate billing_transactions_user_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE billing_transactions, ROW SHARE users
ALTER TABLE billing_transactions VALIDATE CONSTRAINT billing_transactions_user_id_fkey;

-- step: add billing_transactions_subscription_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE billing_transactions, SHARE ROW EXCLUSIVE user_subscriptions
ALTER TABLE billing_transactions
  DROP CONSTRAINT IF EXISTS billing_transactions_subscription_id_fkey,
  ADD CONSTRAINT billing_transactions_subscription_id_fkey
    FOREIGN KEY (subscription_id) REFERENCES user_subscriptions (id) NOT VALID;

-- step: validate billing_transactions_subscription_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE billing_transactions, ROW SHARE user_subscriptions
ALTER TABLE billing_transactions VALIDATE CONSTRAINT billing_transactions_subscription_id_fkey;

-- step: add ai_analysis_sessions_user_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE ai_analysis_sessions, SHARE ROW EXCLUSIVE users
ALTER TABLE ai_analysis_sessions
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_user_id_fkey,
  ADD CONSTRAINT ai_analysis_sessions_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;

-- step: validate ai_analysis_sessions_user_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE ai_analysis_sessions, ROW SHARE users
ALTER TABLE ai_analysis_sessions VALIDATE CONSTRAINT ai_analysis_sessions_user_id_fkey;

-- step: add ai_analysis_sessions_business_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE ai_analysis_sessions, SHARE ROW EXCLUSIVE businesses
ALTER TABLE ai_analysis_sessions
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_business_id_fkey,
  ADD CONSTRAINT ai_analysis_sessions_business_id_fkey
    FOREIGN KEY (business_id) REFERENCES businesses (id) NOT VALID;

-- step: validate ai_analysis_sessions_business_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE ai_analysis_sessions, ROW SHARE businesses
ALTER TABLE ai_analysis_sessions VALIDATE CONSTRAINT ai_analysis_sessions_business_id_fkey;

-- step: add portfolios_user_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE portfolios, SHARE ROW EXCLUSIVE users
ALTER TABLE portfolios
  DROP CONSTRAINT IF EXISTS portfolios_user_id_fkey,
  ADD CONSTRAINT portfolios_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;

-- step: validate portfolios_user_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE portfolios, ROW SHARE users
ALTER TABLE portfolios VALIDATE CONSTRAINT portfolios_user_id_fkey;

-- step: add portfolio_businesses_portfolio_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE portfolio_businesses, SHARE ROW EXCLUSIVE portfolios
ALTER TABLE portfolio_businesses
  DROP CONSTRAINT IF EXISTS portfolio_businesses_portfolio_id_fkey,
  ADD CONSTRAINT portfolio_businesses_portfolio_id_fkey
    FOREIGN KEY (portfolio_id) REFERENCES portfolios (id) ON DELETE CASCADE NOT VALID;

-- step: validate portfolio_businesses_portfolio_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE portfolio_businesses, ROW SHARE portfolios
ALTER TABLE portfolio_businesses VALIDATE CONSTRAINT portfolio_businesses_portfolio_id_fkey;

-- step: add portfolio_businesses_business_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE portfolio_businesses, SHARE ROW EXCLUSIVE businesses
ALTER TABLE portfolio_businesses
  DROP CONSTRAINT IF EXISTS portfolio_businesses_business_id_fkey,
  ADD CONSTRAINT portfolio_businesses_business_id_fkey
    FOREIGN KEY (business_id) REFERENCES businesses (id) ON DELETE CASCADE NOT VALID;

-- step: validate portfolio_businesses_business_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE portfolio_businesses, ROW SHARE businesses
ALTER TABLE portfolio_businesses VALIDATE CONSTRAINT portfolio_businesses_business_id_fkey;

-- step: add generated_reports_user_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE generated_reports, SHARE ROW EXCLUSIVE users
ALTER TABLE generated_reports
  DROP CONSTRAINT IF EXISTS generated_reports_user_id_fkey,
  ADD CONSTRAINT generated_reports_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;

-- step: validate generated_reports_user_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE generated_reports, ROW SHARE users
ALTER TABLE generated_reports VALIDATE CONSTRAINT generated_reports_user_id_fkey;

-- step: add generated_reports_business_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE generated_reports, SHARE ROW EXCLUSIVE businesses
ALTER TABLE generated_reports
  DROP CONSTRAINT IF EXISTS generated_reports_business_id_fkey,
  ADD CONSTRAINT generated_reports_business_id_fkey
    FOREIGN KEY (business_id) REFERENCES businesses (id) NOT VALID;

-- step: validate generated_reports_business_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE generated_reports, ROW SHARE businesses
ALTER TABLE generated_reports VALIDATE CONSTRAINT generated_reports_business_id_fkey;

-- step: add generated_reports_portfolio_id_fkey NOT VALID
-- locks: ACCESS EXCLUSIVE generated_reports, SHARE ROW EXCLUSIVE portfolios
ALTER TABLE generated_reports
  DROP CONSTRAINT IF EXISTS generated_reports_portfolio_id_fkey,
  ADD CONSTRAINT generated_reports_portfolio_id_fkey
    FOREIGN KEY (portfolio_id) REFERENCES portfolios (id) NOT VALID;

-- step: validate generated_reports_portfolio_id_fkey
-- locks: SHARE UPDATE EXCLUSIVE generated_reports, ROW SHARE portfolios
ALTER TABLE generated_reports VALIDATE CONSTRAINT generated_reports_portfolio_id_fkey;

-- step: subscription_analytics materialized view and its unique index
-- One row per plan. Usage counts rows of usage_metrics with metric_type
-- 'ai_analysis' dated in the current calendar month (at refresh time), attributed
-- to the usage row's subscription, or else to the user's newest active one.
-- The unique index is built plainly: the view is new and nothing reads it yet.
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
