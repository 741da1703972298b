-- Post-migration validation: run after 002..007 (phases 1-5 and the
-- orchestrator migration). Every statement returns one row with one count, and
-- every count must be 0.
-- Format (for tools that split this file): one statement per rule, each ending
-- with a semicolon at the end of its last line, preceded by a "-- rule:"
-- comment line and a "-- needs:" comment line. "-- needs: M" names the
-- migration (baseline, phase_1 ... phase_5, orchestrator) that must be applied
-- for the rule to run, and from which on it must return 0 (so a tool can run
-- the rules of a partly migrated database). The data rules for the phase 5
-- foreign keys need only the phase that created the tables: they report rows
-- that would make phase 5's VALIDATE steps fail before phase 5 runs.
-- Comments contain no semicolons.

-- rule: every user has a subscription (seed, phase 2)
-- needs: phase_2
SELECT COUNT(*) FROM users u
LEFT JOIN user_subscriptions us ON u.id = us.user_id
WHERE us.id IS NULL;

-- rule: every subscription belongs to an existing user (seed, FK user_subscriptions_user_id_fkey)
-- needs: phase_1
SELECT COUNT(*) FROM user_subscriptions
WHERE user_id NOT IN (SELECT id FROM users);

-- rule: the initial plans Free, Professional and Enterprise exist (phase 1)
-- needs: phase_1
SELECT COUNT(*) FROM (VALUES ('Free'), ('Professional'), ('Enterprise')) AS p (name)
WHERE NOT EXISTS (SELECT 1 FROM subscription_plans sp WHERE sp.name = p.name);

-- rule: FK user_subscriptions_plan_id_fkey, every subscription has an existing plan
-- needs: phase_1
SELECT COUNT(*) FROM user_subscriptions us
WHERE NOT EXISTS (SELECT 1 FROM subscription_plans p WHERE p.id = us.plan_id);

-- rule: FK usage_metrics_user_id_fkey
-- needs: phase_1
SELECT COUNT(*) FROM usage_metrics um
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = um.user_id);

-- rule: FK usage_metrics_subscription_id_fkey (when set)
-- needs: phase_1
SELECT COUNT(*) FROM usage_metrics um
WHERE um.subscription_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM user_subscriptions us WHERE us.id = um.subscription_id);

-- rule: FK billing_transactions_user_id_fkey
-- needs: phase_1
SELECT COUNT(*) FROM billing_transactions bt
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = bt.user_id);

-- rule: FK billing_transactions_subscription_id_fkey (when set)
-- needs: phase_1
SELECT COUNT(*) FROM billing_transactions bt
WHERE bt.subscription_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM user_subscriptions us WHERE us.id = bt.subscription_id);

-- rule: FK ai_analysis_sessions_user_id_fkey
-- needs: phase_3
SELECT COUNT(*) FROM ai_analysis_sessions s
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id);

-- rule: FK ai_analysis_sessions_business_id_fkey
-- needs: phase_3
SELECT COUNT(*) FROM ai_analysis_sessions s
WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = s.business_id);

-- rule: FK portfolios_user_id_fkey
-- needs: phase_3
SELECT COUNT(*) FROM portfolios p
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id);

-- rule: FK portfolio_businesses_portfolio_id_fkey
-- needs: phase_3
SELECT COUNT(*) FROM portfolio_businesses pb
WHERE NOT EXISTS (SELECT 1 FROM portfolios p WHERE p.id = pb.portfolio_id);

-- rule: FK portfolio_businesses_business_id_fkey
-- needs: phase_3
SELECT COUNT(*) FROM portfolio_businesses pb
WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = pb.business_id);

-- rule: FK generated_reports_user_id_fkey
-- needs: phase_4
SELECT COUNT(*) FROM generated_reports r
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id);

-- rule: FK generated_reports_business_id_fkey (when set)
-- needs: phase_4
SELECT COUNT(*) FROM generated_reports r
WHERE r.business_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = r.business_id);

-- rule: FK generated_reports_portfolio_id_fkey (when set)
-- needs: phase_4
SELECT COUNT(*) FROM generated_reports r
WHERE r.portfolio_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM portfolios p WHERE p.id = r.portfolio_id);

-- rule: FK session_events_session_id_fkey (007)
-- needs: orchestrator
SELECT COUNT(*) FROM session_events e
WHERE NOT EXISTS (SELECT 1 FROM ai_analysis_sessions s WHERE s.id = e.session_id);

-- rule: FK business_financial_periods_business_id_fkey (007)
-- needs: orchestrator
SELECT COUNT(*) FROM business_financial_periods f
WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = f.business_id);

