-- 007_orchestrator: what the analysis session orchestrator needs beyond the
-- seed. Additive only: no seed column is dropped, renamed or retyped.
--
-- ai_analysis_sessions (seed, phase 3) gains:
--   request_id        caller's idempotency key (CreateSession), unique when set
--   attempt           lease fencing token: +1 per claim, compare-and-set by the reaper
--   lease_owner       replica id holding the running lease
--   lease_expires_at  heartbeats extend it; the reaper re-queues expired leases
--   started_at        first claim time
--   updated_at        last state change
--   stage             current job stage (free text shown to watchers)
--   options           AnalysisOptions as proto3 JSON
--   last_sequence     sequence of the last event written to session_events
--   error_code        google.rpc.Code of a failed session
--   error_message     human-readable error (never SQL)
--   cancel_requested  CancelSession sets it; the running replica stops the job
--   history_source    'stored' (business_financial_periods) or 'inline'
--   inline_history    the caller's inline FinancialHistory as proto3 JSON
-- plus five CHECKs on status / session_type / progress / attempt /
-- history_source (each added NOT VALID, then validated, in steps of their own)
-- and the indexes for claiming, listing and lease reaping.
--
-- session_events: the append-only event log that watchers on any replica
-- back-fill from (PRIMARY KEY (session_id, sequence)); UPDATE is rejected by a
-- trigger; rows go away with their session (ON DELETE CASCADE).
--
-- business_financial_periods: one row per business and calendar month, the
-- stored FinancialHistory (MonthlyPeriod in financials.proto). Balance-sheet
-- columns are NULL when not reported.
--
-- Locks (measured with pg_locks on PostgreSQL 15)
--   * ai_analysis_sessions is live since phase 3, so every step on it is tiny:
--     - new columns: ACCESS EXCLUSIVE, catalog-only (every default is a
--       constant or now(), so no table rewrite), milliseconds once granted.
--     - "add <check> NOT VALID": ACCESS EXCLUSIVE, catalog-only.
--     - "validate <check>": SHARE UPDATE EXCLUSIVE (blocks no reader or
--       writer), scans the table.
--     - indexes: CREATE INDEX CONCURRENTLY, each its own step outside any
--       transaction, SHARE UPDATE EXCLUSIVE. Chosen over plain CREATE INDEX
--       because a plain build holds SHARE for the whole build and so blocks
--       session inserts and updates while it runs.
--     - session_events (new) references it: SHARE ROW EXCLUSIVE on
--       ai_analysis_sessions for that CREATE TABLE step only.
--   * businesses: SHARE ROW EXCLUSIVE (readers pass, writers wait) for the one
--     step that creates business_financial_periods with its inline
--     REFERENCES businesses; that step holds nothing else and commits in
--     milliseconds. The table is new and empty, so the FK is valid at once.
--   * users, health_metrics, forecast_results: none.
--   * No SET lock_timeout here: the migrator sets it per step. With plain
--     psql, set one yourself, e.g. PGOPTIONS='-c lock_timeout=2s'.
--
-- Re-running: guarded (IF NOT EXISTS) except the CHECKs, added as
-- "DROP CONSTRAINT IF EXISTS c, ADD CONSTRAINT c ... NOT VALID" (there is no
-- ADD CONSTRAINT IF NOT EXISTS, and a DO block would hide the statement from
-- the migrator's plan): a re-run re-adds each NOT VALID and the next step
-- validates it again. The trigger keeps a small guarded DO block (it touches
-- only the new session_events table, and unlike DROP TRIGGER + CREATE TRIGGER
-- a re-run then takes no lock on the live event log). An interrupted
-- concurrent build leaves an INVALID index that IF NOT EXISTS skips. The
-- migrator drops such an index before building it again; with psql, the
-- post-migration rule "no invalid index" reports it: drop it (concurrently)
-- and run again.
--
-- Down migration: rollback_orchestrator.sql (run before rollback_phase_5.sql).

-- step: ai_analysis_sessions new columns
ALTER TABLE ai_analysis_sessions
  ADD COLUMN IF NOT EXISTS request_id       VARCHAR,
  ADD COLUMN IF NOT EXISTS attempt          INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS lease_owner      VARCHAR,
  ADD COLUMN IF NOT EXISTS lease_expires_at TIMESTAMP,
  ADD COLUMN IF NOT EXISTS started_at       TIMESTAMP,
  ADD COLUMN IF NOT EXISTS updated_at       TIMESTAMP DEFAULT now(),
  ADD COLUMN IF NOT EXISTS stage            VARCHAR,
  ADD COLUMN IF NOT EXISTS options          JSONB,
  ADD COLUMN IF NOT EXISTS last_sequence    BIGINT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS error_code       INTEGER,
  ADD COLUMN IF NOT EXISTS error_message    TEXT,
  ADD COLUMN IF NOT EXISTS cancel_requested BOOLEAN NOT NULL DEFAULT false,
  ADD COLUMN IF NOT EXISTS history_source   VARCHAR,
  ADD COLUMN IF NOT EXISTS inline_history   JSONB;

-- ai_analysis_sessions CHECK constraints: add NOT VALID, then VALIDATE.

-- step: add ai_analysis_sessions_status_check NOT VALID
ALTER TABLE ai_analysis_sessions
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_status_check,
  ADD CONSTRAINT ai_analysis_sessions_status_check
    CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')) NOT VALID;

-- step: validate ai_analysis_sessions_status_check
ALTER TABLE ai_analysis_sessions VALIDATE CONSTRAINT ai_analysis_sessions_status_check;

-- step: add ai_analysis_sessions_session_type_check NOT VALID
ALTER TABLE ai_analysis_sessions
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_session_type_check,
  ADD CONSTRAINT ai_analysis_sessions_session_type_check
    CHECK (session_type IN ('health_analysis', 'valuation', 'forecast')) NOT VALID;

-- step: validate ai_analysis_sessions_session_type_check
ALTER TABLE ai_analysis_sessions VALIDATE CONSTRAINT ai_analysis_sessions_session_type_check;

-- step: add ai_analysis_sessions_progress_percentage_check NOT VALID
ALTER TABLE ai_analysis_sessions
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_progress_percentage_check,
  ADD CONSTRAINT ai_analysis_sessions_progress_percentage_check
    CHECK (progress_percentage BETWEEN 0 AND 100) NOT VALID;

-- step: validate ai_analysis_sessions_progress_percentage_check
ALTER TABLE ai_analysis_sessions VALIDATE CONSTRAINT ai_analysis_sessions_progress_percentage_check;

-- step: add ai_analysis_sessions_attempt_check NOT VALID
ALTER TABLE ai_analysis_sessions
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_attempt_check,
  ADD CONSTRAINT ai_analysis_sessions_attempt_check
    CHECK (attempt >= 0) NOT VALID;

-- step: validate ai_analysis_sessions_attempt_check
ALTER TABLE ai_analysis_sessions VALIDATE CONSTRAINT ai_analysis_sessions_attempt_check;

-- step: add ai_analysis_sessions_history_source_check NOT VALID
ALTER TABLE ai_analysis_sessions
  DROP CONSTRAINT IF EXISTS ai_analysis_sessions_history_source_check,
  ADD CONSTRAINT ai_analysis_sessions_history_source_check
    CHECK (history_source IN ('stored', 'inline')) NOT VALID;

-- step: validate ai_analysis_sessions_history_source_check
ALTER TABLE ai_analysis_sessions VALIDATE CONSTRAINT ai_analysis_sessions_history_source_check;

-- ai_analysis_sessions indexes, each built concurrently in its own step.

-- step: index idx_ai_sessions_request_id (concurrently)
-- CreateSession idempotency: one session per request id. request_id is new
-- and NULL everywhere, so the unique build cannot fail on existing rows.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_request_id
  ON ai_analysis_sessions (request_id) WHERE request_id IS NOT NULL;

-- step: index idx_ai_sessions_claim (concurrently)
-- Claiming: oldest pending first (FOR UPDATE SKIP LOCKED), small, only live rows.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_claim
  ON ai_analysis_sessions (status, created_at) WHERE status IN ('pending', 'running');

-- step: index idx_ai_sessions_created (concurrently)
-- ListSessions: newest first, keyset pagination on (created_at, id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_created
  ON ai_analysis_sessions (created_at DESC, id DESC);

-- step: index idx_ai_sessions_business_created (concurrently)
-- ListSessions filtered by business.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_business_created
  ON ai_analysis_sessions (business_id, created_at DESC);

-- step: index idx_ai_sessions_lease (concurrently)
-- Reaper: running sessions whose lease has expired.
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_ai_sessions_lease
  ON ai_analysis_sessions (lease_expires_at) WHERE status = 'running';

-- step: session_events table
-- Its inline REFERENCES takes SHARE ROW EXCLUSIVE on ai_analysis_sessions
-- (readers pass, writers wait) for this step only.
CREATE TABLE IF NOT EXISTS session_events (
  session_id          VARCHAR NOT NULL
                        REFERENCES ai_analysis_sessions (id) ON DELETE CASCADE,
  sequence            BIGINT NOT NULL,
  kind                VARCHAR NOT NULL
                        CONSTRAINT session_events_kind_check
                        CHECK (kind IN ('progress', 'partial', 'completed', 'failed', 'cancelled', 'heartbeat')),
  status              VARCHAR NOT NULL
                        CONSTRAINT session_events_status_check
                        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  progress_percentage INTEGER NOT NULL
                        CONSTRAINT session_events_progress_percentage_check
                        CHECK (progress_percentage BETWEEN 0 AND 100),
  stage               VARCHAR,
  event               BYTEA NOT NULL,  -- serialized goodbuy.analysis.v1.SessionEvent
  created_at          TIMESTAMP NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, sequence)
);

-- step: session_events append-only trigger
-- Events are never rewritten (watchers de-duplicate by sequence and must see
-- the same bytes whichever replica they read from). DELETE stays allowed for
-- ON DELETE CASCADE and retention clean-up. The guard makes a re-run a no-op.
CREATE OR REPLACE FUNCTION session_events_reject_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'session_events is append-only: UPDATE of (%, %) rejected',
    OLD.session_id, OLD.sequence
    USING ERRCODE = 'insufficient_privilege';
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger
                 WHERE tgrelid = 'session_events'::regclass
                   AND tgname = 'session_events_append_only') THEN
    CREATE TRIGGER session_events_append_only
      BEFORE UPDATE ON session_events
      FOR EACH ROW EXECUTE FUNCTION session_events_reject_update();
  END IF;
