// The migration files in sql/, loaded and parsed: the migrations in order,
// each with its rollback file, the validation rules, the key queries and the
// level 2 / level 3 rollback scripts. Everything the migrator runs comes from
// here; nothing is run while loading.
//
// Layout (see docs/migrations.md):
//   NNN_<name>.sql                    a migration (001_baseline, 002_phase_1…)
//   rollback_<name>.sql               its down migration (all but baseline)
//   rollback_level_2_data.sql         seed's Level 2: reset the new data
//   rollback_level_3_features.sql     seed's Level 3: disable the features
//   validation/pre_migration.sql      `-- rule:` + `-- needs:`, each must be 0
//   validation/post_migration.sql
//   key_queries.sql                   `-- query:` + `-- needs:`, timed per
//   phase
#ifndef GOODBUY_SERVER_STORE_PG_MIGRATE_CATALOG_H_
#define GOODBUY_SERVER_STORE_PG_MIGRATE_CATALOG_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/pg/migrate/sql_script.h"

namespace goodbuy::store::pg::migrate {

struct Script {
  std::string path;
  std::string text;
  std::vector<SqlStep> steps;
};

struct Migration {
  std::string version;  // "004"
  std::string name;     // "phase_3"
  Script up;
  std::optional<Script> down;
  std::string label() const { return version + "_" + name; }
};

// A validation rule (must return 0) or a key query (timed).
struct Check {
  std::string name;   // the rule's text or the query's name
  std::string needs;  // migration name that must be applied to run it
  std::string sql;
};

class Catalog {
 public:
  // NOT_FOUND: no such folder. FAILED_PRECONDITION: a file that cannot be
  // parsed, two migrations with one version, a `needs:` naming no migration.
  static absl::StatusOr<Catalog> Load(const std::string& sql_dir);

  const std::vector<Migration>& migrations() const { return migrations_; }
  const std::vector<Check>& pre_rules() const { return pre_rules_; }
  const std::vector<Check>& post_rules() const { return post_rules_; }
  const std::vector<Check>& key_queries() const { return key_queries_; }

  // The migration named `target` ("phase_3") or versioned so ("004");
  // INVALID_ARGUMENT listing the known names otherwise.
  absl::StatusOr<const Migration*> Find(const std::string& target) const;
  // Position of a migration name in the order; -1 if unknown.
  int IndexOf(const std::string& name) const;
  // Position of `target` (as Find), or `otherwise` when there is none.
  absl::StatusOr<int> TargetIndex(const std::optional<std::string>& target,
                                  int otherwise) const;
  // The seed's Level 2 (2) or Level 3 (3) rollback script.
  absl::StatusOr<Script> LevelScript(int level) const;

 private:
  std::string dir_;
  std::vector<Migration> migrations_;
  std::vector<Check> pre_rules_;
  std::vector<Check> post_rules_;
  std::vector<Check> key_queries_;
};

// Reads and parses one SQL file.
absl::StatusOr<Script> LoadScript(const std::string& path);

}  // namespace goodbuy::store::pg::migrate

#endif  // GOODBUY_SERVER_STORE_PG_MIGRATE_CATALOG_H_
