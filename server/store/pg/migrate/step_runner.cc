#include "server/store/pg/migrate/step_runner.h"

#include <algorithm>
#include <random>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/store/pg/migrate/sql_script.h"

namespace goodbuy::store::pg::migrate {
namespace {

// Lock not available (lock_timeout), deadlock, serialization failure: the
// step's transaction was rolled back and can simply run again.
bool Retryable(const std::string& sqlstate) {
  return sqlstate == "55P03" || sqlstate == "40P01" || sqlstate == "40001";
}

std::string FirstLine(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// The index a CREATE INDEX CONCURRENTLY statement builds, or "".
std::string ConcurrentIndexName(const std::string& statement) {
  static const std::regex kCreate(
      R"(^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?("[^"]+"|[\w$]+))",
      std::regex::icase);
  std::smatch m;
  return std::regex_search(statement, m, kCreate) ? m[1].str() : "";
}

enum class IndexState { kMissing, kValid, kInvalid };

IndexState ReadIndexState(pqxx::connection& conn, const std::string& index) {
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec_params(
      "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)",
      index);
  if (r.empty()) return IndexState::kMissing;
  return r[0][0].as<bool>() ? IndexState::kValid : IndexState::kInvalid;
}

void DropInvalidIndex(pqxx::connection& conn, const std::string& index,
                      const LogFn& log, const char* why) {
  if (ReadIndexState(conn, index) != IndexState::kInvalid) return;
  log(absl::StrCat("index ", index, " is INVALID (", why,
                   "); dropping it so it can be rebuilt"));
  pqxx::nontransaction tx(conn);
  tx.exec(absl::StrCat("DROP INDEX CONCURRENTLY IF EXISTS ", index));
}

void RunStep(pqxx::connection& conn, const SqlStep& step,
             const StepOptions& options, const LogFn& log) {
  if (step.transactional) {
    pqxx::work tx(conn);
    tx.exec(absl::StrCat("SET LOCAL lock_timeout = ",
                         absl::ToInt64Milliseconds(options.lock_timeout)));
    for (const auto& statement : step.statements) tx.exec(statement.text);
    tx.commit();
    return;
  }
  // Alone and outside a transaction. A concurrent index build takes SHARE
  // UPDATE EXCLUSIVE, which blocks no application query, so it may wait for
  // older transactions as long as it needs: no lock_timeout here.
  const std::string& text = step.statements.front().text;
  const std::string index = ConcurrentIndexName(text);
  if (!index.empty()) {
    DropInvalidIndex(conn, index, log, "left by an interrupted build");
  }
  try {
    pqxx::nontransaction tx(conn);
    tx.exec(text);
  } catch (const pqxx::sql_error&) {
    if (!index.empty()) {
      DropInvalidIndex(conn, index, log, "this build failed");
    }
    throw;
  }
  if (!index.empty() && ReadIndexState(conn, index) == IndexState::kInvalid) {
    throw std::runtime_error(absl::StrCat(
        "index ", index, " is INVALID after its concurrent build"));
  }
}

}  // namespace

absl::Status RunScript(pqxx::connection& conn, const Script& script,
                       const StepOptions& options, const LogFn& log,
                       ScriptStats* stats) {
  std::mt19937 random(std::random_device{}());
  const std::string file = script.path.substr(script.path.rfind('/') + 1);
  for (size_t i = 0; i < script.steps.size(); ++i) {
    const SqlStep& step = script.steps[i];
    const std::string where = absl::StrCat(
        file, " step ", i + 1, "/", script.steps.size(), " '", step.title, "'");
    absl::Duration backoff = absl::Milliseconds(100);
    for (int attempt = 0;; ++attempt) {
      try {
        RunStep(conn, step, options, log);
        break;
      } catch (const pqxx::broken_connection& e) {
        return absl::UnavailableError(absl::StrCat(
            where, ": lost the database connection: ", FirstLine(e.what())));
      } catch (const pqxx::sql_error& e) {
        if (Retryable(e.sqlstate()) && attempt < options.lock_retries) {
          // Full jitter: sleep a random time up to the current backoff.
          std::uniform_int_distribution<int64_t> jitter(
              absl::ToInt64Milliseconds(backoff) / 2,
              absl::ToInt64Milliseconds(backoff));
          const absl::Duration sleep = absl::Milliseconds(jitter(random));
          log(absl::StrCat(where, ": ", FirstLine(e.what()), " (attempt ",
                           attempt + 1, " of ", options.lock_retries + 1,
                           "); retrying in ", absl::FormatDuration(sleep)));
          if (stats != nullptr) ++stats->retries;
          absl::SleepFor(sleep);
          backoff = std::min(backoff * 2, options.max_backoff);
          continue;
        }
        // Which statement: PostgreSQL's error has no line of ours.
        std::string statement = e.query();
        if (statement.empty() && !step.statements.empty()) {
          statement = step.statements.front().text;
        }
        int line = 0;
        for (const auto& s : step.statements) {
          if (s.text == e.query()) line = s.line;
        }
        return absl::FailedPreconditionError(absl::StrCat(
            where, line > 0 ? absl::StrCat(" (line ", line, ")") : "",
            Retryable(e.sqlstate())
                ? absl::StrCat(" gave up after ", attempt + 1, " attempts")
                : "",
            ": ", FirstLine(e.what()), " [", Summarize(statement, 80), "]"));
      } catch (const std::exception& e) {
        return absl::FailedPreconditionError(
            absl::StrCat(where, ": ", FirstLine(e.what())));
      }
    }
    if (stats != nullptr) ++stats->steps;
  }
  return absl::OkStatus();
}

}  // namespace goodbuy::store::pg::migrate
