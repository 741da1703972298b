// Applies the versioned SQL files in sql/ in order and reports their state.
//
// A migration is a file `NNN_<name>.sql`; its down migration is
// `rollback_<name>.sql` beside it. Each applies in one transaction (unless
// its first line is `-- migrate:no-transaction`, for CREATE INDEX
// CONCURRENTLY) and is recorded in schema_migrations with an md5 checksum.
// Up() holds a PostgreSQL advisory lock, so two migrators never interleave,
// and refuses to run — changing nothing — when an applied file was edited
// or the database has a version this binary does not know.
//
// Not thread-safe; one Migrator per command. Errors: UNAVAILABLE (cannot
// connect), FAILED_PRECONDITION (edited file, unknown version, a statement
// failed — the failing migration is rolled back), NOT_FOUND (no sql folder).
#ifndef GOODBUY_SERVER_STORE_PG_MIGRATOR_H_
#define GOODBUY_SERVER_STORE_PG_MIGRATOR_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace goodbuy::store::pg {

struct MigrationFile {
  std::string version;  // "002"
  std::string name;     // "phase_1"
  std::string path;
  std::string sql;
  bool transactional = true;
};

struct MigrationState {
  MigrationFile file;
  bool applied = false;
  std::string applied_at;  // UTC, when applied
  bool edited = false;     // applied, but the file changed since
};

class Migrator {
 public:
  Migrator(std::string database_url, std::string sql_dir);

  absl::StatusOr<std::vector<MigrationFile>> Discover() const;
  absl::StatusOr<std::vector<MigrationState>> Status();
  // Applies what is pending, in order; `log` gets one line per migration.
  // Returns how many were applied.
  absl::StatusOr<int> Up(const std::function<void(const std::string&)>& log);

 private:
  const std::string database_url_;
  const std::string sql_dir_;
};

}  // namespace goodbuy::store::pg

#endif  // GOODBUY_SERVER_STORE_PG_MIGRATOR_H_
