-- Brownfield load data set: an existing GoodBuy database as the migrations
-- meet it in production, i.e. rows in the four baseline tables only (users,
-- businesses, health_metrics, forecast_results). Needs 001_baseline.sql only.
--
--   psql -v ON_ERROR_STOP=1 "$DATABASE_URL" -f tests/data/brownfield.sql
--   psql -v ON_ERROR_STOP=1 -v users=100000 -v businesses=80000 \
--        -v health_per_business=24 -v forecasts_per_business=12 "$DATABASE_URL" -f tests/data/brownfield.sql
--
-- Sizes (psql variables, defaults below):
--   users                   10000  ids usr_load_000001 ..
--   businesses              10000  ids biz_load_000001 .., owners among the
--                                  first 60% of the users (some own several,
--                                  some none, the other 40% are buyers)
--   health_per_business        10  one per month going back from 2026-11-01,
--                                  ids hm_load_<business>_<k>
--   forecasts_per_business      2  1..12 months ahead, mostly REVENUE,
--                                  ids fr_load_<business>_<k>
-- Ids have six digits: at most 999999 users and businesses.
-- The default set loads in about 2 seconds (150,000 rows).
--
-- Deterministic: every value is a function of the row number (multiplicative
-- or md5 hashes of it, no random()), and dates are relative to the fixed
-- instant 2026-11-01 (midnight), so loading the same sizes always gives the
-- same rows. Set-based INSERT ... SELECT generate_series. Rows that already
-- exist (same id or same email) are skipped (ON CONFLICT DO NOTHING), so
-- loading again is a no-op, and loading with larger sizes adds the new rows.
--
-- For the C++ tests: the only colon-prefixed words outside strings are the
-- four size variables (plus :: casts), so the file also runs after dropping
-- the backslash lines and replacing the variable references by numbers.

\if :{?users}
\else
\set users 10000
\endif
\if :{?businesses}
\else
\set businesses 10000
\endif
\if :{?health_per_business}
\else
\set health_per_business 10
\endif
\if :{?forecasts_per_business}
\else
\set forecasts_per_business 2
\endif

-- Users -------------------------------------------------------------------
-- u.h: a 32-bit multiplicative hash of the row number, sliced for each field.
-- Users 1 .. 60% are business owners (every 12th a broker), the rest buyers
-- (every 9th a broker, every 500th an admin). Sign-ups spread over ~3 years,
-- in id order.
INSERT INTO users (id, email, name, user_type, status, first_name, last_name, company,
                   subscription_tier, created_at, updated_at, last_login_at)
SELECT 'usr_load_' || lpad(u.i::text, 6, '0'),
       lower(u.first_name) || '.' || lower(u.last_name) || '.' || u.i || '@load.goodbuyhq.test',
       u.first_name || ' ' || u.last_name,
       u.user_type::"UserType",
       u.status::"UserStatus",
       u.first_name,
       u.last_name,
       CASE WHEN u.user_type IN ('BUSINESS_OWNER', 'BROKER')
            THEN u.last_name || (ARRAY[' Holdings LLC', ' & Co.', ' Group Inc.', ' Ventures LLC',
                                       ' Business Brokers', ' Partners LLC'])[1 + u.h % 6]
       END,
       (CASE WHEN (u.h / 100) % 100 < 78 THEN 'FREE'
             WHEN (u.h / 100) % 100 < 95 THEN 'PROFESSIONAL'
             ELSE 'ENTERPRISE' END)::"SubscriptionTier",
       u.created_at,
       u.created_at + make_interval(days => ((u.h / 7) % 90)::int),
       CASE WHEN u.status <> 'PENDING'
            THEN timestamp '2026-11-01' - make_interval(days => (1 + (u.h / 13) % 120)::int,
                                                          secs => (u.h / 3) % 86400)
       END
