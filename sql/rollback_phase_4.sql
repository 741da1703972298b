-- Rollback of 005_phase_4.sql: the seed's phase 4 rollback, plus the index
-- phase 4 created (it would go with the table anyway; dropped explicitly so the
-- file names everything phase 4 added).
-- Run after rollback_phase_5.sql, before rollback_phase_3.sql. Safe to re-run.
--
-- Locks: ACCESS EXCLUSIVE on generated_reports only, once rollback_phase_5.sql
-- has dropped its foreign keys. (Run without it, the DROP TABLE ... CASCADE
-- would also take ACCESS EXCLUSIVE on users, businesses and portfolios, the
-- tables those foreign keys reference.)

-- step: drop generated_reports and its index
DROP INDEX IF EXISTS idx_generated_reports_user_created;
DROP TABLE IF EXISTS generated_reports CASCADE;
