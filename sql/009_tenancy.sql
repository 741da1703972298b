-- 009_tenancy: row-level security, so that a bug in the service layer cannot
-- leak one customer's rows to another (defence in depth under the checks the
-- server makes itself; docs/security.md).
--
-- 1. Role goodbuy_server (NOLOGIN, NOSUPERUSER, NOBYPASSRLS): the server logs
--    in with DATABASE_URL's user and runs SET ROLE goodbuy_server on every
--    connection (--db_role), so the policies apply even when the login user
--    owns the tables. It gets the DML it needs on the tables, now and later.
-- 2. The server sets two settings on its connection before every unit of
--    work (server/store/pg/pg_pool.cc), and the policies read them:
--      goodbuy.scope    'user' | 'service' | 'admin' | 'system'
--      goodbuy.user_id  the caller's users.id when the scope is 'user'
--    Unset or unknown: the scope sees NOTHING. 'service', 'admin' and
--    'system' (claims, leases, jobs) see every tenant; a 'user' sees the
--    businesses they own, their data, and the sessions of those businesses
--    or billed to them.
-- 3. On each tenant table: ROW LEVEL SECURITY (not FORCE: the owner and the
--    migrations are unaffected), a PERMISSIVE policy for every role that lets
--    everything through (so the GoodBuy web app and any other role see what
--    they saw before) and a RESTRICTIVE policy for goodbuy_server only.
--    subscription_plans stays open: it is the public catalogue.
--    Each tenant policy starts with goodbuy_tenant_sees_all(), which the
--    planner inlines: service, admin and system work pay one setting lookup
--    per row, and the functions with a subquery (sees_business,
--    sees_session), which it cannot inline, run for 'user' scopes only
--    (docs/benchmarks.md#row-level-security).
-- 4. idx_ai_sessions_user_created for the plan-limit count (a user's
--    sessions created in a billing period).
--
-- Locks: CREATE POLICY and ENABLE ROW LEVEL SECURITY take ACCESS EXCLUSIVE on
-- their table for an instant (catalogue only, no rewrite, no scan); each is
-- its own one-statement step under the migrator's lock_timeout with
-- retries. Both policies exist before row-level security is switched on, so
-- no role is ever denied what it could read before, and goodbuy_server is
-- never without its tenant policy. The
-- index is built CONCURRENTLY. Roles are cluster-wide: creating goodbuy_server
-- needs CREATEROLE once per cluster (or a DBA creates it first).
--
-- Down migration: rollback_tenancy.sql. Safe to re-run.

-- step: role goodbuy_server
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'goodbuy_server') THEN
    BEGIN
      CREATE ROLE goodbuy_server NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
    EXCEPTION
      WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another database of this cluster created it just now
      WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'cannot create role goodbuy_server: ask a DBA to run '
          '"CREATE ROLE goodbuy_server NOLOGIN NOBYPASSRLS", then migrate again';
    END;
  END IF;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
     AND NOT pg_has_role(current_user, 'goodbuy_server', 'MEMBER') THEN
    BEGIN
      EXECUTE format('GRANT goodbuy_server TO %I', current_user);
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'grant goodbuy_server to the role the server logs in as';
    END;
  END IF;
END
$$;

-- step: privileges of goodbuy_server
GRANT USAGE ON SCHEMA public TO goodbuy_server;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO goodbuy_server;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO goodbuy_server;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO goodbuy_server;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO goodbuy_server;

-- step: tenant functions
CREATE OR REPLACE FUNCTION goodbuy_tenant_sees_all() RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(current_setting('goodbuy.scope', true) IN ('system', 'admin', 'service'), false)
$$;

CREATE OR REPLACE FUNCTION goodbuy_tenant_sees_user(owner varchar) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT goodbuy_tenant_sees_all()
      OR coalesce(current_setting('goodbuy.scope', true) = 'user'
                  AND owner = nullif(current_setting('goodbuy.user_id', true), ''), false)
$$;

CREATE OR REPLACE FUNCTION goodbuy_tenant_sees_business(business varchar) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT goodbuy_tenant_sees_all()
      OR EXISTS (SELECT 1 FROM businesses b
                 WHERE b.id = business AND goodbuy_tenant_sees_user(b.owner_id))
$$;

CREATE OR REPLACE FUNCTION goodbuy_tenant_sees_session(session varchar) RETURNS boolean
  LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT goodbuy_tenant_sees_all()
      OR EXISTS (SELECT 1 FROM ai_analysis_sessions s WHERE s.id = session)
$$;

-- step: ai_analysis_sessions: tenant policy (billed to the user, or of a business the user owns)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'ai_analysis_sessions' AND policyname = 'ai_analysis_sessions_tenant') THEN
    CREATE POLICY ai_analysis_sessions_tenant ON ai_analysis_sessions
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_user(user_id) OR goodbuy_tenant_sees_business(business_id))
      WITH CHECK (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_user(user_id) OR goodbuy_tenant_sees_business(business_id));
  END IF;
END
$$;

-- step: ai_analysis_sessions: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'ai_analysis_sessions' AND policyname = 'ai_analysis_sessions_any_role') THEN
    CREATE POLICY ai_analysis_sessions_any_role ON ai_analysis_sessions
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: ai_analysis_sessions: enable row-level security
ALTER TABLE ai_analysis_sessions ENABLE ROW LEVEL SECURITY;

-- step: session_events: tenant policy (visible with its session (the subquery is itself under the sessions policy))
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'session_events' AND policyname = 'session_events_tenant') THEN
    CREATE POLICY session_events_tenant ON session_events
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_session(session_id))
      WITH CHECK (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_session(session_id));
  END IF;
