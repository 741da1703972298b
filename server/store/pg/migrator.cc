#include "server/store/pg/migrator.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/store/pg/pg_errors.h"

namespace goodbuy::store::pg {
namespace {

namespace fs = std::filesystem;

// pg_advisory_lock key: "goodbuy" in ASCII.
constexpr int64_t kLockKey = 0x676f6f64627579;
constexpr char kNoTransaction[] = "-- migrate:no-transaction";

constexpr char kCreateTable[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version text PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now(),"
    " duration_ms integer NOT NULL DEFAULT 0)";

struct Applied {
  std::string name;
  std::string checksum;
  std::string applied_at;
};

std::map<std::string, Applied> ReadApplied(pqxx::transaction_base& tx) {
  std::map<std::string, Applied> applied;
  pqxx::result exists =
      tx.exec("SELECT to_regclass('schema_migrations') IS NOT NULL");
  if (!exists[0][0].as<bool>()) return applied;
  for (const auto& row : tx.exec(
           "SELECT version, name, checksum, to_char(applied_at AT TIME ZONE "
           "'UTC', 'YYYY-MM-DD HH24:MI:SS') FROM schema_migrations")) {
    applied[row[0].c_str()] =
        Applied{row[1].c_str(), row[2].c_str(), row[3].c_str()};
  }
  return applied;
}

std::string Checksum(pqxx::transaction_base& tx, const std::string& sql) {
  return tx.exec_params1("SELECT md5($1)", sql)[0].c_str();
}

}  // namespace

Migrator::Migrator(std::string database_url, std::string sql_dir)
    : database_url_(std::move(database_url)), sql_dir_(std::move(sql_dir)) {}

absl::StatusOr<std::vector<MigrationFile>> Migrator::Discover() const {
  std::error_code ec;
  if (!fs::is_directory(sql_dir_, ec)) {
    return absl::NotFoundError(
        absl::StrCat("migrations folder '", sql_dir_, "' does not exist"));
  }
  static const std::regex kName(R"(^(\d{3})_([a-z0-9_]+)\.sql$)");
  std::vector<MigrationFile> files;
  for (const auto& entry : fs::directory_iterator(sql_dir_, ec)) {
    const std::string filename = entry.path().filename().string();
    std::smatch m;
    if (!entry.is_regular_file() || !std::regex_match(filename, m, kName)) {
      continue;
    }
    std::ifstream in(entry.path());
    std::stringstream buffer;
    buffer << in.rdbuf();
    MigrationFile file{m[1], m[2], entry.path().string(), buffer.str(), true};
    file.transactional = !absl::StartsWith(file.sql, kNoTransaction);
    files.push_back(std::move(file));
  }
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  for (size_t i = 1; i < files.size(); ++i) {
    if (files[i].version == files[i - 1].version) {
      return absl::FailedPreconditionError(
          absl::StrCat("two migrations share version ", files[i].version));
    }
  }
  return files;
}

absl::StatusOr<std::vector<MigrationState>> Migrator::Status() {
  auto files = Discover();
  if (!files.ok()) return files.status();
  try {
    pqxx::connection conn(database_url_);
    pqxx::read_transaction tx(conn);
    auto applied = ReadApplied(tx);
    std::vector<MigrationState> states;
    for (auto& file : *files) {
      MigrationState state;
      auto it = applied.find(file.version);
      if (it != applied.end()) {
        state.applied = true;
        state.applied_at = it->second.applied_at;
        state.edited = it->second.checksum != Checksum(tx, file.sql);
        applied.erase(it);
      }
      state.file = std::move(file);
      states.push_back(std::move(state));
    }
    if (!applied.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the database has migration ", applied.begin()->first, " (",
          applied.begin()->second.name,
          ") that this binary does not know; is it newer than this build?"));
    }
    return states;
  } catch (...) {
    return CurrentExceptionToStatus("read migration status");
  }
}

absl::StatusOr<int> Migrator::Up(
    const std::function<void(const std::string&)>& log) {
  auto files = Discover();
  if (!files.ok()) return files.status();
  try {
    pqxx::connection conn(database_url_);
    {
      pqxx::nontransaction tx(conn);
      tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kLockKey, ")"));
      tx.exec(kCreateTable);
    }
    struct Unlock {
      pqxx::connection& conn;
      ~Unlock() {
        try {
          pqxx::nontransaction tx(conn);
          tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kLockKey, ")"));
        } catch (...) {
        }
      }
    } unlock{conn};

    // Check everything before changing anything.
    std::map<std::string, Applied> applied;
    std::vector<std::string> checksums;
    {
      pqxx::read_transaction tx(conn);
      applied = ReadApplied(tx);
      for (const auto& file : *files) {
        checksums.push_back(Checksum(tx, file.sql));
        auto it = applied.find(file.version);
        if (it != applied.end() && it->second.checksum != checksums.back()) {
          return absl::FailedPreconditionError(absl::StrCat(
              "migration ", file.version, "_", file.name,
              ".sql was edited after it was applied; restore it or add a new "
              "migration instead"));
        }
      }
      for (const auto& [version, row] : applied) {
        if (std::none_of(files->begin(), files->end(),
                         [&](const auto& f) { return f.version == version; })) {
          return absl::FailedPreconditionError(absl::StrCat(
              "the database has migration ", version, " (", row.name,
              ") that this binary does not know; is it newer than this "
              "build?"));
        }
      }
    }

    int count = 0;
    for (size_t i = 0; i < files->size(); ++i) {
      const auto& file = (*files)[i];
      if (applied.count(file.version)) continue;
      const absl::Time start = absl::Now();
      const std::string label = absl::StrCat(file.version, "_", file.name);
      try {
        // Runs the file and records it, in whichever transaction kind the
        // file asks for.
        auto apply = [&](pqxx::transaction_base& tx) {
          tx.exec(file.sql);
          tx.exec_params(
              "INSERT INTO schema_migrations (version, name, "
              "checksum, duration_ms) VALUES ($1, $2, $3, $4)",
              file.version, file.name, checksums[i],
              absl::ToInt64Milliseconds(absl::Now() - start));
        };
        if (file.transactional) {
          pqxx::work tx(conn);
          apply(tx);
          tx.commit();
        } else {
          pqxx::nontransaction tx(conn);
          apply(tx);
        }
      } catch (const pqxx::sql_error& e) {
        // The operator's terminal gets PostgreSQL's first line (e.g.
        // `ERROR:  relation "x" does not exist`), not the statement text.
        std::string reason = e.what();
        reason = reason.substr(0, reason.find('\n'));
        return absl::FailedPreconditionError(absl::StrCat(
            "migration ", label, " failed and was rolled back: ", reason));
      }
      ++count;
      log(absl::StrCat("applied ", label, " in ",
                       absl::ToInt64Milliseconds(absl::Now() - start), " ms"));
    }
    return count;
  } catch (...) {
    return CurrentExceptionToStatus("migrate");
  }
}

}  // namespace goodbuy::store::pg
