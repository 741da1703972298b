-- Rollback of 009_tenancy.sql, in reverse order. Run before
-- rollback_durability.sql. Safe to re-run.
--
-- The role goodbuy_server stays, with no privileges left in this database:
-- roles are cluster-wide and other databases of the cluster may use it (a
-- DBA drops it with DROP ROLE goodbuy_server once none does). It can log in
-- to nothing (NOLOGIN).

-- step: drop index idx_ai_sessions_user_created (concurrently)
DROP INDEX CONCURRENTLY IF EXISTS idx_ai_sessions_user_created;

-- step: forecast_results: disable row-level security
ALTER TABLE IF EXISTS forecast_results DISABLE ROW LEVEL SECURITY;

-- step: forecast_results: drop the policy for every other role
DROP POLICY IF EXISTS forecast_results_any_role ON forecast_results;

-- step: forecast_results: drop the tenant policy
DROP POLICY IF EXISTS forecast_results_tenant ON forecast_results;

-- step: health_metrics: disable row-level security
ALTER TABLE IF EXISTS health_metrics DISABLE ROW LEVEL SECURITY;

-- step: health_metrics: drop the policy for every other role
DROP POLICY IF EXISTS health_metrics_any_role ON health_metrics;

-- step: health_metrics: drop the tenant policy
DROP POLICY IF EXISTS health_metrics_tenant ON health_metrics;

-- step: business_financial_periods: disable row-level security
ALTER TABLE IF EXISTS business_financial_periods DISABLE ROW LEVEL SECURITY;

-- step: business_financial_periods: drop the policy for every other role
DROP POLICY IF EXISTS business_financial_periods_any_role ON business_financial_periods;

-- step: business_financial_periods: drop the tenant policy
DROP POLICY IF EXISTS business_financial_periods_tenant ON business_financial_periods;

-- step: businesses: disable row-level security
ALTER TABLE IF EXISTS businesses DISABLE ROW LEVEL SECURITY;

-- step: businesses: drop the policy for every other role
DROP POLICY IF EXISTS businesses_any_role ON businesses;

-- step: businesses: drop the tenant policy
DROP POLICY IF EXISTS businesses_tenant ON businesses;

-- step: users: disable row-level security
ALTER TABLE IF EXISTS users DISABLE ROW LEVEL SECURITY;

-- step: users: drop the policy for every other role
DROP POLICY IF EXISTS users_any_role ON users;

-- step: users: drop the tenant policy
DROP POLICY IF EXISTS users_tenant ON users;

-- step: user_subscriptions: disable row-level security
ALTER TABLE IF EXISTS user_subscriptions DISABLE ROW LEVEL SECURITY;

-- step: user_subscriptions: drop the policy for every other role
DROP POLICY IF EXISTS user_subscriptions_any_role ON user_subscriptions;

-- step: user_subscriptions: drop the tenant policy
DROP POLICY IF EXISTS user_subscriptions_tenant ON user_subscriptions;

-- step: usage_metrics: disable row-level security
ALTER TABLE IF EXISTS usage_metrics DISABLE ROW LEVEL SECURITY;

-- step: usage_metrics: drop the policy for every other role
DROP POLICY IF EXISTS usage_metrics_any_role ON usage_metrics;

-- step: usage_metrics: drop the tenant policy
DROP POLICY IF EXISTS usage_metrics_tenant ON usage_metrics;

-- step: session_attempts: disable row-level security
ALTER TABLE IF EXISTS session_attempts DISABLE ROW LEVEL SECURITY;

-- step: session_attempts: drop the policy for every other role
DROP POLICY IF EXISTS session_attempts_any_role ON session_attempts;

-- step: session_attempts: drop the tenant policy
DROP POLICY IF EXISTS session_attempts_tenant ON session_attempts;

-- step: session_events: disable row-level security
ALTER TABLE IF EXISTS session_events DISABLE ROW LEVEL SECURITY;

-- step: session_events: drop the policy for every other role
DROP POLICY IF EXISTS session_events_any_role ON session_events;

-- step: session_events: drop the tenant policy
DROP POLICY IF EXISTS session_events_tenant ON session_events;

-- step: ai_analysis_sessions: disable row-level security
ALTER TABLE IF EXISTS ai_analysis_sessions DISABLE ROW LEVEL SECURITY;

-- step: ai_analysis_sessions: drop the policy for every other role
DROP POLICY IF EXISTS ai_analysis_sessions_any_role ON ai_analysis_sessions;

-- step: ai_analysis_sessions: drop the tenant policy
DROP POLICY IF EXISTS ai_analysis_sessions_tenant ON ai_analysis_sessions;

-- step: drop the tenant functions
DROP FUNCTION IF EXISTS goodbuy_tenant_sees_session(varchar);
DROP FUNCTION IF EXISTS goodbuy_tenant_sees_business(varchar);
DROP FUNCTION IF EXISTS goodbuy_tenant_sees_user(varchar);
DROP FUNCTION IF EXISTS goodbuy_tenant_sees_all();

-- step: revoke the privileges of goodbuy_server
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'goodbuy_server') THEN
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
      REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM goodbuy_server;
    ALTER DEFAULT PRIVILEGES IN SCHEMA public
      REVOKE USAGE, SELECT ON SEQUENCES FROM goodbuy_server;
    REVOKE ALL ON ALL TABLES IN SCHEMA public FROM goodbuy_server;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM goodbuy_server;
    REVOKE USAGE ON SCHEMA public FROM goodbuy_server;
  END IF;
END
$$;
