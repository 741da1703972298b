-- Pre-migration validation: run against the database before phase 1.
-- Every statement returns one row with one count, and every count must be 0.
-- Format (for tools that split this file): one statement per rule, each ending
-- with a semicolon at the end of its last line, preceded by a "-- rule:" comment.
-- Comments contain no semicolons.

-- rule: every user has an id (seed)
SELECT COUNT(*) FROM users WHERE id IS NULL;

-- rule: every business belongs to an existing user (seed)
SELECT COUNT(*) FROM businesses WHERE owner_id NOT IN (SELECT id FROM users);

-- rule: every health metric belongs to an existing business (seed)
SELECT COUNT(*) FROM health_metrics WHERE business_id NOT IN (SELECT id FROM businesses);

-- rule: every forecast result belongs to an existing business
SELECT COUNT(*) FROM forecast_results WHERE business_id NOT IN (SELECT id FROM businesses);