-- rule: the 14 foreign keys of phase 5 exist, are validated, reference the right table with the right ON DELETE rule
-- needs: phase_5
SELECT 14 - COUNT(*)
FROM (VALUES
  ('user_subscriptions',   'user_subscriptions_user_id_fkey',           'users',              'c'),
  ('user_subscriptions',   'user_subscriptions_plan_id_fkey',           'subscription_plans', 'a'),
  ('usage_metrics',        'usage_metrics_user_id_fkey',                'users',              'c'),
  ('usage_metrics',        'usage_metrics_subscription_id_fkey',        'user_subscriptions', 'a'),
  ('billing_transactions', 'billing_transactions_user_id_fkey',         'users',              'a'),
  ('billing_transactions', 'billing_transactions_subscription_id_fkey', 'user_subscriptions', 'a'),
  ('ai_analysis_sessions', 'ai_analysis_sessions_user_id_fkey',         'users',              'a'),
  ('ai_analysis_sessions', 'ai_analysis_sessions_business_id_fkey',     'businesses',         'a'),
  ('portfolios',           'portfolios_user_id_fkey',                   'users',              'a'),
  ('portfolio_businesses', 'portfolio_businesses_portfolio_id_fkey',    'portfolios',         'c'),
  ('portfolio_businesses', 'portfolio_businesses_business_id_fkey',     'businesses',         'c'),
  ('generated_reports',    'generated_reports_user_id_fkey',            'users',              'a'),
  ('generated_reports',    'generated_reports_business_id_fkey',        'businesses',         'a'),
  ('generated_reports',    'generated_reports_portfolio_id_fkey',       'portfolios',         'a')
) AS e (tbl, conname, reftbl, on_delete)
JOIN pg_constraint c
  ON c.conrelid = to_regclass(e.tbl) AND c.conname = e.conname
 AND c.confrelid = to_regclass(e.reftbl) AND c.confdeltype::text = e.on_delete
WHERE c.contype = 'f' AND c.convalidated;

-- rule: the 2 foreign keys of 007 exist, are validated, reference the right table and cascade on delete
-- needs: orchestrator
SELECT 2 - COUNT(*)
FROM (VALUES
  ('session_events',             'session_events_session_id_fkey',              'ai_analysis_sessions'),
  ('business_financial_periods', 'business_financial_periods_business_id_fkey', 'businesses')
) AS e (tbl, conname, reftbl)
JOIN pg_constraint c
  ON c.conrelid = to_regclass(e.tbl) AND c.conname = e.conname
 AND c.confrelid = to_regclass(e.reftbl) AND c.confdeltype = 'c'
WHERE c.contype = 'f' AND c.convalidated;

