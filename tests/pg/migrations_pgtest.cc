// The migrator against a real PostgreSQL: it walks the phases up and down,
// each automatic rollback trigger fires on an injected cause and leaves the
// database exactly as before the phase, an interrupted concurrent index
// build is rebuilt, DDL waiting for a lock backs off and retries, the seed's
// rollback levels do what they say, and edited or unknown migrations stop it
// before it changes anything.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "server/store/pg/migrate/migrator.h"
#include "tests/testing/test_env.h"

namespace goodbuy::store::pg::migrate {
namespace {

namespace fs = std::filesystem;
using ::goodbuy::testing::ExecSql;
using ::goodbuy::testing::QueryValue;
using ::goodbuy::testing::ScratchDatabase;
using ::goodbuy::testing::SqlDir;
using ::testing::Contains;
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
    std::ofstream(dir_ + "/" + file, std::ios::app) << "\n" << text << "\n";
  }

 private:
  std::string dir_;
};

// A migrator on `url` reading `sql_dir`, collecting its log lines.
class TestMigrator {
 public:
  explicit TestMigrator(const std::string& url,
                        const std::string& sql_dir = SqlDir(),
                        MigratorOptions options = Fast()) {
    auto catalog = Catalog::Load(sql_dir);
    EXPECT_TRUE(catalog.ok()) << catalog.status();
    migrator_ = std::make_unique<Migrator>(
        url, std::move(*catalog), options,
        [this](const std::string& line) { log_.push_back(line); });
  }
  static MigratorOptions Fast() {
    MigratorOptions options;
    options.key_query_runs = 5;
    options.lock_wait = absl::Seconds(5);
    return options;
  }
  Migrator* operator->() { return migrator_.get(); }
  const std::vector<std::string>& log() const { return log_; }
  bool Logged(const std::string& text) const {
    for (const auto& line : log_) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::unique_ptr<Migrator> migrator_;
  std::vector<std::string> log_;
};

SchemaFingerprint Schema(const std::string& url) {
  pqxx::connection conn(url);
  return ReadSchema(conn);
}

bool TableExists(const std::string& url, const std::string& table) {
  return QueryValue(url, "SELECT to_regclass('public." + table +
                             "') IS NOT NULL") == "t";
}

std::string Applied(const std::string& url) {
  return QueryValue(url,
                    "SELECT string_agg(name, ',' ORDER BY version) FROM "
                    "schema_migrations");
}

std::string LogOutcomes(const std::string& url, const std::string& name) {
  return QueryValue(url,
                    "SELECT string_agg(action || '/' || outcome, ',' ORDER BY "
                    "id) FROM schema_migration_log WHERE name = '" +
                        name + "'");
}

constexpr char kAllPhases[] =
    "baseline,phase_1,phase_2,phase_3,phase_4,phase_5,orchestrator,durability,"
    "tenancy,claim_queue";

void AddUsers(const std::string& url, int n) {
  ExecSql(url,
          "INSERT INTO users (id, email, status, user_type) SELECT 'u' || i, "
          "'u' || i || '@example.com', 'ACTIVE', 'BUYER' FROM "
          "generate_series(1, " +
              std::to_string(n) + ") i");
}

TEST(MigratorTest, AppliesEveryPhaseOnceThenNothingIsPending) {
  ScratchDatabase db;
  TestMigrator migrator(db.url());
  auto applied = migrator->Up(std::nullopt);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(*applied, 10);
  EXPECT_EQ(Applied(db.url()), kAllPhases);
  EXPECT_TRUE(migrator.Logged("applied 006_phase_5"));
  EXPECT_EQ(LogOutcomes(db.url(), "phase_3"), "up/applied");

  auto again = migrator->Up(std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, 0);

  auto status = migrator->Status();
  ASSERT_TRUE(status.ok()) << status.status();
  for (const auto& state : *status) {
    EXPECT_TRUE(state.applied) << state.migration->label();
    EXPECT_FALSE(state.edited) << state.migration->label();
  }
  // Every validation rule holds on the migrated database.
  auto rules = migrator->Validate();
  ASSERT_TRUE(rules.ok()) << rules.status();
  for (const auto& rule : *rules) {
    EXPECT_TRUE(rule.ok()) << rule.rule->name << ": " << rule.count << " "
                           << rule.error;
  }
  // The seed's indexes were built concurrently and are valid.
  EXPECT_EQ(QueryValue(db.url(),
                       "SELECT count(*) FROM pg_index i JOIN pg_class c ON "
                       "c.oid = i.indexrelid WHERE i.indisvalid AND c.relname "
                       "IN ('idx_user_subscriptions_user_id', "
                       "'idx_usage_metrics_user_date', "
                       "'idx_ai_sessions_user_status', "
                       "'idx_portfolios_user_default', "
                       "'idx_ai_sessions_pending_user')"),
            "5");
}

TEST(MigratorTest, UpToAndDownToWalkThePhasesAndRestoreTheSchema) {
  ScratchDatabase db;
  TestMigrator migrator(db.url());
  ASSERT_TRUE(migrator->Up("baseline").ok());
  const SchemaFingerprint baseline = Schema(db.url());
  ASSERT_TRUE(migrator->Up("phase_2").ok());
  const SchemaFingerprint phase_2 = Schema(db.url());
  EXPECT_EQ(Applied(db.url()), "baseline,phase_1,phase_2");

  auto plan = migrator->Plan(std::nullopt);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 7u);
  EXPECT_EQ((*plan)[0].migration->name, "phase_3");
  EXPECT_FALSE((*plan)[0].down);
  EXPECT_EQ(Applied(db.url()), "baseline,phase_1,phase_2");  // a dry run

