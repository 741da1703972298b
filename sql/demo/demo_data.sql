-- Demo data for the quickstart and manual testing. Not a migration: loaded with
--   psql -v ON_ERROR_STOP=1 "$DATABASE_URL" -f sql/demo/demo_data.sql
-- after 001..007 have been applied. Idempotent: fixed ids, ON CONFLICT DO NOTHING
-- (rows that already exist are left as they are).
--
-- Fixed ids
--   users (password-less demo accounts)
--     usr_demo_owner1   Dana Reyes      BUSINESS_OWNER  Professional  owns biz_demo_cafe
--     usr_demo_owner2   Sam Whitaker    BUSINESS_OWNER  Free          owns biz_demo_retail
--     usr_demo_owner3   Luca Moretti    BUSINESS_OWNER  Free          owns biz_demo_restaurant
--     usr_demo_owner4   Priya Natarajan BUSINESS_OWNER  Free          owns biz_demo_agency
--     usr_demo_broker   Morgan Lee      BROKER          Enterprise    portfolio_demo_broker (all four)
--   businesses, each with 48 months of business_financial_periods ending with the
--   month before the current month (relative to CURRENT_DATE at load time):
--     biz_demo_cafe        Harbor Lane Cafe: healthy, growing ~15%/yr, summer peak,
--                          small term loan being repaid
--     biz_demo_retail      Summit Outdoor Supply: seasonal retailer (December peak,
--                          June trough), flat-ish, seasonal credit line
--     biz_demo_restaurant  Riverside Grill: struggling, revenue falling ~13%/yr,
--                          rising food cost, heavy and growing debt, cash running out
--     biz_demo_agency      Northwind Digital: steady services firm, ~7%/yr growth,
--                          balance-sheet items (current assets/liabilities, total
--                          assets, retained earnings, equity, receivables) filled in
--   subscriptions sub_demo_owner1..4, sub_demo_broker, health_metrics hm_demo_*.
--
-- All monthly figures are deterministic formulas of the month index i (0 = oldest,
-- 47 = last month) and the calendar month (seasonality via sin()::numeric). Loading again
-- in a later month adds the newly missing month(s) and keeps the older rows.

-- Users -------------------------------------------------------------------
INSERT INTO users (id, email, name, user_type, status, first_name, last_name, company,
                   subscription_tier, created_at, updated_at)
VALUES
  ('usr_demo_owner1', 'dana.reyes@demo.goodbuyhq.test',      'Dana Reyes',      'BUSINESS_OWNER', 'ACTIVE', 'Dana',  'Reyes',      'Harbor Lane Cafe LLC',       'PROFESSIONAL', now(), now()),
  ('usr_demo_owner2', 'sam.whitaker@demo.goodbuyhq.test',    'Sam Whitaker',    'BUSINESS_OWNER', 'ACTIVE', 'Sam',   'Whitaker',   'Summit Outdoor Supply Inc.', 'FREE',         now(), now()),
  ('usr_demo_owner3', 'luca.moretti@demo.goodbuyhq.test',    'Luca Moretti',    'BUSINESS_OWNER', 'ACTIVE', 'Luca',  'Moretti',    'Riverside Grill LLC',        'FREE',         now(), now()),
  ('usr_demo_owner4', 'priya.natarajan@demo.goodbuyhq.test', 'Priya Natarajan', 'BUSINESS_OWNER', 'ACTIVE', 'Priya', 'Natarajan',  'Northwind Digital LLC',      'FREE',         now(), now()),
  ('usr_demo_broker', 'morgan.lee@demo.goodbuyhq.test',      'Morgan Lee',      'BROKER',         'ACTIVE', 'Morgan','Lee',        'Lee Business Brokers',       'ENTERPRISE',   now(), now())
ON CONFLICT DO NOTHING;

-- Subscriptions (only for demo users that have none yet) --------------------
INSERT INTO user_subscriptions (id, user_id, plan_id, stripe_subscription_id, stripe_customer_id,
                                status, current_period_start, current_period_end)
SELECT s.id, s.user_id, p.id, s.stripe_subscription_id, s.stripe_customer_id, 'active',
       date_trunc('month', now())::timestamp,
       date_trunc('month', now())::timestamp + interval '1 month'
FROM (VALUES
  ('sub_demo_owner1', 'usr_demo_owner1', 'Professional', 'sub_demo_stripe_owner1', 'cus_demo_owner1'),
  ('sub_demo_owner2', 'usr_demo_owner2', 'Free',         NULL,                     NULL),
  ('sub_demo_owner3', 'usr_demo_owner3', 'Free',         NULL,                     NULL),
  ('sub_demo_owner4', 'usr_demo_owner4', 'Free',         NULL,                     NULL),
  ('sub_demo_broker', 'usr_demo_broker', 'Enterprise',   'sub_demo_stripe_broker', 'cus_demo_broker')
) AS s (id, user_id, plan_name, stripe_subscription_id, stripe_customer_id)
JOIN subscription_plans p ON p.name = s.plan_name
WHERE NOT EXISTS (SELECT 1 FROM user_subscriptions us WHERE us.user_id = s.user_id)
ON CONFLICT DO NOTHING;

