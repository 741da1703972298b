// Which table locks a migration statement takes, read from its text, for
// `migrate plan`. The modes follow PostgreSQL 15's documentation ("Explicit
// Locking", table-level lock modes, and the lock level named on each
// ALTER TABLE subcommand's reference page).
#ifndef GOODBUY_SERVER_STORE_PG_MIGRATE_LOCK_PLAN_H_
#define GOODBUY_SERVER_STORE_PG_MIGRATE_LOCK_PLAN_H_

#include <string>
#include <vector>

namespace goodbuy::store::pg::migrate {

struct LockUse {
  std::string mode;      // e.g. "SHARE ROW EXCLUSIVE"
  std::string relation;  // table, view or index name as written
};

// The relation locks `statement` takes, strongest first per relation. Empty
// for statements that lock no table (SET, SELECT of constants, CREATE TYPE).
std::vector<LockUse> LocksTaken(const std::string& statement);

// What application traffic a lock mode blocks: "nothing", "writes" or
// "reads and writes".
const char* BlockedTraffic(const std::string& mode);

}  // namespace goodbuy::store::pg::migrate

#endif  // GOODBUY_SERVER_STORE_PG_MIGRATE_LOCK_PLAN_H_