  ASSERT_TRUE(migrator->Up(std::nullopt).ok());
  auto back = migrator->Up("phase_1");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(back.status().message()),
              HasSubstr("migrate down --to phase_1"));

  auto down_plan = migrator->Plan("phase_2");
  ASSERT_TRUE(down_plan.ok()) << down_plan.status();
  ASSERT_EQ(down_plan->size(), 7u);
  EXPECT_TRUE((*down_plan)[0].down);
  EXPECT_EQ((*down_plan)[0].migration->name, "claim_queue");

  auto down = migrator->Down("phase_2");
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(*down, 7);
  EXPECT_EQ(Applied(db.url()), "baseline,phase_1,phase_2");
  EXPECT_EQ(SchemaDiff(phase_2, Schema(db.url())), std::vector<std::string>{});

  ASSERT_TRUE(migrator->Down(std::nullopt).ok());
  EXPECT_EQ(Applied(db.url()), "baseline");
  EXPECT_EQ(SchemaDiff(baseline, Schema(db.url())), std::vector<std::string>{});
  EXPECT_FALSE(migrator.Logged("note:"));  // each down matched its record

  ASSERT_TRUE(migrator->Up(std::nullopt).ok());
  EXPECT_EQ(Applied(db.url()), kAllPhases);
}