FROM (
  SELECT g.i, x.h,
         (ARRAY['James', 'Maria', 'Wei', 'Aisha', 'Carlos', 'Emma', 'Noah', 'Olivia', 'Liam', 'Sofia',
                'Ethan', 'Priya', 'Lucas', 'Chloe', 'Mateo', 'Hannah', 'Omar', 'Grace', 'Daniel', 'Yuki']
         )[1 + (x.h / 10000) % 20] AS first_name,
         (ARRAY['Smith', 'Garcia', 'Chen', 'Khan', 'Johnson', 'Brown', 'Nguyen', 'Patel', 'Miller', 'Lopez',
                'Wilson', 'Kim', 'Anderson', 'Rossi', 'Murphy', 'Schmidt', 'Okafor', 'Silva', 'Cohen', 'Walsh']
         )[1 + (x.h / 200000) % 20] AS last_name,
         CASE WHEN g.i <= greatest(1, (:users * 6) / 10)
              THEN CASE WHEN g.i % 12 = 0 THEN 'BROKER' ELSE 'BUSINESS_OWNER' END
              ELSE CASE WHEN g.i % 500 = 0 THEN 'ADMIN' WHEN g.i % 9 = 0 THEN 'BROKER' ELSE 'BUYER' END
         END AS user_type,
         CASE WHEN x.h % 100 < 85 THEN 'ACTIVE'
              WHEN x.h % 100 < 93 THEN 'PENDING'
              WHEN x.h % 100 < 98 THEN 'SUSPENDED'
              ELSE 'DELETED' END AS status,
         timestamp '2026-11-01' - interval '1100 days'
           + make_interval(days => ((g.i * 1000) / greatest(1, :users))::int, secs => x.h % 86400) AS created_at
  FROM generate_series(1, :users) AS g (i)
  CROSS JOIN LATERAL (SELECT (g.i::bigint * 2654435761) % 4294967296 AS h) x
) u
ON CONFLICT DO NOTHING;

-- Businesses --------------------------------------------------------------
-- b.o: the owner's user number, an md5 hash of the business number over the
-- first 60% of the users, so owners have 0, 1 or several listings (with the
-- default sizes about 1,100 of the 6,000 owners have none, a few have 6-8).
-- A listing is created after its owner signed up.
-- Revenue is log-uniform between 120k and 4.8M, margins from -8% to +29%.
INSERT INTO businesses (id, title, description, industry, location, asking_price, revenue, profit,
                        cash_flow, ebitda, total_assets, liabilities, monthly_revenue, gross_margin,
                        net_margin, employees, established, status, country, owner_id,
                        created_at, updated_at)
SELECT 'biz_load_' || lpad(b.j::text, 6, '0'),
       b.place || ' ' || b.noun,
       b.place || ' ' || b.noun || ': established ' || lower(b.industry) || ' business in '
         || b.city || ' with ' || b.employees || ' employees.',
       b.industry,
       b.city,
       CASE WHEN b.cash_flow > 0 THEN round(b.cash_flow * (2.2 + (b.h % 15) / 10.0), -3)
            ELSE round(b.revenue * 0.35, -3) END,
       b.revenue,
       round(b.revenue * b.net_margin),
       b.cash_flow,
       round(b.revenue * (b.net_margin + 0.03)),
       CASE WHEN b.h % 4 <> 0 THEN round(b.revenue * (0.3 + (b.h % 7) / 10.0)) END,
       CASE WHEN b.h % 4 <> 0 THEN round(b.revenue * (0.3 + (b.h % 7) / 10.0) * (0.2 + (b.h % 5) / 10.0)) END,
       round(b.revenue / 12),
       b.gross_margin::double precision,
       b.net_margin::double precision,
       b.employees,
       timestamp '1985-01-01' + make_interval(days => ((b.h / 11) % 13500)::int),
       (CASE WHEN b.h % 100 < 62 THEN 'ACTIVE'
             WHEN b.h % 100 < 72 THEN 'DRAFT'
             WHEN b.h % 100 < 80 THEN 'UNDER_REVIEW'
             WHEN b.h % 100 < 88 THEN 'SOLD'
             WHEN b.h % 100 < 94 THEN 'ARCHIVED'
             WHEN b.h % 100 < 97 THEN 'EXPIRED'
             ELSE 'REJECTED' END)::"BusinessStatus",
       CASE WHEN b.h % 25 = 0 THEN 'CA' ELSE 'US' END,
       'usr_load_' || lpad(b.o::text, 6, '0'),
       b.created_at,
       b.created_at + make_interval(days => ((b.h / 5) % 60)::int)