-- Businesses (headline figures are roughly the trailing twelve months) ------
INSERT INTO businesses (id, title, description, industry, location, asking_price, revenue, profit,
                        cash_flow, ebitda, total_assets, liabilities, monthly_revenue, gross_margin,
                        net_margin, employees, established, status, country, owner_id,
                        created_at, updated_at)
SELECT v.id, v.title, v.description, v.industry, v.location, v.asking_price, v.revenue, v.profit,
       v.cash_flow, v.ebitda, v.total_assets, v.liabilities, v.monthly_revenue, v.gross_margin,
       v.net_margin, v.employees, v.established::timestamp, v.status::"BusinessStatus", v.country,
       v.owner_id, now(), now()
FROM (VALUES
  ('biz_demo_cafe', 'Harbor Lane Cafe',
   'Neighbourhood specialty coffee shop and bakery with a loyal regular base, growing catering sideline and a lease through 2031.',
   'Food & Beverage', 'Portland, ME', 650000, 750000, 170000, 180000, 175000, NULL, 10000, 66000,
   0.69, 0.23, 14, '2016-04-01', 'ACTIVE', 'US', 'usr_demo_owner1'),
  ('biz_demo_retail', 'Summit Outdoor Supply',
   'Independent outdoor and ski gear retailer with strong holiday and winter season, e-commerce storefront and rental program.',
   'Retail', 'Boulder, CO', 420000, 815000, 48000, 60000, 60000, NULL, 90000, 68000,
   0.48, 0.06, 11, '2009-09-01', 'ACTIVE', 'US', 'usr_demo_owner2'),
  ('biz_demo_restaurant', 'Riverside Grill',
   'Full-service 120-seat restaurant and bar on the river walk, owner retiring, kitchen equipment financed.',
   'Restaurants', 'Sacramento, CA', 350000, 615000, -180000, -165000, -135000, NULL, 490000, 47000,
   0.60, -0.30, 22, '2012-06-01', 'UNDER_REVIEW', 'US', 'usr_demo_owner3'),
  ('biz_demo_agency', 'Northwind Digital',
   'B2B web development and managed-hosting agency, 80% of revenue from retainers, senior team in place.',
   'Professional Services', 'Austin, TX', 2200000, 1850000, 370000, 375000, 380000, 530000, 76000, 160000,
   0.58, 0.20, 18, '2014-01-01', 'ACTIVE', 'US', 'usr_demo_owner4')
) AS v (id, title, description, industry, location, asking_price, revenue, profit, cash_flow,
        ebitda, total_assets, liabilities, monthly_revenue, gross_margin, net_margin, employees,
        established, status, country, owner_id)
ON CONFLICT DO NOTHING;

-- Monthly financials --------------------------------------------------------
-- Harbor Lane Cafe: +1.2%/month trend, summer peak (July), small deterministic noise.
INSERT INTO business_financial_periods (business_id, month, revenue, cost_of_goods_sold,
  operating_expenses, owner_compensation, interest_expense, debt_principal_paid, cash, total_debt,
  customers, new_customers, churned_customers)
SELECT 'biz_demo_cafe', m.month,
       round(m.rev, 2),
       round(m.rev * (0.31 + 0.005 * sin(m.i * 1.7)::numeric), 2),
       round(9000 + 0.22 * m.rev, 2),
       6000,
       round((60000 - 1100 * m.i) * 0.07 / 12, 2),
       1100,
       round(25000 + 1400 * m.i + 2500 * m.season, 2),
       60000 - 1100 * m.i,
       round(2400 * power(1.01, m.i) * (1 + 0.05 * m.season))::int,
       round(2400 * power(1.01, m.i) * 0.025)::int,
       round(2400 * power(1.01, m.i) * 0.015)::int
FROM (
  SELECT g.i, g.month, s.season,
         38000 * power(1.012, g.i) * (1 + 0.08 * s.season) * (1 + 0.02 * sin(g.i * 2.3)::numeric) AS rev
  FROM (SELECT i, (date_trunc('month', CURRENT_DATE) - make_interval(months => 48 - i))::date AS month
        FROM generate_series(0, 47) AS i) g
  CROSS JOIN LATERAL (SELECT sin(2 * pi() * (EXTRACT(MONTH FROM g.month) - 4) / 12)::numeric AS season) s
) m
ON CONFLICT DO NOTHING;