TEST(MigratorTest, FailingStepTriggersRollbackToExactlyBeforeThePhase) {
  ScratchDatabase db;
  SqlCopy copy;
  copy.Append("004_phase_3.sql", "-- step: injected failure\nSELECT 1 / 0;");
  TestMigrator migrator(db.url(), copy.dir());
  ASSERT_TRUE(migrator->Up("phase_2").ok());
  AddUsers(db.url(), 3);
  ASSERT_TRUE(migrator->Up("phase_2").ok());
  const SchemaFingerprint before = Schema(db.url());
  const std::string subscriptions =
      QueryValue(db.url(),
                 "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM "
                 "user_subscriptions t");

  auto result = migrator->Up(std::nullopt);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("004_phase_3 was rolled back automatically (step "
                        "failed)"));
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("division by zero"));
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("injected failure"));
  EXPECT_TRUE(migrator.Logged("AUTOMATIC ROLLBACK of 004_phase_3"));

  // The tables the phase had created are gone, nothing else changed.
  EXPECT_FALSE(TableExists(db.url(), "ai_analysis_sessions"));
  EXPECT_EQ(SchemaDiff(before, Schema(db.url())), std::vector<std::string>{});
  EXPECT_EQ(QueryValue(db.url(),
                       "SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) "
                       "FROM user_subscriptions t"),
            subscriptions);
  EXPECT_EQ(Applied(db.url()), "baseline,phase_1,phase_2");
  EXPECT_EQ(LogOutcomes(db.url(), "phase_3"),
            "up/trigger,rollback/rolled_back");
  EXPECT_THAT(
      QueryValue(db.url(),
                 "SELECT reason FROM schema_migration_log WHERE outcome = "
                 "'rolled_back'"),
      HasSubstr("step failed"));
}

TEST(MigratorTest, FailedValidationRuleTriggersRollback) {
  ScratchDatabase db;
  SqlCopy copy;
  // Phase 2 "forgets" one user: the seed's check that every user has a
  // subscription counts 1.
  copy.Append("003_phase_2.sql",
              "DELETE FROM user_subscriptions WHERE user_id = "
              "(SELECT min(id) FROM users);");
  TestMigrator migrator(db.url(), copy.dir());
  ASSERT_TRUE(migrator->Up("phase_1").ok());
  AddUsers(db.url(), 5);
  const SchemaFingerprint before = Schema(db.url());

  auto result = migrator->Up(std::nullopt);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("003_phase_2 was rolled back automatically "
                        "(validation failed)"));
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("counted 1, expected 0"));
  EXPECT_EQ(QueryValue(db.url(), "SELECT count(*) FROM user_subscriptions"),
            "0");
  EXPECT_EQ(SchemaDiff(before, Schema(db.url())), std::vector<std::string>{});
  EXPECT_EQ(Applied(db.url()), "baseline,phase_1");
}

// 100k health_metrics rows: enough that losing the index shows.
void AddHealthMetrics(const std::string& url) {
  ExecSql(url, R"sql(
INSERT INTO users (id, email) VALUES ('owner', 'owner@example.com');
INSERT INTO businesses (id, title, owner_id)
SELECT 'b' || i, 'Business ' || i, 'owner' FROM generate_series(1, 1000) i;
INSERT INTO health_metrics (business_id, overall_score, growth_score,
  operational_score, financial_score, sale_readiness_score, confidence_level,
  calculated_at)
SELECT 'b' || (i % 1000 + 1), 50, 50, 50, 50, 50, 80,
       now() - (i || ' minutes')::interval
FROM generate_series(1, 100000) i;
ANALYZE;
)sql");
}

TEST(MigratorTest, SlowerKeyQueryTriggersRollbackThatRestoresTheIndex) {
  ScratchDatabase db;
  SqlCopy copy;
  copy.Append("005_phase_4.sql",
              "-- step: injected regression\n"
              "DROP INDEX IF EXISTS idx_health_metrics_business_date;");
  copy.Append("rollback_phase_4.sql",
              "CREATE INDEX IF NOT EXISTS idx_health_metrics_business_date "
              "ON health_metrics (business_id, calculated_at DESC);");
  TestMigrator migrator(db.url(), copy.dir());
  ASSERT_TRUE(migrator->Up("baseline").ok());
  AddHealthMetrics(db.url());
  ASSERT_TRUE(migrator->Up("phase_3").ok());
  const SchemaFingerprint before = Schema(db.url());

  auto result = migrator->Up(std::nullopt);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("005_phase_4 was rolled back automatically (key query "
                        "slower): 'latest_health_metrics'"));
  EXPECT_EQ(SchemaDiff(before, Schema(db.url())), std::vector<std::string>{});
  EXPECT_EQ(Applied(db.url()), "baseline,phase_1,phase_2,phase_3");
  EXPECT_FALSE(TableExists(db.url(), "generated_reports"));
}