END
$$;

-- step: session_events: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'session_events' AND policyname = 'session_events_any_role') THEN
    CREATE POLICY session_events_any_role ON session_events
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: session_events: enable row-level security
ALTER TABLE session_events ENABLE ROW LEVEL SECURITY;

-- step: session_attempts: tenant policy (visible with its session)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'session_attempts' AND policyname = 'session_attempts_tenant') THEN
    CREATE POLICY session_attempts_tenant ON session_attempts
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_session(session_id))
      WITH CHECK (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_session(session_id));
  END IF;
END
$$;

-- step: session_attempts: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'session_attempts' AND policyname = 'session_attempts_any_role') THEN
    CREATE POLICY session_attempts_any_role ON session_attempts
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: session_attempts: enable row-level security
ALTER TABLE session_attempts ENABLE ROW LEVEL SECURITY;

-- step: usage_metrics: tenant policy (the users own)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'usage_metrics' AND policyname = 'usage_metrics_tenant') THEN
    CREATE POLICY usage_metrics_tenant ON usage_metrics
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_user(user_id))
      WITH CHECK (goodbuy_tenant_sees_user(user_id));
  END IF;
END
$$;

-- step: usage_metrics: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'usage_metrics' AND policyname = 'usage_metrics_any_role') THEN
    CREATE POLICY usage_metrics_any_role ON usage_metrics
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: usage_metrics: enable row-level security
ALTER TABLE usage_metrics ENABLE ROW LEVEL SECURITY;

-- step: user_subscriptions: tenant policy (the users own)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'user_subscriptions' AND policyname = 'user_subscriptions_tenant') THEN
    CREATE POLICY user_subscriptions_tenant ON user_subscriptions
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_user(user_id))
      WITH CHECK (goodbuy_tenant_sees_user(user_id));
  END IF;
END
$$;

-- step: user_subscriptions: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'user_subscriptions' AND policyname = 'user_subscriptions_any_role') THEN
    CREATE POLICY user_subscriptions_any_role ON user_subscriptions
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: user_subscriptions: enable row-level security
ALTER TABLE user_subscriptions ENABLE ROW LEVEL SECURITY;

-- step: users: tenant policy (the users own row)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'users' AND policyname = 'users_tenant') THEN
    CREATE POLICY users_tenant ON users
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_user(id))
      WITH CHECK (goodbuy_tenant_sees_user(id));
  END IF;
END
$$;

-- step: users: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'users' AND policyname = 'users_any_role') THEN
    CREATE POLICY users_any_role ON users
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: users: enable row-level security
ALTER TABLE users ENABLE ROW LEVEL SECURITY;

-- step: businesses: tenant policy (the businesses the user owns)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'businesses' AND policyname = 'businesses_tenant') THEN
    CREATE POLICY businesses_tenant ON businesses
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_user(owner_id))
      WITH CHECK (goodbuy_tenant_sees_user(owner_id));
  END IF;
END
$$;

-- step: businesses: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'businesses' AND policyname = 'businesses_any_role') THEN
    CREATE POLICY businesses_any_role ON businesses
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: businesses: enable row-level security
ALTER TABLE businesses ENABLE ROW LEVEL SECURITY;

-- step: business_financial_periods: tenant policy (of the users businesses)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'business_financial_periods' AND policyname = 'business_financial_periods_tenant') THEN
    CREATE POLICY business_financial_periods_tenant ON business_financial_periods
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_business(business_id))
      WITH CHECK (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_business(business_id));
  END IF;
END
$$;

-- step: business_financial_periods: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'business_financial_periods' AND policyname = 'business_financial_periods_any_role') THEN
    CREATE POLICY business_financial_periods_any_role ON business_financial_periods
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: business_financial_periods: enable row-level security
ALTER TABLE business_financial_periods ENABLE ROW LEVEL SECURITY;

-- step: health_metrics: tenant policy (of the users businesses)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'health_metrics' AND policyname = 'health_metrics_tenant') THEN
    CREATE POLICY health_metrics_tenant ON health_metrics
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_business(business_id))
      WITH CHECK (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_business(business_id));
  END IF;
END
$$;

-- step: health_metrics: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'health_metrics' AND policyname = 'health_metrics_any_role') THEN
    CREATE POLICY health_metrics_any_role ON health_metrics
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: health_metrics: enable row-level security
ALTER TABLE health_metrics ENABLE ROW LEVEL SECURITY;

-- step: forecast_results: tenant policy (of the users businesses)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'forecast_results' AND policyname = 'forecast_results_tenant') THEN
    CREATE POLICY forecast_results_tenant ON forecast_results
      AS RESTRICTIVE FOR ALL TO goodbuy_server
      USING (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_business(business_id))
      WITH CHECK (goodbuy_tenant_sees_all() OR goodbuy_tenant_sees_business(business_id));
  END IF;
END
$$;

-- step: forecast_results: policy for every other role (unchanged access)
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE schemaname = 'public'
                 AND tablename = 'forecast_results' AND policyname = 'forecast_results_any_role') THEN
    CREATE POLICY forecast_results_any_role ON forecast_results
      AS PERMISSIVE FOR ALL TO PUBLIC USING (true) WITH CHECK (true);
  END IF;
END
$$;

-- step: forecast_results: enable row-level security
ALTER TABLE forecast_results ENABLE ROW LEVEL SECURITY;

-- step: index idx_ai_sessions_user_created (concurrently)
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_user_created
  ON ai_analysis_sessions (user_id, created_at);
