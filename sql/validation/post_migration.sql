-- Post-migration validation: run after 002..007 (phases 1-5 and the
-- orchestrator migration). Every statement returns one row with one count, and
-- every count must be 0.
-- Format (for tools that split this file): one statement per rule, each ending
-- with a semicolon at the end of its last line, preceded by a "-- rule:" comment.
-- Comments contain no semicolons.

-- rule: every user has a subscription (seed, phase 2)
SELECT COUNT(*) FROM users u
LEFT JOIN user_subscriptions us ON u.id = us.user_id
WHERE us.id IS NULL;

-- rule: every subscription belongs to an existing user (seed, FK user_subscriptions_user_id_fkey)
SELECT COUNT(*) FROM user_subscriptions
WHERE user_id NOT IN (SELECT id FROM users);

-- rule: the initial plans Free, Professional and Enterprise exist (phase 1)
SELECT COUNT(*) FROM (VALUES ('Free'), ('Professional'), ('Enterprise')) AS p (name)
WHERE NOT EXISTS (SELECT 1 FROM subscription_plans sp WHERE sp.name = p.name);

-- rule: FK user_subscriptions_plan_id_fkey, every subscription has an existing plan
SELECT COUNT(*) FROM user_subscriptions us
WHERE NOT EXISTS (SELECT 1 FROM subscription_plans p WHERE p.id = us.plan_id);

-- rule: FK usage_metrics_user_id_fkey
SELECT COUNT(*) FROM usage_metrics um
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = um.user_id);

-- rule: FK usage_metrics_subscription_id_fkey (when set)
SELECT COUNT(*) FROM usage_metrics um
WHERE um.subscription_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM user_subscriptions us WHERE us.id = um.subscription_id);

-- rule: FK billing_transactions_user_id_fkey
SELECT COUNT(*) FROM billing_transactions bt
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = bt.user_id);

-- rule: FK billing_transactions_subscription_id_fkey (when set)
SELECT COUNT(*) FROM billing_transactions bt
WHERE bt.subscription_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM user_subscriptions us WHERE us.id = bt.subscription_id);

-- rule: FK ai_analysis_sessions_user_id_fkey
SELECT COUNT(*) FROM ai_analysis_sessions s
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = s.user_id);

-- rule: FK ai_analysis_sessions_business_id_fkey
SELECT COUNT(*) FROM ai_analysis_sessions s
WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = s.business_id);

-- rule: FK portfolios_user_id_fkey
SELECT COUNT(*) FROM portfolios p
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = p.user_id);

-- rule: FK portfolio_businesses_portfolio_id_fkey
SELECT COUNT(*) FROM portfolio_businesses pb
WHERE NOT EXISTS (SELECT 1 FROM portfolios p WHERE p.id = pb.portfolio_id);

-- rule: FK portfolio_businesses_business_id_fkey
SELECT COUNT(*) FROM portfolio_businesses pb
WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = pb.business_id);

-- rule: FK generated_reports_user_id_fkey
SELECT COUNT(*) FROM generated_reports r
WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = r.user_id);

-- rule: FK generated_reports_business_id_fkey (when set)
SELECT COUNT(*) FROM generated_reports r
WHERE r.business_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = r.business_id);

-- rule: FK generated_reports_portfolio_id_fkey (when set)
SELECT COUNT(*) FROM generated_reports r
WHERE r.portfolio_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM portfolios p WHERE p.id = r.portfolio_id);

-- rule: FK session_events_session_id_fkey (007)
SELECT COUNT(*) FROM session_events e
WHERE NOT EXISTS (SELECT 1 FROM ai_analysis_sessions s WHERE s.id = e.session_id);

-- rule: FK business_financial_periods_business_id_fkey (007)
SELECT COUNT(*) FROM business_financial_periods f
WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.id = f.business_id);

-- rule: every foreign key added by phase 5 and 007 exists and is validated (16 expected)
SELECT 16 - COUNT(*) FROM pg_constraint
WHERE contype = 'f' AND convalidated
  AND conname IN ('user_subscriptions_user_id_fkey', 'user_subscriptions_plan_id_fkey',
                  'usage_metrics_user_id_fkey', 'usage_metrics_subscription_id_fkey',
                  'billing_transactions_user_id_fkey', 'billing_transactions_subscription_id_fkey',
                  'ai_analysis_sessions_user_id_fkey', 'ai_analysis_sessions_business_id_fkey',
                  'portfolios_user_id_fkey', 'portfolio_businesses_portfolio_id_fkey',
                  'portfolio_businesses_business_id_fkey', 'generated_reports_user_id_fkey',
                  'generated_reports_business_id_fkey', 'generated_reports_portfolio_id_fkey',
                  'session_events_session_id_fkey', 'business_financial_periods_business_id_fkey');

-- rule: UNIQUE user_subscriptions.stripe_subscription_id (seed)
SELECT COUNT(*) FROM (
  SELECT stripe_subscription_id FROM user_subscriptions
  WHERE stripe_subscription_id IS NOT NULL
  GROUP BY stripe_subscription_id HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE subscription_plans.name (phase 1, idx_subscription_plans_name)
SELECT COUNT(*) FROM (
  SELECT name FROM subscription_plans GROUP BY name HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE portfolio_businesses (portfolio_id, business_id) (seed)
SELECT COUNT(*) FROM (
  SELECT portfolio_id, business_id FROM portfolio_businesses
  GROUP BY portfolio_id, business_id HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE ai_analysis_sessions.request_id when set (007, idx_ai_sessions_request_id)
SELECT COUNT(*) FROM (
  SELECT request_id FROM ai_analysis_sessions
  WHERE request_id IS NOT NULL
  GROUP BY request_id HAVING COUNT(*) > 1
) d;

-- rule: UNIQUE subscription_analytics.plan_id, one row per plan (phase 5, needed for REFRESH CONCURRENTLY)
SELECT COUNT(*) FROM (
  SELECT plan_id FROM subscription_analytics GROUP BY plan_id HAVING COUNT(*) > 1
) d;

-- rule: CHECKs on ai_analysis_sessions (status, session_type, progress 0-100) hold (007)
SELECT COUNT(*) FROM ai_analysis_sessions
WHERE status NOT IN ('pending', 'running', 'completed', 'failed', 'cancelled')
   OR session_type NOT IN ('health_analysis', 'valuation', 'forecast')
   OR progress_percentage NOT BETWEEN 0 AND 100;

-- rule: billing integration, no active paid subscription lacks its Stripe ids (phase 5 view)
SELECT COUNT(*) FROM billing_integration_issues;
