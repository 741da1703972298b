// Helpers for migration tests on a "brownfield" database: loading
// tests/data/brownfield.sql at a chosen size, and fingerprints of data and
// schema to compare before and after a migration.
#ifndef GOODBUY_TESTS_TESTING_BROWNFIELD_H_
#define GOODBUY_TESTS_TESTING_BROWNFIELD_H_

#include <map>
#include <string>
#include <vector>

namespace goodbuy::testing {

// Runs tests/data/brownfield.sql against `url` (which must have the baseline
// tables) with the given sizes: the psql backslash lines are dropped and the
// psql variables :users, :businesses, :health_per_business and
// :forecasts_per_business are replaced by the numbers.
void LoadBrownfield(const std::string& url, int users, int businesses,
                    int health_per_business, int forecasts_per_business);

// The file's text as LoadBrownfield runs it (exposed for tests of the
// substitution).
std::string BrownfieldSql(int users, int businesses, int health_per_business,
                          int forecasts_per_business);

// Per table, the md5 of all its rows (as text, sorted) — equal checksums mean
// equal contents. A missing table gets "(missing)".
std::map<std::string, std::string> TableChecksums(
    const std::string& url, const std::vector<std::string>& tables);

// The schema of `url` as `pg_dump --schema-only` prints it, without comment
// lines, blank lines and psql meta-commands (which hold a random key in
// recent pg_dump versions), so two dumps of the same schema compare equal.
std::string SchemaDump(const std::string& url);

}  // namespace goodbuy::testing

#endif  // GOODBUY_TESTS_TESTING_BROWNFIELD_H_
