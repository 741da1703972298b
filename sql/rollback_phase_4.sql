-- Rollback of 005_phase_4.sql (the seed's phase 4 rollback; the index goes with
-- the table). Run after rollback_phase_5.sql. Safe to re-run.

DROP TABLE IF EXISTS generated_reports CASCADE;