TEST(MigratorTest, RollbackThatCannotRestoreTheSchemaSaysWhatDiffers) {
  ScratchDatabase db;
  SqlCopy copy;
  copy.Append("005_phase_4.sql",
              "DROP INDEX IF EXISTS idx_health_metrics_business_date;");
  TestMigrator migrator(db.url(), copy.dir());
  ASSERT_TRUE(migrator->Up("baseline").ok());
  AddHealthMetrics(db.url());
  ASSERT_TRUE(migrator->Up("phase_3").ok());

  auto result = migrator->Up(std::nullopt);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("missing: index CREATE INDEX "
                        "idx_health_metrics_business_date"));
  EXPECT_EQ(LogOutcomes(db.url(), "phase_4"),
            "up/trigger,rollback/rollback_incomplete");
}

TEST(MigratorTest, InvalidIndexFromAnInterruptedConcurrentBuildIsRebuilt) {
  ScratchDatabase db;
  TestMigrator migrator(db.url());
  ASSERT_TRUE(migrator->Up("phase_1").ok());
  // An interrupted CREATE INDEX CONCURRENTLY: the index exists, INVALID, and
  // the phase was never recorded.
  AddUsers(db.url(), 1);
  ExecSql(db.url(),
          "DROP INDEX idx_usage_metrics_user_date;"
          "INSERT INTO usage_metrics (user_id, metric_type) VALUES "
          "('u1', 'ai_analysis'), ('u1', 'ai_analysis');"
          "DELETE FROM schema_migrations WHERE name = 'phase_1';");
  try {
    ExecSql(db.url(),
            "CREATE UNIQUE INDEX CONCURRENTLY idx_usage_metrics_user_date ON "
            "usage_metrics (user_id, date)");
    FAIL() << "the unique build should fail on duplicates";
  } catch (const std::exception&) {
  }
  ASSERT_EQ(QueryValue(db.url(),
                       "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                       "'idx_usage_metrics_user_date'::regclass"),
            "f");

  auto result = migrator->Up("phase_1");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(migrator.Logged("index idx_usage_metrics_user_date is INVALID"));
  EXPECT_EQ(QueryValue(db.url(),
                       "SELECT indisvalid AND NOT indisunique FROM pg_index "
                       "WHERE indexrelid = "
                       "'idx_usage_metrics_user_date'::regclass"),
            "t");
}

TEST(MigratorTest, StepWaitingForALockBacksOffAndRetries) {
  ScratchDatabase db;
  MigratorOptions options = TestMigrator::Fast();
  options.steps.lock_timeout = absl::Milliseconds(100);
  TestMigrator migrator(db.url(), SqlDir(), options);
  ASSERT_TRUE(migrator->Up("phase_4").ok());

  // An application transaction writes users for 1.5 s; phase 5's foreign
  // keys to users need SHARE ROW EXCLUSIVE on it, which must not queue
  // (blocking every later writer) for longer than the lock timeout.
  pqxx::connection app(db.url());
  pqxx::work tx(app);
  tx.exec("LOCK TABLE users IN ROW EXCLUSIVE MODE");
  std::thread release([&tx] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    tx.commit();
  });
  auto result = migrator->Up(std::nullopt);
  release.join();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(migrator.Logged("lock timeout"));
  EXPECT_TRUE(migrator.Logged("retrying in"));
  EXPECT_EQ(Applied(db.url()), kAllPhases);
}

