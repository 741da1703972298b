-- Pre-migration validation: run against the database before phase 1 (and
-- valid at any later point too: these rules read only the baseline tables).
-- Every statement returns one row with one count, and every count must be 0.
-- Format (for tools that split this file): one statement per rule, each ending
-- with a semicolon at the end of its last line, preceded by a "-- rule:"
-- comment line and a "-- needs:" comment line. "-- needs: M" names the
-- migration (baseline, phase_1 ... phase_5, orchestrator) that must be applied
-- for the rule to run, and from which on it must return 0.
-- Comments contain no semicolons.

-- rule: every user has an id (seed)
-- needs: baseline
SELECT COUNT(*) FROM users WHERE id IS NULL;

-- rule: every business belongs to an existing user (seed)
-- needs: baseline
SELECT COUNT(*) FROM businesses WHERE owner_id NOT IN (SELECT id FROM users);

-- rule: every health metric belongs to an existing business (seed)
-- needs: baseline
SELECT COUNT(*) FROM health_metrics WHERE business_id NOT IN (SELECT id FROM businesses);

-- rule: every forecast result belongs to an existing business
-- needs: baseline
SELECT COUNT(*) FROM forecast_results WHERE business_id NOT IN (SELECT id FROM businesses);

-- rule: UNIQUE users.email holds, no two users share an email (NextAuth sign-in keys on it)
-- needs: baseline
SELECT COUNT(*) FROM (
  SELECT email FROM users GROUP BY email HAVING COUNT(*) > 1
) d;
