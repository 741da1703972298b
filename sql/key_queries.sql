-- The application's key read queries, one statement each, timed (EXPLAIN
-- ANALYZE) before and after every phase to catch the seed's rollback trigger
-- "performance degradation > 20% on key queries". Timings go to
-- query_performance_samples (phase 5), named as in the "-- query:" lines.
--
-- Ids are psql variables, user_id and business_id, defaulting to the demo ids
-- (see demo/demo_data.sql) unless given on the command line:
--   psql -v ON_ERROR_STOP=1 "$DATABASE_URL" -f sql/key_queries.sql
--   psql -v ON_ERROR_STOP=1 -v user_id=usr_load_000001 -v business_id=biz_load_000001 \
--        "$DATABASE_URL" -f sql/key_queries.sql
-- The migrator ignores the backslash lines and substitutes both variables
-- itself, with ids it picks from the data.
--
-- Format: one statement per query, each ending with a semicolon at the end of
-- its last line, preceded by a "-- query:" comment line and a "-- needs:"
-- comment line naming the migration (baseline, phase_1 ... phase_5,
-- orchestrator) that must be applied for the query to run.
-- Comments contain no semicolons.

\if :{?user_id}
\else
\set user_id usr_demo_owner1
\endif
\if :{?business_id}
\else
\set business_id biz_demo_cafe
\endif

-- query: user_by_id
-- needs: baseline
SELECT id, email, name, user_type, status, first_name, last_name, company,
       subscription_tier, created_at, updated_at, last_login_at
FROM users
WHERE id = :'user_id';

-- query: businesses_by_owner (index idx_businesses_owner_id)
-- needs: baseline
SELECT id, title, industry, location, asking_price, revenue, profit, status, created_at
FROM businesses
WHERE owner_id = :'user_id'
ORDER BY created_at DESC;

-- query: latest_health_metrics (index idx_health_metrics_business_date)
-- needs: baseline
SELECT id, business_id, overall_score, growth_score, operational_score, financial_score,
       sale_readiness_score, confidence_level, trajectory, calculated_at
FROM health_metrics
WHERE business_id = :'business_id'
ORDER BY calculated_at DESC
LIMIT 1;

-- query: forecasts_by_business_type (index idx_forecast_results_business_type)
-- needs: baseline
SELECT id, forecast_period, predicted_value, confidence_interval_lower,
       confidence_interval_upper, confidence_score, model_used, created_at
FROM forecast_results
WHERE business_id = :'business_id' AND forecast_type = 'REVENUE'
ORDER BY forecast_period;

-- query: subscription_by_user (index idx_user_subscriptions_user_id)
-- needs: phase_1
SELECT us.id, us.user_id, us.status, us.current_period_start, us.current_period_end,
       us.trial_end, us.stripe_subscription_id, p.id AS plan_id, p.name AS plan_name,
       p.ai_analysis_limit, p.features
FROM user_subscriptions us
JOIN subscription_plans p ON p.id = us.plan_id
WHERE us.user_id = :'user_id' AND us.status = 'active'
ORDER BY us.created_at DESC
LIMIT 1;

-- query: financial_history_by_business (primary key of business_financial_periods)
-- needs: orchestrator
SELECT month, revenue, cost_of_goods_sold, operating_expenses, owner_compensation,
       interest_expense, debt_principal_paid, cash, total_debt, customers, new_customers,
       churned_customers, current_assets, current_liabilities, total_assets,
       retained_earnings, equity, accounts_receivable
FROM business_financial_periods
WHERE business_id = :'business_id'
ORDER BY month;
