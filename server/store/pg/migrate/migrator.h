// Takes a database up and down the migrations in sql/ safely while the
// application keeps serving (docs/migrations.md is the operator's runbook).
//
// * Applied migrations are recorded in schema_migrations with an md5
//   checksum; an edited applied file, or an applied version this build does
//   not know, stops every command before it changes anything.
// * A PostgreSQL advisory lock keeps two migrators from interleaving; the
//   second waits (polling, so it never holds a snapshot that a concurrent
//   index build would wait for) up to `lock_wait`, then gives up cleanly.
// * Up runs the pre-migration rules once, then for each migration: its steps
//   (step_runner.h), the post-migration rules it makes runnable, and the key
//   queries' timings before and after. Any of the three automatic triggers —
//   a failed step, a rule that does not count 0, a key query more than
//   `max_slowdown` slower — runs the migration's rollback file and checks
//   the schema is exactly as before (pg_checks.h). Each event is a row in
//   schema_migration_log and a line to `log`.
//
// Not thread-safe; one Migrator per command.
#ifndef GOODBUY_SERVER_STORE_PG_MIGRATE_MIGRATOR_H_
#define GOODBUY_SERVER_STORE_PG_MIGRATE_MIGRATOR_H_

#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/pg/migrate/catalog.h"
#include "server/store/pg/migrate/lock_plan.h"
#include "server/store/pg/migrate/pg_checks.h"
#include "server/store/pg/migrate/step_runner.h"

namespace goodbuy::store::pg::migrate {

struct MigratorOptions {
  StepOptions steps;
  absl::Duration lock_wait = absl::Minutes(5);  // for another migrator
  int key_query_runs = 11;  // 0 turns the performance trigger off
  double max_slowdown = 0.20;
  // Medians closer than this are noise, whatever their ratio.
  absl::Duration slowdown_floor = absl::Milliseconds(1);
};

struct MigrationState {
  const Migration* migration = nullptr;
  bool applied = false;
  std::string applied_at;  // UTC
  bool edited = false;     // applied, and the file changed since
};

struct PlannedLock {
  LockUse use;
  bool existing = false;  // the relation exists now
  int64_t rows = 0;       // the planner's estimate, if existing
};
struct PlannedStatement {
  int line = 0;
  std::string summary;
  std::vector<PlannedLock> locks;
};
struct PlannedStep {
  std::string title;
  bool transactional = true;
  std::vector<PlannedStatement> statements;
};
struct PlannedMigration {
  const Migration* migration = nullptr;
  bool down = false;  // runs its rollback file
  std::string file;
  std::vector<PlannedStep> steps;
};

struct LogEntry {
  std::string at;  // UTC
  std::string migration;
  std::string action;
  std::string outcome;
  std::string reason;
  int64_t duration_ms = 0;
};

class Migrator {
 public:
  Migrator(std::string database_url, Catalog catalog, MigratorOptions options,
           LogFn log);
  ~Migrator();

  const Catalog& catalog() const { return catalog_; }

  absl::StatusOr<std::vector<MigrationState>> Status();
  // What `Up(target)` (or, for a target below what is applied,
  // `Down(target)`) would run, with the locks each statement takes. Changes
  // nothing.
  absl::StatusOr<std::vector<PlannedMigration>> Plan(
      const std::optional<std::string>& target);
  // Applies pending migrations up to `target` (all by default); returns how
  // many were applied.
  absl::StatusOr<int> Up(const std::optional<std::string>& target);
  // Rolls back applied migrations above `target` (default: the first
  // migration, the baseline, which has no rollback), newest first.
  absl::StatusOr<int> Down(const std::optional<std::string>& target);
  // The pre-migration rules and the post-migration rules of what is applied.
  absl::StatusOr<std::vector<RuleResult>> Validate();
  // The seed's rollback levels: 1 schema (Down to the baseline), 2 data,
  // 3 features.
  absl::Status Rollback(int level);
  // The newest `limit` rows of schema_migration_log, newest first.
  absl::StatusOr<std::vector<LogEntry>> History(int limit);

 private:
  struct Applied;
  struct Session;

  absl::StatusOr<std::unique_ptr<Session>> Open(bool lock);
  absl::Status CheckConsistent(const Session& session, bool check_edited) const;
  absl::Status ApplyOne(Session& session, const Migration& migration);
  absl::Status AutoRollback(Session& session, const Migration& migration,
                            const std::string& trigger,
                            const std::string& reason,
                            const SchemaFingerprint& before);
  absl::Status RollBackOne(Session& session, const Migration& migration);
  std::vector<const Check*> Runnable(const std::vector<Check>& checks,
                                     const std::map<std::string, bool>& applied,
                                     bool also_unrecorded_baseline) const;
  void Record(Session& session, const Migration* migration,
              const std::string& action, const std::string& outcome,
              const std::string& reason, absl::Duration duration,
              const std::string& details = "");

  const std::string database_url_;
  const Catalog catalog_;
  const MigratorOptions options_;
  const LogFn log_;
};

}  // namespace goodbuy::store::pg::migrate

#endif  // GOODBUY_SERVER_STORE_PG_MIGRATE_MIGRATOR_H_
