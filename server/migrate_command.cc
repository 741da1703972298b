#include "server/migrate_command.h"

#include <cstdio>
#include <iostream>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/store/pg/migrate/migrator.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(std::string, to, "",
          "migrate up/down/plan: the migration to stop at, by name "
          "(baseline, phase_1 … phase_5, orchestrator) or version (004); "
          "up: the last one, down: baseline");
ABSL_FLAG(int, level, 0,
          "migrate rollback: 1 schema (every phase's rollback file), 2 data "
          "(empty the subscription tables, keep them), 3 features (disable "
          "every plan, keep the data)");
ABSL_FLAG(int, lock_timeout_ms, 500,
          "migrate: how long a DDL step may queue for a table lock (and so "
          "hold application queries behind it) before it backs off and "
          "retries");
ABSL_FLAG(int, lock_retries, 20,
          "migrate: retries per step after a lock timeout or deadlock");
ABSL_FLAG(int, lock_wait_s, 300,
          "migrate: seconds to wait for another migrator to finish; 0 gives "
          "up at once");
ABSL_FLAG(int, key_query_runs, 11,
          "migrate up: timings per key query before and after each "
          "migration (median compared); 0 turns the performance trigger off");
ABSL_FLAG(double, max_slowdown, 0.20,
          "migrate up: roll a migration back when a key query's median gets "
          "slower by more than this fraction …");
ABSL_FLAG(double, slowdown_floor_ms, 1.0,
          "… and by more than this many milliseconds (smaller differences "
          "are noise)");
ABSL_FLAG(int, limit, 20, "migrate log: how many entries to show");

namespace goodbuy::server {
namespace {

namespace mg = ::goodbuy::store::pg::migrate;

int Fail(const std::string& message, int code = 1) {
  std::cerr << "analysis-server: " << message << "\n";
  return code;
}

int ExitCode(const absl::Status& status) {
  return absl::IsInvalidArgument(status) ? 2 : 1;
}

std::optional<std::string> Target() {
  const std::string to = absl::GetFlag(FLAGS_to);
  return to.empty() ? std::nullopt : std::optional<std::string>(to);
}

int PrintStatus(mg::Migrator& migrator) {
  auto states = migrator.Status();
  if (!states.ok()) return Fail(std::string(states.status().message()));
  int pending = 0;
  for (const auto& s : *states) {
    std::string state =
        s.applied ? absl::StrCat("applied ", s.applied_at, " UTC") : "pending";
    if (s.edited) state += "  EDITED SINCE APPLIED";
    pending += s.applied ? 0 : 1;
    std::printf("%s  %-14s %s\n", s.migration->version.c_str(),
                s.migration->name.c_str(), state.c_str());
  }
  std::printf("%d pending\n", pending);
  return 0;
}

int PrintPlan(mg::Migrator& migrator) {
  auto plan = migrator.Plan(Target());
  if (!plan.ok())
    return Fail(std::string(plan.status().message()), ExitCode(plan.status()));
  if (plan->empty()) {
    std::printf("nothing to do\n");
    return 0;
  }
  std::printf(
      "plan (dry run, nothing is changed); DDL steps run with "
      "lock_timeout %dms and up to %d retries\n",
      absl::GetFlag(FLAGS_lock_timeout_ms), absl::GetFlag(FLAGS_lock_retries));
  for (const auto& m : *plan) {
    std::printf("\n%s %s  (%s, %zu steps)\n", m.down ? "DOWN" : "UP",
                m.migration->label().c_str(), m.file.c_str(), m.steps.size());
    for (size_t i = 0; i < m.steps.size(); ++i) {
      const auto& step = m.steps[i];
      std::printf("  step %zu/%zu %s  [%s]\n", i + 1, m.steps.size(),
                  step.title.c_str(),
                  step.transactional ? "one transaction"
                                     : "no transaction, runs alone");
      for (const auto& st : step.statements) {
        std::printf("    line %-4d %s\n", st.line, st.summary.c_str());
        for (const auto& lock : st.locks) {
          if (lock.use.relation == "(PL/pgSQL)") {
            std::printf(
                "              PL/pgSQL block: its locks depend on "
                "what it runs\n");
          } else if (!lock.existing) {
            std::printf(
                "              %s on %s (not there yet: no traffic "
                "to block)\n",
                lock.use.mode.c_str(), lock.use.relation.c_str());
          } else {
            std::printf(
                "              %s on %s (existing, ~%lld rows): "
                "blocks %s\n",
                lock.use.mode.c_str(), lock.use.relation.c_str(),
                static_cast<long long>(lock.rows),
                mg::BlockedTraffic(lock.use.mode));
          }
        }
      }
    }
  }
  return 0;
}

int PrintValidation(mg::Migrator& migrator) {
  auto results = migrator.Validate();
  if (!results.ok()) return Fail(std::string(results.status().message()));
  int failed = 0;
  for (const auto& r : *results) {
    if (r.ok()) {
      std::printf("ok     %s\n", r.rule->name.c_str());
    } else if (!r.error.empty()) {
      ++failed;
      std::printf("ERROR  %s: %s\n", r.rule->name.c_str(), r.error.c_str());
    } else {
      ++failed;
      std::printf("FAIL   %s: counted %lld, expected 0\n", r.rule->name.c_str(),
                  static_cast<long long>(r.count));
    }
  }
  std::printf("%zu rules, %d failed\n", results->size(), failed);
  return failed == 0 ? 0 : 1;
}

int PrintLog(mg::Migrator& migrator) {
  auto entries = migrator.History(absl::GetFlag(FLAGS_limit));
  if (!entries.ok()) return Fail(std::string(entries.status().message()));
  for (const auto& e : *entries) {
    std::printf("%s UTC  %-22s %-18s %-20s %6lld ms  %s\n", e.at.c_str(),
                e.migration.c_str(), e.action.c_str(), e.outcome.c_str(),
                static_cast<long long>(e.duration_ms), e.reason.c_str());
  }
  return 0;
}

}  // namespace

std::string DescribeUrl(const std::string& url) {
  std::string rest = url;
  if (auto scheme = rest.find("://"); scheme != std::string::npos) {
    rest = rest.substr(scheme + 3);
  }
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    rest = rest.substr(at + 1);
  }
  return rest.substr(0, rest.find('?'));
}