-- rule: UNIQUE user_subscriptions.stripe_subscription_id (seed)
-- needs: phase_1
SELECT COUNT(*) FROM (
  SELECT stripe_subscription_id FROM user_subscriptions
  WHERE stripe_subscription_id IS NOT NULL
  GROUP BY stripe_subscription_id HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE subscription_plans.name (phase 1, idx_subscription_plans_name)
-- needs: phase_1
SELECT COUNT(*) FROM (
  SELECT name FROM subscription_plans GROUP BY name HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE portfolio_businesses (portfolio_id, business_id) (seed)
-- needs: phase_3
SELECT COUNT(*) FROM (
  SELECT portfolio_id, business_id FROM portfolio_businesses
  GROUP BY portfolio_id, business_id HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE ai_analysis_sessions (user_id, request_id) when set (007 globally, 008 per user)
-- needs: orchestrator
SELECT COUNT(*) FROM (
  SELECT user_id, request_id FROM ai_analysis_sessions
  WHERE request_id IS NOT NULL
  GROUP BY user_id, request_id HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE session_events (session_id, sequence), its primary key (007)
-- needs: orchestrator
SELECT COUNT(*) FROM (
  SELECT session_id, sequence FROM session_events
  GROUP BY session_id, sequence HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE business_financial_periods (business_id, month), its primary key (007)
-- needs: orchestrator
SELECT COUNT(*) FROM (
  SELECT business_id, month FROM business_financial_periods
  GROUP BY business_id, month HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE subscription_analytics.plan_id, one row per plan (phase 5, needed for REFRESH CONCURRENTLY)
-- needs: phase_5
SELECT COUNT(*) FROM (
  SELECT plan_id FROM subscription_analytics GROUP BY plan_id HAVING COUNT(*) > 1
) d;

-- rule: CHECKs on ai_analysis_sessions (status, session_type, progress 0-100, attempt, history_source) hold (007)
-- needs: orchestrator
SELECT COUNT(*) FROM ai_analysis_sessions
WHERE status NOT IN ('pending', 'running', 'completed', 'failed', 'cancelled')
   OR session_type NOT IN ('health_analysis', 'valuation', 'forecast')
   OR progress_percentage NOT BETWEEN 0 AND 100
   OR attempt < 0
   OR history_source NOT IN ('stored', 'inline');

-- rule: the 5 CHECK constraints of 007 on ai_analysis_sessions exist and are validated
-- needs: orchestrator
SELECT 5 - COUNT(*) FROM pg_constraint
WHERE conrelid = to_regclass('ai_analysis_sessions') AND contype = 'c' AND convalidated
  AND conname IN ('ai_analysis_sessions_status_check', 'ai_analysis_sessions_session_type_check',
                  'ai_analysis_sessions_progress_percentage_check', 'ai_analysis_sessions_attempt_check',
                  'ai_analysis_sessions_history_source_check');

-- rule: the seed's critical indexes of phase 1 exist and are valid (2 expected)
-- needs: phase_1
SELECT 2 - COUNT(*) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relnamespace = 'public'::regnamespace AND i.indisvalid
  AND c.relname IN ('idx_user_subscriptions_user_id', 'idx_usage_metrics_user_date');

-- rule: the seed's critical indexes of phase 3 and its usage index exist and are valid (3 expected)
-- needs: phase_3
SELECT 3 - COUNT(*) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relnamespace = 'public'::regnamespace AND i.indisvalid
  AND c.relname IN ('idx_ai_sessions_user_status', 'idx_portfolios_user_default',
                    'idx_usage_metrics_type_date');

-- rule: the 3 indexes of 007 on ai_analysis_sessions that 008 and 010 keep exist and are valid
-- needs: orchestrator
SELECT 3 - COUNT(*) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indisvalid
  AND c.relname IN ('idx_ai_sessions_created', 'idx_ai_sessions_business_created',
                    'idx_ai_sessions_lease');

-- rule: claims find pending sessions on an index: 007's idx_ai_sessions_claim or 010's idx_ai_sessions_pending_user
-- needs: orchestrator
SELECT 1 - LEAST(COUNT(*), 1) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indisvalid
  AND c.relname IN ('idx_ai_sessions_claim', 'idx_ai_sessions_pending_user');

-- rule: CreateSession idempotency has a unique index, global (007) or per user (008)
-- needs: orchestrator
SELECT 1 - COUNT(*) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indisvalid AND i.indisunique
  AND c.relname IN ('idx_ai_sessions_request_id', 'idx_ai_sessions_user_request_id');

-- rule: FK session_attempts_session_id_fkey (008)
-- needs: durability
SELECT COUNT(*) FROM session_attempts a
WHERE NOT EXISTS (SELECT 1 FROM ai_analysis_sessions s WHERE s.id = a.session_id);

-- rule: a session's attempts never overlap in time (008: one worker at a time)
-- needs: durability
SELECT COUNT(*) FROM session_attempts a
JOIN session_attempts b ON b.session_id = a.session_id AND b.attempt > a.attempt
WHERE a.ended_at IS NULL OR b.claimed_at < a.ended_at;

-- rule: no INVALID index in schema public (an interrupted CREATE INDEX CONCURRENTLY leaves one, drop it and build again)
-- needs: baseline
SELECT COUNT(*) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisvalid;

-- rule: billing integration, no active paid subscription lacks its Stripe ids (phase 5 view)
-- needs: phase_5
SELECT COUNT(*) FROM billing_integration_issues;

-- rule: row-level security is on for every tenant table (009)
-- needs: tenancy
SELECT COUNT(*) FROM (VALUES ('ai_analysis_sessions'), ('session_events'), ('session_attempts'), ('usage_metrics'), ('user_subscriptions'), ('users'), ('businesses'), ('business_financial_periods'), ('health_metrics'), ('forecast_results')) AS t (name)
WHERE NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relname = t.name AND c.relrowsecurity);

-- rule: every tenant table has its restrictive tenant policy for goodbuy_server (009)
-- needs: tenancy
SELECT COUNT(*) FROM (VALUES ('ai_analysis_sessions'), ('session_events'), ('session_attempts'), ('usage_metrics'), ('user_subscriptions'), ('users'), ('businesses'), ('business_financial_periods'), ('health_metrics'), ('forecast_results')) AS t (name)
WHERE NOT EXISTS (SELECT 1 FROM pg_policies p WHERE p.schemaname = 'public' AND p.tablename = t.name AND p.policyname = t.name || '_tenant' AND p.permissive = 'RESTRICTIVE' AND 'goodbuy_server' = ANY (p.roles));

-- rule: the server's role exists and can bypass neither row-level security nor anything else (009)
-- needs: tenancy
SELECT COUNT(*) FROM (SELECT 1 AS missing WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'goodbuy_server') UNION ALL SELECT 1 FROM pg_roles WHERE rolname = 'goodbuy_server' AND (rolsuper OR rolbypassrls)) AS v;

-- rule: the fair claim's index exists and is valid (010)
-- needs: claim_queue
SELECT COUNT(*) FROM (SELECT 1 AS missing WHERE NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'idx_ai_sessions_pending_user' AND i.indisvalid)) AS v;