FROM (
  SELECT y.*,
         round(y.revenue * (y.net_margin + 0.015)) AS cash_flow,
         greatest(1, round(y.revenue / 95000))::int AS employees,
         timestamp '2026-11-01' - interval '1100 days'
           + make_interval(days => (y.od + 1 + (y.h / 7) % greatest(1, 1089 - y.od))::int,
                           secs => (y.h / 17) % 86400) AS created_at
  FROM (
    SELECT g.j, x.h, o.o,
           (o.o * 1000) / greatest(1, :users) AS od,
           (ARRAY['Food & Beverage', 'Retail', 'Restaurants', 'Professional Services', 'Manufacturing',
                  'Healthcare', 'Construction', 'Technology', 'Automotive', 'Fitness & Wellness']
           )[1 + x.h % 10] AS industry,
           (ARRAY['Cafe', 'Outfitters', 'Grill', 'Consulting', 'Fabrication',
                  'Family Clinic', 'Builders', 'Software', 'Auto Repair', 'Fitness Studio']
           )[1 + x.h % 10] AS noun,
           (ARRAY['Harbor', 'Summit', 'Riverside', 'Northwind', 'Maple', 'Granite', 'Silver Creek', 'Oak Hill',
                  'Bayview', 'Prairie', 'Lakeside', 'Redwood', 'Cedar', 'Pioneer', 'Union', 'Blue Ridge']
           )[1 + (x.h / 10) % 16] AS place,
           (ARRAY['Portland, ME', 'Boulder, CO', 'Austin, TX', 'Sacramento, CA', 'Columbus, OH', 'Raleigh, NC',
                  'Madison, WI', 'Tampa, FL', 'Denver, CO', 'Nashville, TN', 'Phoenix, AZ', 'Salt Lake City, UT',
                  'Minneapolis, MN', 'Richmond, VA', 'Boise, ID', 'Spokane, WA']
           )[1 + (x.h / 160) % 16] AS city,
           round((120000 * power(40.0::double precision, ((x.h / 2560) % 1000) / 1000.0))::numeric, -2) AS revenue,
           round(-0.08 + ((x.h / 7) % 38) / 100.0, 2) AS net_margin,
           round(0.30 + ((x.h / 266) % 45) / 100.0, 2) AS gross_margin
    FROM generate_series(1, :businesses) AS g (j)
    CROSS JOIN LATERAL (SELECT (g.j::bigint * 2246822519) % 4294967296 AS h) x
    CROSS JOIN LATERAL (
      SELECT 1 + (('x' || substr(md5('owner' || g.j), 1, 8))::bit(32)::bigint
                  % greatest(1, (:users * 6) / 10)) AS o
    ) o
  ) y
) b
ON CONFLICT DO NOTHING;

-- Health metrics ----------------------------------------------------------
-- k = 1 is October 2026, k = 2 September, ... Each business has a base score
-- and a monthly trend (from its hash) plus a little noise per month. Every
-- calculated_at is distinct (also across businesses).
INSERT INTO health_metrics (id, business_id, overall_score, growth_score, operational_score,
                            financial_score, sale_readiness_score, confidence_level, trajectory,
                            calculated_at, data_sources, calculation_metadata, created_at, updated_at)
SELECT 'hm_load_' || lpad(m.j::text, 6, '0') || '_' || lpad(m.k::text, 3, '0'),
       'biz_load_' || lpad(m.j::text, 6, '0'),
       greatest(0, least(100, m.score)),
       greatest(0, least(100, m.score + 4 * m.trend + (m.h % 9) - 4)),
       greatest(0, least(100, m.score + 6 - (m.h / 9) % 9)),
       greatest(0, least(100, m.score + (m.h / 81) % 11 - 5)),
       greatest(0, least(100, m.score - 5 + (m.k % 4))),
       55 + (m.h + m.k * 7) % 40,
       (CASE WHEN m.h % 11 = 0 THEN 'VOLATILE'
             WHEN m.trend > 0 THEN 'IMPROVING'
             WHEN m.trend < 0 THEN 'DECLINING'
             ELSE 'STABLE' END)::"HealthTrajectory",
       m.calculated_at,
       '{"source": "brownfield.sql", "inputs": ["listing", "financial_statements"]}'::jsonb,
       jsonb_build_object('model_version', 'health-v' || (1 + (m.k > 6)::int), 'months_back', m.k),
       m.calculated_at,
       m.calculated_at
