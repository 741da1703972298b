// What the migrator measures in the database around each migration: a
// fingerprint of the schema (to prove a rollback restored it), the
// validation rules (each must count 0) and the key queries' timings (to
// catch a phase that makes the application's reads slower).
#ifndef GOODBUY_SERVER_STORE_PG_MIGRATE_PG_CHECKS_H_
#define GOODBUY_SERVER_STORE_PG_MIGRATE_PG_CHECKS_H_

#include <cstdint>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "server/store/pg/migrate/catalog.h"

namespace goodbuy::store::pg::migrate {

// One sorted line per column, constraint, index (with its validity), view,
// trigger, function and enum type in schema public, excluding the migrator's
// own tables; and their md5.
struct SchemaFingerprint {
  std::vector<std::string> lines;
  std::string md5;
};
SchemaFingerprint ReadSchema(pqxx::connection& conn);

// "missing: …" / "extra: …" lines of `after` against `before`, at most `max`.
std::vector<std::string> SchemaDiff(const SchemaFingerprint& before,
                                    const SchemaFingerprint& after,
                                    size_t max = 8);

struct RuleResult {
  const Check* rule;
  int64_t count = 0;
  std::string error;  // PostgreSQL's first line if the rule could not run
  bool ok() const { return error.empty() && count == 0; }
};
std::vector<RuleResult> RunRules(pqxx::connection& conn,
                                 const std::vector<const Check*>& rules);

// Values for the key queries' psql variables (:'user_id', :'business_id'):
// a business that has health metrics, and its owner.
std::map<std::string, std::string> ChooseKeyQueryParams(pqxx::connection& conn);

// Median of `runs` server-side timings (planning + execution, from EXPLAIN
// ANALYZE) per query name, in milliseconds, after one warm-up run.
std::map<std::string, double> TimeKeyQueries(
    pqxx::connection& conn, const std::vector<const Check*>& queries,
    const std::map<std::string, std::string>& params, int runs);

}  // namespace goodbuy::store::pg::migrate

#endif  // GOODBUY_SERVER_STORE_PG_MIGRATE_PG_CHECKS_H_
