-- Phase 1 (seed: "Schema Preparation", Story 1.1): subscription foundation.
--
-- What it does
--   1. The seed's subscription tables, column for column, WITHOUT their foreign
--      keys (the seed's REFERENCES clauses are added by phase 5 as NOT VALID +
--      VALIDATE, so this phase takes no lock at all on users). The seed's inline
--      UNIQUE on user_subscriptions.stripe_subscription_id stays.
--   2. A unique index on subscription_plans (name): phase 2 and the application
--      look plans up by name. It is built with the table (new, empty), before
--      the plans are inserted.
--   3. The initial plans Free / Professional / Enterprise, inserted only if missing.
--   4. The seed's two "critical performance indexes" for these tables, each built
--      CREATE INDEX CONCURRENTLY, outside any transaction, as its own step.
--      The tables are still empty at this point, so a plain build would be
--      instant too, but CONCURRENTLY is what the seed asks for and it stays
--      harmless if the application already writes to the tables (a re-run, or
--      a deployment that enabled subscriptions early).
--
-- Ids: VARCHAR with DEFAULT gen_random_uuid()::text (the seed writes
-- gen_random_uuid(), which PostgreSQL casts to varchar on assignment anyway).
-- JSON columns stay JSON as the seed defines them.
--
-- Locks on existing tables (users, businesses, health_metrics,
-- forecast_results): none. Every step touches only the tables created here.
--
-- Re-running: every statement is guarded (IF NOT EXISTS, NOT EXISTS). If a
-- concurrent build was interrupted, PostgreSQL leaves an INVALID index behind
-- under the same name and IF NOT EXISTS would then skip it. The migrator drops
-- such an index before building it again; with psql, the post-migration rule
-- "no invalid index" reports it: drop it (concurrently) and run again.
--
-- Down migration: rollback_phase_1.sql (drops the four tables, their indexes
-- and the plans with them).

-- step: subscription tables and the unique plan-name index
CREATE TABLE IF NOT EXISTS subscription_plans (
  id                VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
  name              VARCHAR NOT NULL,
  description       TEXT,
  price             DECIMAL(10, 2) NOT NULL,
  billing_period    VARCHAR NOT NULL,  -- 'monthly', 'yearly'
  ai_analysis_limit INTEGER,           -- NULL for unlimited
  features          JSON NOT NULL,
  is_active         BOOLEAN DEFAULT true,
  created_at        TIMESTAMP DEFAULT now(),
  updated_at        TIMESTAMP DEFAULT now()
);

CREATE TABLE IF NOT EXISTS user_subscriptions (
  id                     VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
  user_id                VARCHAR NOT NULL,  -- FK users(id) ON DELETE CASCADE: phase 5
  plan_id                VARCHAR NOT NULL,  -- FK subscription_plans(id): phase 5
  stripe_subscription_id VARCHAR UNIQUE,
  stripe_customer_id     VARCHAR,
  status                 VARCHAR NOT NULL DEFAULT 'active',
  current_period_start   TIMESTAMP,
  current_period_end     TIMESTAMP,
  trial_end              TIMESTAMP,
  created_at             TIMESTAMP DEFAULT now(),
  updated_at             TIMESTAMP DEFAULT now()
);

CREATE TABLE IF NOT EXISTS usage_metrics (
  id              VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
  user_id         VARCHAR NOT NULL,  -- FK users(id) ON DELETE CASCADE: phase 5
  subscription_id VARCHAR,           -- FK user_subscriptions(id): phase 5
  metric_type     VARCHAR NOT NULL,  -- 'ai_analysis', 'report_generation', etc.
  count           INTEGER DEFAULT 1,
  metadata        JSON,
  created_at      TIMESTAMP DEFAULT now(),
  date            DATE DEFAULT CURRENT_DATE
);

CREATE TABLE IF NOT EXISTS billing_transactions (
  id                       VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
  user_id                  VARCHAR NOT NULL,  -- FK users(id): phase 5
  subscription_id          VARCHAR,           -- FK user_subscriptions(id): phase 5
  stripe_payment_intent_id VARCHAR,
  amount                   DECIMAL(10, 2) NOT NULL,
  currency                 VARCHAR DEFAULT 'USD',
  status                   VARCHAR NOT NULL,
  transaction_type         VARCHAR NOT NULL,
  metadata                 JSON,
  created_at               TIMESTAMP DEFAULT now()
);

-- Plans are looked up by name (phase 2 and the application), so a name is
-- unique. Plain build: the table was created just above and holds no rows.
CREATE UNIQUE INDEX IF NOT EXISTS idx_subscription_plans_name ON subscription_plans (name);

-- step: initial plans Free, Professional, Enterprise
-- Fixed ids so demo data and tests can refer to them. A plan that already
-- exists under its name or its id is left untouched.
INSERT INTO subscription_plans (id, name, description, price, billing_period, ai_analysis_limit, features)
SELECT p.id, p.name, p.description, p.price, p.billing_period, p.ai_analysis_limit, p.features::json
FROM (VALUES
  ('plan_free', 'Free',
   'Try AI business analysis on a few listings.',
   0.00, 'monthly', 5,
   '{"ai_analysis": true, "session_types": ["health_analysis", "valuation", "forecast"], "forecast_horizon_months_max": 12, "portfolios": 1, "professional_reports": false, "custom_branding": false, "api_access": false, "priority_queue": false, "support": "community"}'),
  ('plan_professional', 'Professional',
   'For brokers and active buyers: more analyses, portfolios and branded reports.',
   49.00, 'monthly', 100,
   '{"ai_analysis": true, "session_types": ["health_analysis", "valuation", "forecast"], "forecast_horizon_months_max": 24, "portfolios": 10, "professional_reports": true, "custom_branding": false, "api_access": false, "priority_queue": false, "support": "email"}'),
  ('plan_enterprise', 'Enterprise',
   'Unlimited analyses, API access, custom branding and priority processing.',
   199.00, 'monthly', NULL,
   '{"ai_analysis": true, "session_types": ["health_analysis", "valuation", "forecast"], "forecast_horizon_months_max": 36, "portfolios": null, "professional_reports": true, "custom_branding": true, "api_access": true, "priority_queue": true, "support": "dedicated"}')
) AS p (id, name, description, price, billing_period, ai_analysis_limit, features)
WHERE NOT EXISTS (SELECT 1 FROM subscription_plans sp WHERE sp.name = p.name)
  AND NOT EXISTS (SELECT 1 FROM subscription_plans sp WHERE sp.id = p.id);

-- step: index idx_user_subscriptions_user_id (concurrently)
-- Seed critical index. SHARE UPDATE EXCLUSIVE on user_subscriptions only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_user_subscriptions_user_id
  ON user_subscriptions (user_id);

-- step: index idx_usage_metrics_user_date (concurrently)
-- Seed critical index. SHARE UPDATE EXCLUSIVE on usage_metrics only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_usage_metrics_user_date
  ON usage_metrics (user_id, date);