FROM (
  SELECT g.j, k.k, x.h, x.trend,
         (35 + x.h % 50 - x.trend * k.k + ((g.j * 31 + k.k * 17) % 7) - 3)::smallint AS score,
         timestamp '2026-11-01' - make_interval(months => k.k)
           + make_interval(days => 1 + g.j % 20, hours => (g.j / 20) % 24, mins => (g.j / 480) % 60,
                           secs => g.j / 28800) AS calculated_at
  FROM generate_series(1, :businesses) AS g (j)
  CROSS JOIN LATERAL (SELECT (g.j::bigint * 3266489917) % 4294967296 AS h0) h0
  CROSS JOIN LATERAL (SELECT h0.h0 AS h, ((h0.h0 / 50) % 7)::int - 3 AS trend) x
  CROSS JOIN generate_series(1, :health_per_business) AS k (k)
) m
ON CONFLICT DO NOTHING;

-- Forecast results --------------------------------------------------------
-- Forecast k is (k - 1) % 12 + 1 months ahead, of a type that changes every
-- 12 forecasts (half of the types are REVENUE, as the analysis service
-- writes). Values follow the business's revenue and margin, read back from
-- the businesses rows inserted above.
INSERT INTO forecast_results (id, business_id, forecast_type, forecast_period, predicted_value,
                              confidence_interval_lower, confidence_interval_upper, confidence_score,
                              model_used, actual_value, created_at, updated_at)
SELECT 'fr_load_' || lpad(f.j::text, 6, '0') || '_' || lpad(f.k::text, 3, '0'),
       f.business_id,
       f.forecast_type::"ForecastType",
       f.period,
       round(f.value, 2),
       round(f.value - f.half_width, 2),
       round(f.value + f.half_width, 2),
       greatest(40, 92 - 3 * f.period - f.h % 10),
       (ARRAY['naive2', 'ses', 'holt', 'damped', 'theta', 'comb'])[1 + (f.h + f.k) % 6],
       NULL,
       f.created_at,
       f.created_at
FROM (
  SELECT v.*,
         CASE WHEN v.forecast_type = 'GROWTH_RATE' THEN 1.5 + 0.25 * v.period
              ELSE abs(v.value) * (0.06 + 0.015 * v.period) END AS half_width
  FROM (
    SELECT t.*,
           CASE t.forecast_type
             WHEN 'REVENUE'     THEN t.monthly * (1 + t.growth * t.period)
             WHEN 'EXPENSES'    THEN t.monthly * (1 - t.margin) * (1 + t.growth * t.period / 2)
             WHEN 'PROFIT'      THEN t.monthly * t.margin * (1 + t.growth * t.period)
             WHEN 'CASH_FLOW'   THEN t.monthly * (t.margin + 0.015) * (1 + t.growth * t.period)
             ELSE 100 * t.growth * 12
           END AS value
    FROM (
      SELECT g.j, k.k, x.h, b.id AS business_id,
             (ARRAY['REVENUE', 'REVENUE', 'PROFIT', 'REVENUE', 'EXPENSES', 'REVENUE', 'CASH_FLOW',
                    'REVENUE', 'GROWTH_RATE', 'REVENUE'])[1 + (x.h + (k.k - 1) / 12) % 10] AS forecast_type,
             (1 + (k.k - 1) % 12)::smallint AS period,
             b.revenue / 12 AS monthly,
             b.net_margin::numeric AS margin,
             ((x.h / 10) % 41 - 15) / 1000.0 AS growth,
             timestamp '2026-11-01' - make_interval(days => (1 + x.h % 45)::int, secs => (x.h / 45) % 86400) AS created_at
      FROM generate_series(1, :businesses) AS g (j)
      CROSS JOIN LATERAL (SELECT (g.j::bigint * 2654435789) % 4294967296 AS h) x
      JOIN businesses b ON b.id = 'biz_load_' || lpad(g.j::text, 6, '0')
      CROSS JOIN generate_series(1, :forecasts_per_business) AS k (k)
    ) t
  ) v
) f
ON CONFLICT DO NOTHING;

-- Fresh statistics, as a long-lived production database would have.
ANALYZE users;
ANALYZE businesses;
ANALYZE health_metrics;
ANALYZE forecast_results;
