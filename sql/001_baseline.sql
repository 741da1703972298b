-- 001_baseline: a faithful subset of the existing GoodBuy production schema
-- (Prisma models mapped to users, businesses, health_metrics, forecast_results),
-- limited to what the analysis orchestrator reads.
--
-- Fresh databases (tests, quickstart) get these tables here. On an existing
-- GoodBuy database every block below is skipped: each table is created, together
-- with its enum types and indexes, only when the table itself is missing, so this
-- file never adds an index, a type or a lock to a production table.
--
-- Ids are text (cuid-like) supplied by the application; gen_random_uuid()::text
-- is only the default for rows inserted without one (gen_random_uuid is built in
-- since PostgreSQL 13).
--
-- Runs inside the runner's transaction, and with plain psql -v ON_ERROR_STOP=1.
-- Safe to re-run.

-- users -------------------------------------------------------------------
DO $$
BEGIN
  IF to_regclass('users') IS NULL THEN
    IF to_regtype('"UserType"') IS NULL THEN
      CREATE TYPE "UserType" AS ENUM ('BUSINESS_OWNER', 'BUYER', 'BROKER', 'ADMIN');
    END IF;
    IF to_regtype('"UserStatus"') IS NULL THEN
      CREATE TYPE "UserStatus" AS ENUM ('PENDING', 'ACTIVE', 'SUSPENDED', 'DELETED');
    END IF;
    IF to_regtype('"SubscriptionTier"') IS NULL THEN
      CREATE TYPE "SubscriptionTier" AS ENUM ('FREE', 'PROFESSIONAL', 'ENTERPRISE');
    END IF;

    CREATE TABLE users (
      id                VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
      email             VARCHAR NOT NULL UNIQUE,
      name              VARCHAR,
      user_type         "UserType" NOT NULL DEFAULT 'BUYER',
      status            "UserStatus" NOT NULL DEFAULT 'PENDING',
      first_name        VARCHAR,
      last_name         VARCHAR,
      company           VARCHAR,
      subscription_tier "SubscriptionTier" NOT NULL DEFAULT 'FREE',
      created_at        TIMESTAMP NOT NULL DEFAULT now(),
      updated_at        TIMESTAMP NOT NULL DEFAULT now(),
      last_login_at     TIMESTAMP
    );
  END IF;
END
$$;

-- businesses --------------------------------------------------------------
DO $$
BEGIN
  IF to_regclass('businesses') IS NULL THEN
    IF to_regtype('"BusinessStatus"') IS NULL THEN
      CREATE TYPE "BusinessStatus" AS ENUM
        ('DRAFT', 'ACTIVE', 'UNDER_REVIEW', 'SOLD', 'ARCHIVED', 'REJECTED', 'EXPIRED');
    END IF;

    CREATE TABLE businesses (
      id              VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
      title           VARCHAR NOT NULL,
      description     TEXT NOT NULL DEFAULT '',
      industry        VARCHAR,
      location        VARCHAR,
      asking_price    NUMERIC,
      revenue         NUMERIC,
      profit          NUMERIC,
      cash_flow       NUMERIC,
      ebitda          NUMERIC,
      total_assets    NUMERIC,
      liabilities     NUMERIC,
      monthly_revenue NUMERIC,
      gross_margin    DOUBLE PRECISION,
      net_margin      DOUBLE PRECISION,
      employees       INTEGER,
      established     TIMESTAMP,
      status          "BusinessStatus" NOT NULL DEFAULT 'DRAFT',
      country         VARCHAR DEFAULT 'US',
      owner_id        VARCHAR NOT NULL REFERENCES users (id),
      created_at      TIMESTAMP NOT NULL DEFAULT now(),
      updated_at      TIMESTAMP NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS idx_businesses_owner_id ON businesses (owner_id);
  END IF;
END
$$;

-- health_metrics ----------------------------------------------------------
DO $$
BEGIN
  IF to_regclass('health_metrics') IS NULL THEN
    IF to_regtype('"HealthTrajectory"') IS NULL THEN
      CREATE TYPE "HealthTrajectory" AS ENUM ('IMPROVING', 'STABLE', 'DECLINING', 'VOLATILE');
    END IF;

    CREATE TABLE health_metrics (
      id                   VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
      business_id          VARCHAR NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
      overall_score        SMALLINT NOT NULL,
      growth_score         SMALLINT NOT NULL,
      operational_score    SMALLINT NOT NULL,
      financial_score      SMALLINT NOT NULL,
      sale_readiness_score SMALLINT NOT NULL,
      confidence_level     SMALLINT NOT NULL,
      trajectory           "HealthTrajectory" NOT NULL DEFAULT 'STABLE',
      calculated_at        TIMESTAMP NOT NULL DEFAULT now(),
      data_sources         JSONB,
      calculation_metadata JSONB,
      created_at           TIMESTAMP NOT NULL DEFAULT now(),
      updated_at           TIMESTAMP NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS idx_health_metrics_business_date
      ON health_metrics (business_id, calculated_at DESC);
  END IF;
END
$$;

-- forecast_results --------------------------------------------------------
DO $$
BEGIN
  IF to_regclass('forecast_results') IS NULL THEN
    IF to_regtype('"ForecastType"') IS NULL THEN
      CREATE TYPE "ForecastType" AS ENUM ('REVENUE', 'EXPENSES', 'PROFIT', 'CASH_FLOW', 'GROWTH_RATE');
    END IF;

    CREATE TABLE forecast_results (
      id                        VARCHAR PRIMARY KEY DEFAULT gen_random_uuid()::text,
      business_id               VARCHAR NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
      forecast_type             "ForecastType" NOT NULL,
      forecast_period           SMALLINT NOT NULL,
      predicted_value           NUMERIC(15, 2) NOT NULL,
      confidence_interval_lower NUMERIC(15, 2) NOT NULL,
      confidence_interval_upper NUMERIC(15, 2) NOT NULL,
      confidence_score          SMALLINT NOT NULL,
      model_used                VARCHAR(50) NOT NULL,
      actual_value              NUMERIC(15, 2),
      created_at                TIMESTAMP NOT NULL DEFAULT now(),
      updated_at                TIMESTAMP NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS idx_forecast_results_business_type
      ON forecast_results (business_id, forecast_type);
  END IF;
END
$$;
