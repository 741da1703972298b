#include "server/store/pg/migrate/migrator.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"

namespace goodbuy::store::pg::migrate {
namespace {

// pg_advisory_lock key: "goodbuy" in ASCII; as (classid, objid) in pg_locks.
constexpr int64_t kLockKey = 0x676f6f64627579;

// The migrator's own tables (left out of the schema fingerprint).
constexpr char kCreateTables[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version       text PRIMARY KEY,
  name          text NOT NULL,
  checksum      text NOT NULL,
  applied_at    timestamptz NOT NULL DEFAULT now(),
  duration_ms   integer NOT NULL DEFAULT 0
);
ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS schema_before text;
CREATE TABLE IF NOT EXISTS schema_migration_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  version     text,
  name        text,
  action      text NOT NULL,
  outcome     text NOT NULL,
  reason      text,
  duration_ms integer,
  details     text
);
)sql";

// The level 2 and 3 scripts reset and disable what phase 1 created; a
// level 2 reset makes the Free plan assignment (phase 2) pending again.
constexpr char kLevelScriptsNeed[] = "phase_1";
constexpr char kDataMigration[] = "phase_2";

std::string FirstLine(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

absl::Status ExceptionToStatus(const char* what) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat(
        what, ": lost the database connection: ", FirstLine(e.what())));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(what, ": ", FirstLine(e.what())));
  }
}

}  // namespace

struct Migrator::Applied {
  std::string name;
  std::string checksum;
  std::string applied_at;
  std::string schema_before;
};

struct Migrator::Session {
  std::unique_ptr<pqxx::connection> conn;
  bool locked = false;
  std::map<std::string, Applied> applied;        // by version
  std::map<std::string, std::string> checksums;  // by version
  std::map<std::string, std::string> params;     // key query variables

  bool IsApplied(const Migration& m) const { return applied.count(m.version); }
  std::map<std::string, bool> AppliedNames() const {
    std::map<std::string, bool> names;
    for (const auto& [version, row] : applied) names[row.name] = true;
    return names;
  }
  ~Session() {
    if (!locked) return;
    try {
      pqxx::nontransaction tx(*conn);
      tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kLockKey, ")"));
    } catch (...) {
      // The lock goes with the connection anyway.
    }
  }
};

Migrator::Migrator(std::string database_url, Catalog catalog,
                   MigratorOptions options, LogFn log)
    : database_url_(std::move(database_url)),
      catalog_(std::move(catalog)),
      options_(options),
      log_(std::move(log)) {}

Migrator::~Migrator() = default;

absl::StatusOr<std::unique_ptr<Migrator::Session>> Migrator::Open(bool lock) {
  auto session = std::make_unique<Session>();
  try {
    session->conn = std::make_unique<pqxx::connection>(database_url_);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the database: ", FirstLine(e.what())));
  }
  pqxx::connection& conn = *session->conn;
  if (lock) {
    // Poll rather than block in pg_advisory_lock: a waiting statement holds
    // a snapshot, which the other migrator's CREATE INDEX CONCURRENTLY would
    // wait for — a deadlock.
    const absl::Time deadline = absl::Now() + options_.lock_wait;
    bool told = false;
    while (true) {
      {
        pqxx::nontransaction tx(conn);
        if (tx.exec(absl::StrCat("SELECT pg_try_advisory_lock(", kLockKey,
                                 ")"))[0][0]
                .as<bool>()) {
          break;
        }
      }
      std::string holder = "?";
      {
        pqxx::nontransaction tx(conn);
        pqxx::result r = tx.exec_params(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = $1 AND objid = $2 AND objsubid = 1 AND database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())",
            static_cast<int64_t>(kLockKey >> 32),
            static_cast<int64_t>(kLockKey & 0xffffffff));
        if (!r.empty()) holder = r[0][0].c_str();
      }
      if (absl::Now() >= deadline) {
        return absl::AbortedError(absl::StrCat(
            "another migrator (database backend pid ", holder,
            ") holds the migration lock; gave up waiting after ",
            absl::FormatDuration(options_.lock_wait), "; nothing was changed"));
      }
      if (!told) {
        log_(absl::StrCat("another migrator (database backend pid ", holder,
                          ") holds the migration lock; waiting up to ",
                          absl::FormatDuration(options_.lock_wait)));
        told = true;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    session->locked = true;
    pqxx::nontransaction tx(conn);
    tx.exec(kCreateTables);
  }
  pqxx::nontransaction tx(conn);
  if (tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0]
          .as<bool>()) {
    const bool has_before =
        tx.exec(
              "SELECT count(*) FROM information_schema.columns WHERE "
              "table_name = 'schema_migrations' AND column_name = "
              "'schema_before'")[0][0]
            .as<int>() > 0;
    for (const auto& row : tx.exec(absl::StrCat(
             "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE "
             "'UTC', 'YYYY-MM-DD HH24:MI:SS'), ",
             has_before ? "coalesce(schema_before, '')" : "''",
             " FROM schema_migrations"))) {
      session->applied[row[0].c_str()] = Applied{
          row[1].c_str(), row[2].c_str(), row[3].c_str(), row[4].c_str()};
    }
  }
  for (const auto& m : catalog_.migrations()) {
    session->checksums[m.version] =
        tx.exec_params1("SELECT md5($1)", m.up.text)[0].c_str();
  }
  return session;
}