-- Summit Outdoor Supply: December peak / June trough (+-30%), +0.3%/month,
-- credit line drawn for the autumn inventory build, cash peaks after the holidays.
INSERT INTO business_financial_periods (business_id, month, revenue, cost_of_goods_sold,
  operating_expenses, owner_compensation, interest_expense, debt_principal_paid, cash, total_debt,
  customers, new_customers, churned_customers)
SELECT 'biz_demo_retail', m.month,
       round(m.rev, 2),
       round(0.52 * m.rev, 2),
       round(14000 + 0.10 * m.rev, 2),
       7000,
       round(m.debt * 0.085 / 12, 2),
       2000,
       round(30000 + 300 * m.i + 25000 * sin(2 * pi() * (m.mo - 10) / 12)::numeric, 2),
       round(m.debt, 2),
       round(3200 * (1 + 0.30 * m.season))::int,
       round(3200 * (0.03 + 0.03 * greatest(m.season, 0)))::int,
       round(3200 * (0.02 + 0.03 * greatest(-m.season, 0)))::int
FROM (
  SELECT g.i, g.month, g.mo, s.season,
         60000 * power(1.003, g.i) * (1 + 0.30 * s.season) * (1 + 0.015 * sin(g.i * 1.9)::numeric) AS rev,
         90000 + 40000 * sin(2 * pi() * (g.mo - 7) / 12)::numeric AS debt
  FROM (SELECT i, d AS month, EXTRACT(MONTH FROM d)::int AS mo
        FROM generate_series(0, 47) AS i,
             LATERAL (SELECT (date_trunc('month', CURRENT_DATE) - make_interval(months => 48 - i))::date AS d) x) g
  CROSS JOIN LATERAL (SELECT sin(2 * pi() * (g.mo - 9) / 12)::numeric AS season) s
) m
ON CONFLICT DO NOTHING;

-- Riverside Grill: -1.2%/month, food cost creeping up, fixed costs heavy, borrowing
-- to cover losses, cash draining towards a floor.
INSERT INTO business_financial_periods (business_id, month, revenue, cost_of_goods_sold,
  operating_expenses, owner_compensation, interest_expense, debt_principal_paid, cash, total_debt,
  customers, new_customers, churned_customers)
SELECT 'biz_demo_restaurant', m.month,
       round(m.rev, 2),
       round(m.rev * (0.34 + 0.0012 * m.i), 2),
       round(30000 + 0.15 * m.rev, 2),
       5000,
       round((420000 + 1500 * m.i) * 0.095 / 12, 2),
       2500,
       round(greatest(2500, 42000 - 850 * m.i + 1500 * m.season), 2),
       420000 + 1500 * m.i,
       round(5200 * power(0.985, m.i))::int,
       round(5200 * power(0.985, m.i) * 0.08)::int,
       round(5200 * power(0.985, m.i) * 0.095)::int
FROM (
  SELECT g.i, g.month, s.season,
         85000 * power(0.988, g.i) * (1 + 0.10 * s.season) * (1 + 0.025 * sin(g.i * 2.9)::numeric) AS rev
  FROM (SELECT i, (date_trunc('month', CURRENT_DATE) - make_interval(months => 48 - i))::date AS month
        FROM generate_series(0, 47) AS i) g
  CROSS JOIN LATERAL (SELECT sin(2 * pi() * (EXTRACT(MONTH FROM g.month) - 3) / 12)::numeric AS season) s
) m
ON CONFLICT DO NOTHING;

-- Northwind Digital: +0.6%/month, slight December dip, term loan paid off after
-- 30 months, two clients won every four months and one lost. Full balance sheet:
--   accounts_receivable = 1.1 x revenue, current_assets = cash + AR + 15k prepaid,
--   current_liabilities = 0.35 x revenue + 20k, total_assets = current_assets +
--   fixed assets (60k depreciating 500/month), equity = total_assets -
--   current_liabilities - total_debt, retained_earnings = equity - 50k paid-in capital.
INSERT INTO business_financial_periods (business_id, month, revenue, cost_of_goods_sold,
  operating_expenses, owner_compensation, interest_expense, debt_principal_paid, cash, total_debt,
  customers, new_customers, churned_customers, current_assets, current_liabilities, total_assets,
  retained_earnings, equity, accounts_receivable)
SELECT 'biz_demo_agency', b.month, b.rev, b.cogs, b.opex, 12000, b.interest, b.principal, b.cash,
       b.debt, b.customers, b.new_customers, b.churned_customers,
       b.cur_assets, b.cur_liab, b.tot_assets,
       b.tot_assets - b.cur_liab - b.debt - 50000,
       b.tot_assets - b.cur_liab - b.debt,
       b.ar