TEST(MigratorTest, RollbackLevelsResetDataOrDisableFeatures) {
  ScratchDatabase db;
  TestMigrator migrator(db.url());
  ASSERT_TRUE(migrator->Up("baseline").ok());
  AddUsers(db.url(), 4);
  ASSERT_TRUE(migrator->Up(std::nullopt).ok());
  ExecSql(db.url(),
          "INSERT INTO usage_metrics (user_id, metric_type) VALUES ('u1', "
          "'ai_analysis')");

  ASSERT_TRUE(migrator->Rollback(3).ok());
  EXPECT_EQ(QueryValue(db.url(),
                       "SELECT count(*) FROM subscription_plans WHERE "
                       "is_active"),
            "0");
  EXPECT_EQ(QueryValue(db.url(), "SELECT count(*) FROM user_subscriptions"),
            "4");  // data kept

  ASSERT_TRUE(migrator->Rollback(2).ok());
  EXPECT_EQ(QueryValue(db.url(), "SELECT count(*) FROM user_subscriptions"),
            "0");
  EXPECT_EQ(QueryValue(db.url(), "SELECT count(*) FROM usage_metrics"), "0");
  EXPECT_TRUE(TableExists(db.url(), "user_subscriptions"));  // tables kept
  EXPECT_EQ(Applied(db.url()),
            "baseline,phase_1,phase_3,phase_4,phase_5,orchestrator,durability,"
            "tenancy,claim_queue");
  ASSERT_TRUE(migrator->Up(std::nullopt).ok());  // re-assigns the Free plan
  EXPECT_EQ(QueryValue(db.url(), "SELECT count(*) FROM user_subscriptions"),
            "4");

  ASSERT_TRUE(migrator->Rollback(1).ok());
  EXPECT_EQ(Applied(db.url()), "baseline");
  EXPECT_FALSE(TableExists(db.url(), "subscription_plans"));
  EXPECT_EQ(QueryValue(db.url(), "SELECT count(*) FROM users"), "4");
  EXPECT_EQ(migrator->Rollback(2).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(migrator->Rollback(7).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MigratorTest, EditedOrUnknownMigrationStopsEveryCommandUnchanged) {
  ScratchDatabase db;
  {
    TestMigrator migrator(db.url());
    ASSERT_TRUE(migrator->Up("phase_3").ok());
  }
  const SchemaFingerprint before = Schema(db.url());
  SqlCopy copy;
  copy.Append("002_phase_1.sql", "-- an innocent-looking edit");
  TestMigrator edited(db.url(), copy.dir());
  auto up = edited->Up(std::nullopt);
  ASSERT_FALSE(up.ok());
  EXPECT_THAT(std::string(up.status().message()),
              HasSubstr("002_phase_1.sql was edited after it was applied"));
  EXPECT_FALSE(edited->Plan(std::nullopt).ok());
  EXPECT_FALSE(edited->Down(std::nullopt).ok());
  EXPECT_FALSE(edited->Rollback(2).ok());
  auto status = edited->Status();
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE((*status)[1].edited);
  EXPECT_EQ(SchemaDiff(before, Schema(db.url())), std::vector<std::string>{});

  ExecSql(db.url(),
          "INSERT INTO schema_migrations (version, name, checksum) VALUES "
          "('999', 'from_the_future', 'x')");
  TestMigrator migrator(db.url());
  for (const absl::Status& s :
       {migrator->Up(std::nullopt).status(),
        migrator->Down(std::nullopt).status(), migrator->Status().status(),
        migrator->Rollback(3)}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("999_from_the_future"));
  }
  EXPECT_EQ(SchemaDiff(before, Schema(db.url())), std::vector<std::string>{});
}

TEST(MigratorTest, UnreachableDatabaseAndUnknownPhaseAreClearErrors) {
  TestMigrator unreachable("postgresql://postgres@127.0.0.1:1/none");
  auto up = unreachable->Up(std::nullopt);
  EXPECT_EQ(up.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(up.status().message()), HasSubstr("cannot connect"));
  auto unknown = unreachable->Up("phase_9");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.status().message()),
              HasSubstr("known: baseline"));
  EXPECT_EQ(Catalog::Load("/nonexistent/sql").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace goodbuy::store::pg::migrate