END
$$;

-- step: business_financial_periods table (references businesses)
-- Alone in its step: the inline REFERENCES businesses takes SHARE ROW
-- EXCLUSIVE on businesses (writers of businesses wait) until this commits.
CREATE TABLE IF NOT EXISTS business_financial_periods (
  business_id         VARCHAR NOT NULL REFERENCES businesses (id) ON DELETE CASCADE,
  month               DATE NOT NULL
                        CONSTRAINT business_financial_periods_month_check
                        CHECK (EXTRACT(DAY FROM month) = 1),  -- first day of the month
  revenue             NUMERIC(15, 2) NOT NULL DEFAULT 0,
  cost_of_goods_sold  NUMERIC(15, 2) NOT NULL DEFAULT 0,
  operating_expenses  NUMERIC(15, 2) NOT NULL DEFAULT 0,
  owner_compensation  NUMERIC(15, 2) NOT NULL DEFAULT 0,
  interest_expense    NUMERIC(15, 2) NOT NULL DEFAULT 0,
  debt_principal_paid NUMERIC(15, 2) NOT NULL DEFAULT 0,
  cash                NUMERIC(15, 2) NOT NULL DEFAULT 0,
  total_debt          NUMERIC(15, 2) NOT NULL DEFAULT 0,
  customers           INTEGER NOT NULL DEFAULT 0,
  new_customers       INTEGER NOT NULL DEFAULT 0,
  churned_customers   INTEGER NOT NULL DEFAULT 0,
  -- Balance sheet: NULL = not reported.
  current_assets      NUMERIC(15, 2),
  current_liabilities NUMERIC(15, 2),
  total_assets        NUMERIC(15, 2),
  retained_earnings   NUMERIC(15, 2),
  equity              NUMERIC(15, 2),
  accounts_receivable NUMERIC(15, 2),
  created_at          TIMESTAMP NOT NULL DEFAULT now(),
  updated_at          TIMESTAMP NOT NULL DEFAULT now(),
  PRIMARY KEY (business_id, month)
);