FROM (
  SELECT a.*,
         a.cash + a.ar + 15000                  AS cur_assets,
         a.cash + a.ar + 15000 + 60000 - 500 * a.i AS tot_assets
  FROM (
    SELECT m.i, m.month,
           round(m.rev, 2)                                     AS rev,
           round(0.42 * m.rev, 2)                              AS cogs,
           round(28000 + 0.12 * m.rev, 2)                      AS opex,
           round(greatest(0, 30000 - 1000 * m.i) * 0.06 / 12, 2) AS interest,
           CASE WHEN m.i < 30 THEN 1000 ELSE 0 END             AS principal,
           round(85000 + 2200 * m.i + 4000 * sin(m.i * 0.9)::numeric, 2) AS cash,
           greatest(0, 30000 - 1000 * m.i)                     AS debt,
           38 + 2 * (m.i / 4 + 1) - (m.i + 2) / 4              AS customers,
           CASE WHEN m.i % 4 = 0 THEN 2 ELSE 0 END             AS new_customers,
           CASE WHEN m.i % 4 = 2 THEN 1 ELSE 0 END             AS churned_customers,
           round(1.1 * m.rev, 2)                               AS ar,
           round(0.35 * m.rev + 20000, 2)                      AS cur_liab
    FROM (
      SELECT g.i, g.month,
             120000 * power(1.006, g.i)
               * (1 - 0.03 * sin(2 * pi() * (EXTRACT(MONTH FROM g.month) - 9) / 12)::numeric)
               * (1 + 0.01 * sin(g.i * 2.1)::numeric) AS rev
      FROM (SELECT i, (date_trunc('month', CURRENT_DATE) - make_interval(months => 48 - i))::date AS month
            FROM generate_series(0, 47) AS i) g
    ) m
  ) a
) b
ON CONFLICT DO NOTHING;

-- Health metrics (two snapshots per business: a year ago and last month) -----
INSERT INTO health_metrics (id, business_id, overall_score, growth_score, operational_score,
  financial_score, sale_readiness_score, confidence_level, trajectory, calculated_at, data_sources,
  calculation_metadata, created_at, updated_at)
SELECT h.id, h.business_id, h.overall, h.growth, h.operational, h.financial, h.sale_ready, h.confidence,
       h.trajectory::"HealthTrajectory",
       date_trunc('month', CURRENT_DATE)::timestamp - make_interval(months => h.months_ago) + interval '2 days',
       '{"source": "demo_data.sql", "inputs": ["business_financial_periods"]}'::jsonb,
       '{"version": "demo"}'::jsonb,
       now(), now()
FROM (VALUES
  ('hm_demo_cafe_1',       'biz_demo_cafe',       12, 72, 74, 70, 66, 64, 80, 'IMPROVING'),
  ('hm_demo_cafe_2',       'biz_demo_cafe',        0, 81, 85, 78, 80, 76, 85, 'IMPROVING'),
  ('hm_demo_retail_1',     'biz_demo_retail',     12, 63, 52, 68, 61, 58, 70, 'VOLATILE'),
  ('hm_demo_retail_2',     'biz_demo_retail',      0, 64, 54, 69, 62, 60, 75, 'STABLE'),
  ('hm_demo_restaurant_1', 'biz_demo_restaurant', 12, 44, 30, 50, 40, 38, 70, 'DECLINING'),
  ('hm_demo_restaurant_2', 'biz_demo_restaurant',  0, 28, 15, 38, 22, 20, 75, 'DECLINING'),
  ('hm_demo_agency_1',     'biz_demo_agency',     12, 76, 68, 79, 80, 74, 85, 'STABLE'),
  ('hm_demo_agency_2',     'biz_demo_agency',      0, 79, 70, 81, 84, 78, 90, 'STABLE')
) AS h (id, business_id, months_ago, overall, growth, operational, financial, sale_ready, confidence, trajectory)
ON CONFLICT DO NOTHING;

-- The broker's default portfolio with all four businesses ----------------------
INSERT INTO portfolios (id, user_id, name, description, is_default)
VALUES ('portfolio_demo_broker', 'usr_demo_broker', 'Active listings',
        'Demo portfolio: the four demo businesses.', true)
ON CONFLICT DO NOTHING;

INSERT INTO portfolio_businesses (id, portfolio_id, business_id, notes)
VALUES
  ('pb_demo_broker_cafe',       'portfolio_demo_broker', 'biz_demo_cafe',       'Strong growth, clean books.'),
  ('pb_demo_broker_retail',     'portfolio_demo_broker', 'biz_demo_retail',     'Check inventory at year end.'),
  ('pb_demo_broker_restaurant', 'portfolio_demo_broker', 'biz_demo_restaurant', 'Distressed: debt exceeds value.'),
  ('pb_demo_broker_agency',     'portfolio_demo_broker', 'biz_demo_agency',     'Retainer revenue, key-person risk.')
ON CONFLICT DO NOTHING;