std::vector<const Check*> Migrator::Runnable(
    const std::vector<Check>& checks,
    const std::map<std::string, bool>& applied, bool all) const {
  std::vector<const Check*> runnable;
  for (const auto& check : checks) {
    if (all || applied.count(check.needs)) runnable.push_back(&check);
  }
  return runnable;
}

void Migrator::Record(Session& session, const Migration* migration,
                      const std::string& action, const std::string& outcome,
                      const std::string& reason, absl::Duration duration,
                      const std::string& details) {
  pqxx::nontransaction tx(*session.conn);
  tx.exec_params(
      "INSERT INTO schema_migration_log (version, name, action, outcome, "
      "reason, duration_ms, details) VALUES (NULLIF($1, ''), NULLIF($2, ''), "
      "$3, $4, NULLIF($5, ''), "
      "$6, NULLIF($7, ''))",
      migration ? migration->version : std::string(),
      migration ? migration->name : std::string(), action, outcome, reason,
      absl::ToInt64Milliseconds(duration), details);
}

// Refuses a database this build cannot reason about: an applied version it
// does not know, or (for commands that apply files) an applied file edited
// since.
absl::Status Migrator::CheckConsistent(const Session& session,
                                       bool check_edited) const {
  for (const auto& [version, row] : session.applied) {
    const Migration* migration = nullptr;
    for (const auto& m : catalog_.migrations()) {
      if (m.version == version && m.name == row.name) migration = &m;
    }
    if (migration == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database has migration ", version, "_", row.name,
          ", which this build does not know (is the database newer than this "
          "binary?); nothing was changed"));
    }
    if (check_edited && session.checksums.at(version) != row.checksum) {
      return absl::FailedPreconditionError(absl::StrCat(
          migration->label(),
          ".sql was edited after it was applied (its checksum differs from "
          "the one recorded); restore the applied version and put changes in "
          "a new migration; nothing was changed"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MigrationState>> Migrator::Status() {
  try {
    auto session = Open(/*lock=*/false);
    if (!session.ok()) return session.status();
    if (absl::Status st = CheckConsistent(**session, false); !st.ok())
      return st;
    std::vector<MigrationState> states;
    for (const auto& m : catalog_.migrations()) {
      MigrationState state;
      state.migration = &m;
      auto it = (*session)->applied.find(m.version);
      if (it != (*session)->applied.end()) {
        state.applied = true;
        state.applied_at = it->second.applied_at;
        state.edited = it->second.checksum != (*session)->checksums[m.version];
      }
      states.push_back(state);
    }
    return states;
  } catch (...) {
    return ExceptionToStatus("read migration status");
  }
}

absl::StatusOr<std::vector<PlannedMigration>> Migrator::Plan(
    const std::optional<std::string>& target) {
  const auto& all = catalog_.migrations();
  auto resolved =
      catalog_.TargetIndex(target, static_cast<int>(all.size()) - 1);
  if (!resolved.ok()) return resolved.status();
  const int target_index = *resolved;
  try {
    auto opened = Open(/*lock=*/false);
    if (!opened.ok()) return opened.status();
    Session& session = **opened;
    if (absl::Status st = CheckConsistent(session, true); !st.ok()) return st;
    int highest = -1;
    for (int i = 0; i < static_cast<int>(all.size()); ++i) {
      if (session.IsApplied(all[i])) highest = i;
    }
    std::map<std::string, int64_t> rows;
    {
      pqxx::nontransaction tx(*session.conn);
      for (const auto& row : tx.exec(
               "SELECT relname, greatest(reltuples, 0)::bigint FROM pg_class "
               "WHERE relnamespace = 'public'::regnamespace AND relkind IN "
               "('r', 'p', 'v', 'm')")) {
        rows[row[0].c_str()] = row[1].as<int64_t>();
      }
    }
    ForeignKeys foreign_keys;
    {
      pqxx::nontransaction tx(*session.conn);
      for (const auto& row : tx.exec(
               "SELECT conrelid::regclass::text, conname, "
               "confrelid::regclass::text FROM pg_constraint WHERE contype = "
               "'f' AND connamespace = 'public'::regnamespace")) {
        foreign_keys[row[0].c_str()][row[1].c_str()] = row[2].c_str();
      }
    }
    auto plan_script = [&](const Migration& m, const Script& script,
                           bool down) {
      PlannedMigration planned{
          &m, down, script.path.substr(script.path.rfind('/') + 1), {}};
      for (const auto& step : script.steps) {
        PlannedStep ps{step.title, step.transactional, {}};
        for (const auto& statement : step.statements) {
          PlannedStatement pst{
              statement.line, Summarize(statement.text, 90), {}};
          for (auto& use : LocksTaken(statement.text, foreign_keys)) {
            auto it = rows.find(use.relation);
            pst.locks.push_back(
                {use, it != rows.end(), it != rows.end() ? it->second : 0});
          }
          ps.statements.push_back(std::move(pst));
        }
        planned.steps.push_back(std::move(ps));
      }
      return planned;
    };
    std::vector<PlannedMigration> plan;
    if (target_index < highest) {
      for (int i = highest; i > target_index; --i) {
        if (!session.IsApplied(all[i])) continue;
        if (!all[i].down) {
          return absl::FailedPreconditionError(
              absl::StrCat(all[i].label(), " has no rollback file"));
        }
        plan.push_back(plan_script(all[i], *all[i].down, true));
      }
    } else {
      for (int i = 0; i <= target_index; ++i) {
        if (!session.IsApplied(all[i])) {
          plan.push_back(plan_script(all[i], all[i].up, false));
        }
      }
    }
    return plan;
  } catch (...) {
    return ExceptionToStatus("plan");
  }
}

absl::StatusOr<int> Migrator::Up(const std::optional<std::string>& target) {
  const auto& all = catalog_.migrations();
  auto resolved =
      catalog_.TargetIndex(target, static_cast<int>(all.size()) - 1);
  if (!resolved.ok()) return resolved.status();
  const int target_index = *resolved;
  try {
    auto opened = Open(/*lock=*/true);
    if (!opened.ok()) return opened.status();
    Session& session = **opened;
    if (absl::Status st = CheckConsistent(session, true); !st.ok()) return st;
    for (int i = target_index + 1; i < static_cast<int>(all.size()); ++i) {
      if (session.IsApplied(all[i])) {
        return absl::InvalidArgumentError(absl::StrCat(
            all[i].label(), " is applied, which is past '",
            all[target_index].name, "'; to go back run `migrate down --to ",
            all[target_index].name, "`"));
      }
    }
    int count = 0;
    bool pre_checked = false;
    for (int i = 0; i <= target_index; ++i) {
      const Migration& m = all[i];
      if (session.IsApplied(m)) continue;
      if (i > 0 && !pre_checked) {
        // The seed's pre-migration validation, before the first phase.
        for (const auto& result :
             RunRules(*session.conn, Runnable(catalog_.pre_rules(),
                                              session.AppliedNames(), false))) {
          if (!result.ok()) {
            return absl::FailedPreconditionError(absl::StrCat(
                "pre-migration validation failed, nothing was changed: '",
                result.rule->name, "' ",
                result.error.empty()
                    ? absl::StrCat("counted ", result.count, ", expected 0")
                    : absl::StrCat("could not run: ", result.error)));
          }
        }
        pre_checked = true;
      }
      if (absl::Status st = ApplyOne(session, m); !st.ok()) return st;
      ++count;
    }
    return count;
  } catch (...) {
    return ExceptionToStatus("migrate up");
  }
}

absl::Status Migrator::ApplyOne(Session& session, const Migration& m) {
  pqxx::connection& conn = *session.conn;
  const absl::Time start = absl::Now();
  log_(
      absl::StrCat("applying ", m.label(), " (", m.up.steps.size(), " steps)"));
  if (session.params.empty() && !session.applied.empty()) {
    session.params = ChooseKeyQueryParams(conn);
  }
  const SchemaFingerprint before = ReadSchema(conn);
  auto names = session.AppliedNames();
  const auto queries = Runnable(catalog_.key_queries(), names, false);
  std::map<std::string, double> timings_before;
  if (options_.key_query_runs > 0) {
    timings_before =
        TimeKeyQueries(conn, queries, session.params, options_.key_query_runs);
  }

  ScriptStats stats;
  absl::Status st = RunScript(conn, m.up, options_.steps, log_, &stats);
  if (absl::IsUnavailable(st)) {
    return absl::UnavailableError(absl::StrCat(
        st.message(), "; ", m.label(),
        " was not recorded and its files are re-runnable: run `migrate up` "
        "again, or `migrate down` to remove what it did"));
  }
  if (!st.ok()) {
    return AutoRollback(session, m, "step failed", std::string(st.message()),
                        before);
  }

  names[m.name] = true;
  const auto rules = Runnable(catalog_.post_rules(), names, false);
  for (const auto& result : RunRules(conn, rules)) {
    if (!result.ok()) {
      return AutoRollback(
          session, m, "validation failed",
          absl::StrCat(
              "'", result.rule->name, "' ",
              result.error.empty()
                  ? absl::StrCat("counted ", result.count, ", expected 0")
                  : absl::StrCat("could not run: ", result.error)),
          before);
    }
  }

  std::vector<std::string> timing_lines;
  if (options_.key_query_runs > 0) {
    const auto timings_after =
        TimeKeyQueries(conn, queries, session.params, options_.key_query_runs);
    for (const auto& [name, was] : timings_before) {
      const double now = timings_after.at(name);
      timing_lines.push_back(
          absl::StrFormat("%s %.3f -> %.3f ms", name, was, now));
      if (now > was * (1 + options_.max_slowdown) &&
          now - was > absl::ToDoubleMilliseconds(options_.slowdown_floor)) {
        return AutoRollback(
            session, m, "key query slower",
            absl::StrFormat(
                "'%s' median %.3f ms before, %.3f ms after (+%.0f%%, limit "
                "+%.0f%%)",
                name, was, now, (now / std::max(was, 1e-9) - 1) * 100,
                options_.max_slowdown * 100),
            before);
      }
    }
    pqxx::nontransaction tx(conn);
    if (tx.exec("SELECT to_regclass('query_performance_samples') IS NOT NULL")
            [0][0]
                .as<bool>()) {
      for (const auto& [name, ms] : timings_after) {
        tx.exec_params(
            "INSERT INTO query_performance_samples (query_name, duration_ms, "
            "phase, details) VALUES ($1, $2, $3, "
            "jsonb_build_object('source', 'migrator', 'runs', $4::int))",
            name, ms, absl::StrCat("after_", m.name), options_.key_query_runs);
      }
    }
  }

  const absl::Duration took = absl::Now() - start;
  {
    pqxx::nontransaction tx(conn);
    tx.exec_params(
        "INSERT INTO schema_migrations (version, name, checksum, duration_ms, "
        "schema_before) VALUES ($1, $2, $3, $4, $5)",
        m.version, m.name, session.checksums[m.version],
        absl::ToInt64Milliseconds(took), before.md5);
  }
  session.applied[m.version] =
      Applied{m.name, session.checksums[m.version], "", before.md5};
  const std::string details = absl::StrJoin(timing_lines, "; ");
  Record(session, &m, "up", "applied", "", took,
         details.empty() ? "" : "key queries: " + details);
  log_(absl::StrCat("applied ", m.label(), " in ",
                    absl::ToInt64Milliseconds(took), " ms (", stats.steps,
                    " steps, ", stats.retries, " lock retries, ", rules.size(),
                    " rules ok, ", timing_lines.size(), " key queries within ",
                    static_cast<int>(options_.max_slowdown * 100), "%)"));
  return absl::OkStatus();
}

absl::Status Migrator::AutoRollback(Session& session, const Migration& m,
                                    const std::string& trigger,
                                    const std::string& reason,
                                    const SchemaFingerprint& before) {
  const absl::Time start = absl::Now();
  const std::string cause = absl::StrCat(trigger, ": ", reason);
  log_(absl::StrCat("AUTOMATIC ROLLBACK of ", m.label(), " (", cause, ")"));
  Record(session, &m, "up", "trigger", cause, absl::ZeroDuration());
  if (!m.down) {
    return absl::FailedPreconditionError(
        absl::StrCat(m.label(), " failed (", cause,
                     "); it has no rollback file, so it was left as it is"));
  }
  absl::Status st = RunScript(*session.conn, *m.down, options_.steps, log_);
  if (!st.ok()) {
    Record(session, &m, "rollback", "rollback_failed",
           std::string(st.message()), absl::Now() - start);
    return absl::InternalError(
        absl::StrCat(m.label(), " failed (", cause,
                     ") and its automatic rollback failed "
                     "too: ",
                     st.message(),
                     "; fix the cause and run `migrate down` to "
                     "finish removing it"));
  }
  const auto diff = SchemaDiff(before, ReadSchema(*session.conn));
  if (!diff.empty()) {
    Record(session, &m, "rollback", "rollback_incomplete",
           absl::StrJoin(diff, "; "), absl::Now() - start);
    return absl::InternalError(
        absl::StrCat(m.label(), " failed (", cause, "); ", m.down->path,
                     " ran, but the schema differs from before the migration: ",
                     absl::StrJoin(diff, "; ")));
  }
  Record(session, &m, "rollback", "rolled_back", cause, absl::Now() - start);
  log_(absl::StrCat("rolled back ", m.label(), " in ",
                    absl::ToInt64Milliseconds(absl::Now() - start),
                    " ms; the schema is exactly as before it"));
  return absl::FailedPreconditionError(absl::StrCat(
      m.label(), " was rolled back automatically (", trigger, "): ", reason,
      "; the schema is exactly as it was before it"));
}

absl::StatusOr<int> Migrator::Down(const std::optional<std::string>& target) {
  const auto& all = catalog_.migrations();
  auto resolved = catalog_.TargetIndex(target, 0);
  if (!resolved.ok()) return resolved.status();
  const int target_index = *resolved;
  try {
    auto opened = Open(/*lock=*/true);
    if (!opened.ok()) return opened.status();
    Session& session = **opened;
    if (absl::Status st = CheckConsistent(session, true); !st.ok()) return st;
    int count = 0;
    for (int i = static_cast<int>(all.size()) - 1; i > target_index; --i) {
      if (!session.IsApplied(all[i])) continue;
      if (absl::Status st = RollBackOne(session, all[i]); !st.ok()) return st;
      ++count;
    }
    return count;
  } catch (...) {
    return ExceptionToStatus("migrate down");
  }
}

absl::Status Migrator::RollBackOne(Session& session, const Migration& m) {
  if (!m.down) {
    return absl::FailedPreconditionError(
        absl::StrCat(m.label(),
                     " has no rollback file (the baseline is the existing "
                     "database and is never rolled back)"));
  }
  const absl::Time start = absl::Now();
  log_(absl::StrCat("rolling back ", m.label(), " with ", m.down->path));
  ScriptStats stats;
  absl::Status st =
      RunScript(*session.conn, *m.down, options_.steps, log_, &stats);
  if (!st.ok()) {
    Record(session, &m, "down", "failed", std::string(st.message()),
           absl::Now() - start);
    return absl::FailedPreconditionError(absl::StrCat(
        m.label(), " could not be rolled back: ", st.message(),
        "; it is still recorded as applied; fix the cause and run `migrate "
        "down` again"));
  }
  {
    pqxx::nontransaction tx(*session.conn);
    tx.exec_params("DELETE FROM schema_migrations WHERE version = $1",
                   m.version);
  }
  const std::string expected = session.applied[m.version].schema_before;
  session.applied.erase(m.version);
  const SchemaFingerprint after = ReadSchema(*session.conn);
  std::string note;
  if (!expected.empty() && after.md5 != expected) {
    note =
        "the schema differs from the one recorded before it was applied "
        "(changed by something else since?)";
    log_(absl::StrCat("note: after rolling back ", m.label(), ", ", note));
  }
  const absl::Duration took = absl::Now() - start;
  Record(session, &m, "down", "rolled_back", note, took);
  log_(absl::StrCat("rolled back ", m.label(), " in ",
                    absl::ToInt64Milliseconds(took), " ms (", stats.steps,
                    " steps, ", stats.retries, " lock retries)"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<RuleResult>> Migrator::Validate() {
  try {
    auto opened = Open(/*lock=*/false);
    if (!opened.ok()) return opened.status();
    Session& session = **opened;
    if (absl::Status st = CheckConsistent(session, false); !st.ok()) return st;
    auto rules = Runnable(catalog_.pre_rules(), {}, /*all=*/true);
    for (const Check* rule :
         Runnable(catalog_.post_rules(), session.AppliedNames(), false)) {
      rules.push_back(rule);
    }
    return RunRules(*session.conn, rules);
  } catch (...) {
    return ExceptionToStatus("validate");
  }
}

absl::Status Migrator::Rollback(int level) {
  if (level == 1) return Down(std::nullopt).status();
  auto script = catalog_.LevelScript(level);
  if (!script.ok()) return script.status();
  try {
    auto opened = Open(/*lock=*/true);
    if (!opened.ok()) return opened.status();
    Session& session = **opened;
    if (absl::Status st = CheckConsistent(session, true); !st.ok()) return st;
    auto needed = catalog_.Find(kLevelScriptsNeed);
    if (!needed.ok() || !session.IsApplied(**needed)) {
      return absl::FailedPreconditionError(absl::StrCat(
          kLevelScriptsNeed, " is not applied: there is nothing for a level ",
          level, " rollback to reset"));
    }
    const absl::Time start = absl::Now();
    log_(absl::StrCat("level ", level, " rollback with ", script->path));
    if (absl::Status st =
            RunScript(*session.conn, *script, options_.steps, log_);
        !st.ok()) {
      Record(session, nullptr, absl::StrCat("rollback_level_", level), "failed",
             std::string(st.message()), absl::Now() - start);
      return st;
    }
    std::string note;
    if (auto data = catalog_.Find(kDataMigration);
        level == 2 && data.ok() && session.IsApplied(**data)) {
      pqxx::nontransaction tx(*session.conn);
      tx.exec_params("DELETE FROM schema_migrations WHERE version = $1",
                     (*data)->version);
      note = absl::StrCat((*data)->label(),
                          " is pending again: `migrate up` re-runs it");
      log_(note);
    }
    Record(session, nullptr, absl::StrCat("rollback_level_", level), "done",
           note, absl::Now() - start);
    return absl::OkStatus();
  } catch (...) {
    return ExceptionToStatus("rollback");
  }
}

absl::StatusOr<std::vector<LogEntry>> Migrator::History(int limit) {
  try {
    auto opened = Open(/*lock=*/false);
    if (!opened.ok()) return opened.status();
    pqxx::nontransaction tx(*(*opened)->conn);
    std::vector<LogEntry> entries;
    if (!tx.exec("SELECT to_regclass('schema_migration_log') IS NOT NULL")[0][0]
             .as<bool>()) {
      return entries;
    }
    for (const auto& row : tx.exec_params(
             "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), "
             "coalesce(version || '_' || name, '-'), action, outcome, "
             "coalesce(reason, ''), coalesce(duration_ms, 0) FROM "
             "schema_migration_log ORDER BY id DESC LIMIT $1",
             limit)) {
      entries.push_back({row[0].c_str(), row[1].c_str(), row[2].c_str(),
                         row[3].c_str(), row[4].c_str(), row[5].as<int64_t>()});
    }
    return entries;
  } catch (...) {
    return ExceptionToStatus("read the migration log");
  }
}

}  // namespace goodbuy::store::pg::migrate
