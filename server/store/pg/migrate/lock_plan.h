// Which table locks a migration statement takes, read from its text, for
// `migrate plan`. The modes follow PostgreSQL 15's documentation ("Explicit
// Locking", table-level lock modes, and the lock level named on each
// ALTER TABLE subcommand's reference page).
#ifndef GOODBUY_SERVER_STORE_PG_MIGRATE_LOCK_PLAN_H_
#define GOODBUY_SERVER_STORE_PG_MIGRATE_LOCK_PLAN_H_

#include <map>
#include <string>
#include <vector>

namespace goodbuy::store::pg::migrate {

struct LockUse {
  std::string mode;      // e.g. "SHARE ROW EXCLUSIVE"
  std::string relation;  // table, view or index name as written
};

// The foreign keys that exist now: table -> constraint -> referenced table.
// Dropping a foreign key (or a table that has one) also takes ACCESS
// EXCLUSIVE on the referenced table, which the statement does not name.
using ForeignKeys = std::map<std::string, std::map<std::string, std::string>>;

// The relation locks `statement` takes, one entry per relation with the
// strongest mode. Empty for statements that lock no table (SET, SELECT of
// constants, CREATE TYPE).
std::vector<LockUse> LocksTaken(const std::string& statement,
                                const ForeignKeys& foreign_keys = {});

// What application traffic a lock mode blocks: "nothing", "writes" or
// "reads and writes".
const char* BlockedTraffic(const std::string& mode);

}  // namespace goodbuy::store::pg::migrate

#endif  // GOODBUY_SERVER_STORE_PG_MIGRATE_LOCK_PLAN_H_
