// The migrations against a real, empty PostgreSQL database: they apply
// cleanly, are idempotent, and the migrator refuses — changing nothing — when
// an applied file was edited or the database has a version it does not know.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "server/store/pg/migrator.h"
#include "tests/testing/test_env.h"

namespace goodbuy::store::pg {
namespace {

namespace fs = std::filesystem;
using ::goodbuy::testing::QueryValue;
using ::goodbuy::testing::RunCommand;
using ::goodbuy::testing::ScratchDatabase;
using ::goodbuy::testing::SqlDir;
using ::testing::HasSubstr;

// A copy of sql/ in a temporary folder, removed on destruction.
class SqlCopy {
 public:
  SqlCopy() {
    char tmpl[] = "/tmp/goodbuy-sql-XXXXXX";
    dir_ = mkdtemp(tmpl);
    fs::copy(SqlDir(), dir_, fs::copy_options::recursive);
  }
  ~SqlCopy() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const std::string& dir() const { return dir_; }
  void Append(const std::string& file, const std::string& text) {
    std::ofstream out(dir_ + "/" + file, std::ios::app);
    out << text;
  }
  void Write(const std::string& file, const std::string& text) {
    std::ofstream out(dir_ + "/" + file);
    out << text;
  }

 private:
  std::string dir_;
};

int MigrationFileCount() {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(SqlDir())) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && std::isdigit(static_cast<unsigned char>(name[0])) &&
        name.substr(name.size() - 4) == ".sql") {
      ++n;
    }
  }
  return n;
}

absl::StatusOr<int> Up(Migrator& migrator, std::vector<std::string>* log) {
  return migrator.Up([log](const std::string& line) { log->push_back(line); });
}

bool TableExists(const std::string& url, const std::string& table) {
  return QueryValue(url, "SELECT to_regclass('public." + table +
                             "') IS NOT NULL") == "t";
}

std::string AppliedCount(const std::string& url) {
  return QueryValue(url, "SELECT count(*) FROM schema_migrations");
}

TEST(MigrationsTest, ApplyToEmptyDatabaseThenNothingIsPending) {
  ScratchDatabase db;
  ASSERT_FALSE(TableExists(db.url(), "ai_analysis_sessions"));
  Migrator migrator(db.url(), SqlDir());
  auto files = migrator.Discover();
  ASSERT_TRUE(files.ok()) << files.status();
  const int n = MigrationFileCount();
  ASSERT_GE(n, 7);
  ASSERT_EQ(static_cast<int>(files->size()), n);
  for (size_t i = 1; i < files->size(); ++i) {
    EXPECT_LT((*files)[i - 1].version, (*files)[i].version);
  }

  std::vector<std::string> log;
  auto applied = Up(migrator, &log);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, n);
  EXPECT_EQ(static_cast<int>(log.size()), n);
  EXPECT_THAT(log.front(), HasSubstr("001_baseline"));
  EXPECT_EQ(AppliedCount(db.url()), std::to_string(n));

  log.clear();
  auto again = Up(migrator, &log);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(AppliedCount(db.url()), std::to_string(n));

  auto status = migrator.Status();
  ASSERT_TRUE(status.ok()) << status.status();
  ASSERT_EQ(static_cast<int>(status->size()), n);
  for (const auto& state : *status) {
    EXPECT_TRUE(state.applied) << state.file.version;
    EXPECT_FALSE(state.edited) << state.file.version;
    EXPECT_FALSE(state.applied_at.empty()) << state.file.version;
  }

  for (const char* table :
       {"users", "businesses", "health_metrics", "forecast_results",
        "subscription_plans", "user_subscriptions", "usage_metrics",
        "billing_transactions", "ai_analysis_sessions", "portfolios",
        "portfolio_businesses", "generated_reports", "session_events",
        "business_financial_periods"}) {
    EXPECT_TRUE(TableExists(db.url(), table)) << table;
  }
  // The orchestrator's additive columns are there too.
  EXPECT_EQ(QueryValue(db.url(),
                       "SELECT count(*) FROM information_schema.columns WHERE "
                       "table_name = 'ai_analysis_sessions' AND column_name IN "
                       "('request_id', 'attempt', 'lease_owner', "
                       "'lease_expires_at', 'last_sequence')"),
            "5");
}