int RunMigrateCommand(const std::vector<std::string>& args,
                      const std::string& database_url,
                      const std::string& sql_dir) {
  const std::string verb = args.empty() ? "" : args[0];
  static const char* const kVerbs[] = {"status",   "plan",     "up", "down",
                                       "validate", "rollback", "log"};
  if (std::find(std::begin(kVerbs), std::end(kVerbs), verb) ==
      std::end(kVerbs)) {
    return Fail(absl::StrCat("unknown migrate command '", verb,
                             "' (expected status, plan, up, down, validate, "
                             "rollback or log)"),
                2);
  }
  if (args.size() > 1) {
    return Fail(absl::StrCat("unexpected argument '", args[1],
                             "' (flags go as --to=PHASE, --level=N)"),
                2);
  }
  const int level = absl::GetFlag(FLAGS_level);
  if (verb == "rollback" && (level < 1 || level > 3)) {
    return Fail("migrate rollback needs --level=1, 2 or 3", 2);
  }
  if (database_url.empty()) {
    return Fail("no database: set DATABASE_URL or --database_url");
  }
  auto catalog = mg::Catalog::Load(sql_dir);
  if (!catalog.ok()) return Fail(std::string(catalog.status().message()));

  mg::MigratorOptions options;
  options.steps.lock_timeout =
      absl::Milliseconds(absl::GetFlag(FLAGS_lock_timeout_ms));
  options.steps.lock_retries = absl::GetFlag(FLAGS_lock_retries);
  options.lock_wait = absl::Seconds(absl::GetFlag(FLAGS_lock_wait_s));
  options.key_query_runs = absl::GetFlag(FLAGS_key_query_runs);
  options.max_slowdown = absl::GetFlag(FLAGS_max_slowdown);
  options.slowdown_floor =
      absl::Milliseconds(absl::GetFlag(FLAGS_slowdown_floor_ms));
  mg::Migrator migrator(
      database_url, std::move(*catalog), options,
      [](const std::string& line) { spdlog::info("migrate: {}", line); });
  const std::string where = absl::StrCat(" on ", DescribeUrl(database_url));

  if (verb == "status") return PrintStatus(migrator);
  if (verb == "plan") return PrintPlan(migrator);
  if (verb == "validate") return PrintValidation(migrator);
  if (verb == "log") return PrintLog(migrator);
  if (verb == "rollback") {
    absl::Status status = migrator.Rollback(level);
    if (!status.ok()) {
      return Fail(absl::StrCat("migrate rollback --level=", level, where, ": ",
                               status.message()),
                  ExitCode(status));
    }
    std::printf("level %d rollback done\n", level);
    return 0;
  }
  const bool up = verb == "up";
  auto count = up ? migrator.Up(Target()) : migrator.Down(Target());
  if (!count.ok()) {
    return Fail(
        absl::StrCat("migrate ", verb, where, ": ", count.status().message()),
        ExitCode(count.status()));
  }
  if (*count == 0) {
    std::printf("nothing to do: the database is already there\n");
  } else {
    std::printf("%s %d migration(s)\n", up ? "applied" : "rolled back", *count);
  }
  return 0;
}

}  // namespace goodbuy::server