TEST(MigrationsTest, CommandLineMigrateUpIsIdempotent) {
  ScratchDatabase db;
  for (int run = 0; run < 2; ++run) {
    std::string output;
    const int rc =
        RunCommand({GOODBUY_SERVER_BIN, "migrate", "up",
                    "--database_url=" + db.url(), "--sql_dir=" + SqlDir()},
                   &output);
    EXPECT_EQ(rc, 0) << "run " << run << ":\n" << output;
  }
  EXPECT_EQ(AppliedCount(db.url()), std::to_string(MigrationFileCount()));
  // The demo data loads on top of the migrated schema.
  ::goodbuy::testing::ExecSqlFile(db.url(), SqlDir() + "/demo/demo_data.sql");
  EXPECT_EQ(QueryValue(db.url(),
                       "SELECT count(*) FROM businesses WHERE id = "
                       "'biz_demo_cafe'"),
            "1");
}

TEST(MigrationsTest, EditedAppliedFileFailsAndChangesNothing) {
  ScratchDatabase db;
  {
    Migrator migrator(db.url(), SqlDir());
    std::vector<std::string> log;
    ASSERT_TRUE(Up(migrator, &log).ok());
  }
  SqlCopy copy;
  copy.Append("002_phase_1.sql", "\n-- an innocent-looking edit\n");
  // A new pending migration that must not be applied while the edit stands.
  copy.Write("099_marker.sql", "CREATE TABLE migration_marker (x int);\n");
  const std::string before = AppliedCount(db.url());

  Migrator migrator(db.url(), copy.dir());
  std::vector<std::string> log;
  auto result = Up(migrator, &log);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("edited"));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("002"));
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(AppliedCount(db.url()), before);
  EXPECT_FALSE(TableExists(db.url(), "migration_marker"));

  auto status = migrator.Status();
  ASSERT_TRUE(status.ok()) << status.status();
  for (const auto& state : *status) {
    EXPECT_EQ(state.edited, state.file.version == "002") << state.file.version;
    EXPECT_EQ(state.applied, state.file.version != "099") << state.file.version;
  }
}

TEST(MigrationsTest, UnknownAppliedVersionFails) {
  ScratchDatabase db;
  Migrator migrator(db.url(), SqlDir());
  std::vector<std::string> log;
  ASSERT_TRUE(Up(migrator, &log).ok());
  QueryValue(db.url(),
             "INSERT INTO schema_migrations (version, name, checksum) VALUES "
             "('999', 'from_the_future', 'x')");
  log.clear();
  auto result = Up(migrator, &log);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("999"));
  EXPECT_TRUE(log.empty());
  auto status = migrator.Status();
  EXPECT_EQ(status.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MigrationsTest, FailingMigrationIsRolledBackAndNotRecorded) {
  ScratchDatabase db;
  SqlCopy copy;
  copy.Write("099_broken.sql",
             "CREATE TABLE half_done (x int);\nSELECT 1 / 0;\n");
  Migrator migrator(db.url(), copy.dir());
  std::vector<std::string> log;
  auto result = Up(migrator, &log);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("099_broken"));
  // Everything before it was applied; it left no trace.
  EXPECT_EQ(static_cast<int>(log.size()), MigrationFileCount());
  EXPECT_FALSE(TableExists(db.url(), "half_done"));
  EXPECT_EQ(QueryValue(db.url(),
                       "SELECT count(*) FROM schema_migrations "
                       "WHERE version = '099'"),
            "0");
}

TEST(MigrationsTest, MissingFolderAndUnreachableDatabase) {
  ScratchDatabase db;
  Migrator no_folder(db.url(), "/nonexistent/goodbuy/sql");
  std::vector<std::string> log;
  EXPECT_EQ(Up(no_folder, &log).status().code(), absl::StatusCode::kNotFound);

  Migrator unreachable("postgresql://postgres@127.0.0.1:1/none", SqlDir());
  auto result = Up(unreachable, &log);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable)
      << result.status();
  EXPECT_EQ(unreachable.Status().status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace goodbuy::store::pg
