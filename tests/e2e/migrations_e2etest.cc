// `analysis-server migrate` end to end: real migrator processes against
// scratch databases on the throwaway PostgreSQL.
//   * up and down keep every row of the brownfield tables (checksums), on a
//     loaded database and on an empty one; timings are printed as
//     "[ timing ] ..." lines;
//   * up and down under application traffic (4 connections reading and
//     writing the baseline tables) fail no query and hold none for long;
//   * two migrators at once: the second waits and every migration is applied
//     once; with --lock_wait_s=0 the second gives up and changes nothing;
//   * bad input (no database, unreachable database, unknown phase or
//     command, an edited applied file, a database newer than the binary) is
//     one clear error and changes nothing.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/brownfield.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

using Clock = std::chrono::steady_clock;

// The brownfield set of the data-loss and traffic tests.
constexpr int kUsers = 10000;
constexpr int kBusinesses = 10000;
constexpr int kHealthPerBusiness = 10;
constexpr int kForecastsPerBusiness = 2;

// "goodbuy" in ASCII, the migrator's pg_advisory_lock key.
constexpr int64_t kMigrationLockKey = 0x676f6f64627579;

const std::vector<std::string>& BaselineTables() {
  static const auto* tables = new std::vector<std::string>{
      "users", "businesses", "health_metrics", "forecast_results"};
  return *tables;
}

// What phases 1 … 5 and the orchestrator migration create.
const std::vector<std::string>& AddedRelations() {
  static const auto* relations =
      new std::vector<std::string>{"subscription_plans",
                                   "user_subscriptions",
                                   "usage_metrics",
                                   "billing_transactions",
                                   "ai_analysis_sessions",
                                   "portfolios",
                                   "portfolio_businesses",
                                   "generated_reports",
                                   "query_performance_samples",
                                   "billing_integration_issues",
                                   "subscription_analytics",
                                   "session_events",
                                   "business_financial_periods",
                                   "session_attempts"};
  return *relations;
}

// The migrations in sql/ (NNN_<name>.sql), and "001=1,002=1,…": each once.
int MigrationCount() {
  int n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(testing::SqlDir())) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && std::isdigit(static_cast<unsigned char>(name[0])) &&
        name.substr(name.size() - 4) == ".sql") {
      ++n;
    }
  }
  return n;
}
std::string EachVersionOnce() {
  std::string out;
  for (int v = 1; v <= MigrationCount(); ++v) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%s%03d=1", v > 1 ? "," : "", v);
    out += buf;
  }
  return out;
}

int64_t MillisSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() -
                                                               start)
      .count();
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

struct MigrateResult {
  int rc = -1;
  std::string output;  // stdout and stderr together
  int64_t ms = 0;      // wall time of the process
};

// analysis-server migrate <args> --database_url=<url>, with --sql_dir=sql/
// unless `args` names one.
std::vector<std::string> MigrateArgv(const std::string& url,
                                     const std::vector<std::string>& args) {
  std::vector<std::string> argv = {GOODBUY_SERVER_BIN, "migrate"};
  bool has_sql_dir = false;
  for (const auto& a : args) {
    argv.push_back(a);
    has_sql_dir = has_sql_dir || a.rfind("--sql_dir=", 0) == 0;
  }
  if (!url.empty()) argv.push_back("--database_url=" + url);
  if (!has_sql_dir) argv.push_back("--sql_dir=" + testing::SqlDir());
  return argv;
}

MigrateResult Migrate(const std::string& url,
                      const std::vector<std::string>& args,
                      int timeout_seconds = 300) {
  MigrateResult result;
  const auto start = Clock::now();
  result.rc = testing::RunCommand(MigrateArgv(url, args), &result.output,
                                  timeout_seconds);
  result.ms = MillisSince(start);
  return result;
}

// A child process started at once and waited for later, its output in a
// temporary file. Everything the child needs is prepared before fork(), so
// it is safe while other threads of the test run.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    char tmpl[] = "/tmp/goodbuy-migrate-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) {
      ADD_FAILURE() << "mkstemp failed";
      return;
    }
    log_path_ = tmpl;
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    start_ = Clock::now();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      execv(args[0], args.data());
      _exit(127);
    }
    close(fd);
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (!log_path_.empty()) unlink(log_path_.c_str());
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Waits for the exit (killing the child after `timeout_seconds`); returns
  // its exit code, 128 + signal if it was killed.
  MigrateResult Wait(int timeout_seconds = 300) {
    MigrateResult result;
    int status = 0;
    const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
    while (pid_ > 0) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        pid_ = -1;
        result.output = "[timed out]\n";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    result.ms = MillisSince(start_);
    result.rc =
        WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    result.output = ReadWholeFile(log_path_) + result.output;
    return result;
  }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  Clock::time_point start_;
};

// Everything a "nothing changed" assertion compares.
struct Snapshot {
  std::string schema;
  std::map<std::string, std::string> rows;
  bool operator==(const Snapshot& o) const {
    return schema == o.schema && rows == o.rows;
  }
};

Snapshot TakeSnapshot(const std::string& url) {
  std::vector<std::string> tables = BaselineTables();
  tables.push_back("schema_migrations");
  return {testing::SchemaDump(url), testing::TableChecksums(url, tables)};
}

// The first line that differs, to keep failure messages short.
std::string FirstDifference(const std::string& a, const std::string& b) {
  std::istringstream sa(a);
  std::istringstream sb(b);
  std::string la;
  std::string lb;
  int line = 0;
  while (true) {
    ++line;
    const bool more_a = static_cast<bool>(std::getline(sa, la));
    const bool more_b = static_cast<bool>(std::getline(sb, lb));
    if (!more_a && !more_b) return "(identical)";
    if (!more_a) la = "(end)";
    if (!more_b) lb = "(end)";
    if (la != lb) {
      return "line " + std::to_string(line) + ":\n  before: " + la +
             "\n  after:  " + lb;
    }
  }
}

std::string Count(const std::string& url, const std::string& from_where) {
  return testing::QueryValue(url, "SELECT count(*) FROM " + from_where);
}

// Every relation of AddedRelations() that exists in `url`.
std::vector<std::string> PresentAddedRelations(const std::string& url) {
  std::vector<std::string> present;
  for (const auto& rel : AddedRelations()) {
    if (testing::QueryValue(
            url, "SELECT to_regclass('" + rel + "') IS NOT NULL") == "t") {
      present.push_back(rel);
    }
  }
  return present;
}

class MigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Children started with fork/exec (Child) get the project's LSan
    // suppressions too; set here, before any test thread runs.
    setenv(
        "LSAN_OPTIONS",
        ("suppressions=" + testing::SourceDir() + "/tests/lsan.supp").c_str(),
        /*overwrite=*/0);
  }

  // A scratch database at the baseline, loaded with the brownfield set.
  static void BaselineWithBrownfield(const testing::ScratchDatabase& db) {
    const MigrateResult base = Migrate(db.url(), {"up", "--to=baseline"});
    ASSERT_EQ(base.rc, 0) << base.output;
    const auto start = Clock::now();
    testing::LoadBrownfield(db.url(), kUsers, kBusinesses, kHealthPerBusiness,
                            kForecastsPerBusiness);
    std::cout << "[ timing ] brownfield load " << MillisSince(start) << " ms\n";
    ASSERT_EQ(Count(db.url(), "users"), std::to_string(kUsers));
    ASSERT_EQ(Count(db.url(), "businesses"), std::to_string(kBusinesses));
    ASSERT_EQ(Count(db.url(), "health_metrics"),
              std::to_string(kBusinesses * kHealthPerBusiness));
    ASSERT_EQ(Count(db.url(), "forecast_results"),
              std::to_string(kBusinesses * kForecastsPerBusiness));
  }

  // up, down, up again from the baseline: the baseline tables keep every
  // row, down leaves exactly the baseline schema, validation passes.
  static void UpDownUpKeepsEveryRow(const testing::ScratchDatabase& db,
                                    const std::string& label) {
    const std::string& url = db.url();
    const auto rows = testing::TableChecksums(url, BaselineTables());
    const std::string baseline_schema = testing::SchemaDump(url);

    const MigrateResult up = Migrate(url, {"up"});
    ASSERT_EQ(up.rc, 0) << up.output;
    EXPECT_EQ(testing::TableChecksums(url, BaselineTables()), rows);
    EXPECT_EQ(PresentAddedRelations(url).size(), AddedRelations().size());
    const MigrateResult validate = Migrate(url, {"validate"});
    EXPECT_EQ(validate.rc, 0) << validate.output;
    EXPECT_THAT(validate.output, HasSubstr(" 0 failed"));
    EXPECT_EQ(Count(url,
                    "users u WHERE NOT EXISTS (SELECT 1 FROM "
                    "user_subscriptions s WHERE s.user_id = u.id)"),
              "0");
    EXPECT_EQ(Count(url, "user_subscriptions"), Count(url, "users"));

    const MigrateResult down = Migrate(url, {"down"});
    ASSERT_EQ(down.rc, 0) << down.output;
    EXPECT_EQ(testing::TableChecksums(url, BaselineTables()), rows);
    EXPECT_THAT(PresentAddedRelations(url), ::testing::IsEmpty());
    const std::string after_down = testing::SchemaDump(url);
    EXPECT_EQ(after_down, baseline_schema)
        << "migrate down did not restore the baseline schema; first "
           "difference at "
        << FirstDifference(baseline_schema, after_down);
    EXPECT_EQ(Count(url, "schema_migrations"), "1");

    const MigrateResult again = Migrate(url, {"up"});
    ASSERT_EQ(again.rc, 0) << again.output;
    EXPECT_EQ(testing::TableChecksums(url, BaselineTables()), rows);
    const MigrateResult revalidate = Migrate(url, {"validate"});
    EXPECT_EQ(revalidate.rc, 0) << revalidate.output;
    EXPECT_EQ(Count(url, "schema_migrations"),
              std::to_string(MigrationCount()));

    std::cout << "[ timing ] " << label << ": up " << up.ms << " ms, down "
              << down.ms << " ms, up again " << again.ms
              << " ms (whole analysis-server migrate processes, ASan build "
                 "if so configured)\n";
  }
};

// --- a. zero data loss ----------------------------------------------------

TEST_F(MigrationsTest, UpDownUpKeepsEveryRowOfALoadedDatabase) {
  testing::ScratchDatabase db;
  ASSERT_NO_FATAL_FAILURE(BaselineWithBrownfield(db));
  UpDownUpKeepsEveryRow(
      db,
      "loaded (10000 users, 10000 businesses, 100000 health_metrics, "
      "20000 forecast_results)");
}

TEST_F(MigrationsTest, UpDownUpOnAnEmptyDatabase) {
  testing::ScratchDatabase db;
  const MigrateResult base = Migrate(db.url(), {"up", "--to=baseline"});
  ASSERT_EQ(base.rc, 0) << base.output;
  UpDownUpKeepsEveryRow(db, "empty");
}

// --- b. zero downtime -----------------------------------------------------

// Application traffic on the baseline tables: `threads` connections, each
// looping over reads and writes until Stop(), every statement timed.
class Traffic {
 public:
  struct Report {
    int64_t queries = 0;
    int64_t failures = 0;
    double longest_ms = 0;
    std::string longest_query;
    std::vector<std::string> errors;  // the first few
    std::map<std::string, int64_t> per_query;
  };

  Traffic(std::string url, int threads)
      : url_(std::move(url)), tag_(std::to_string(++runs_)) {
    for (int i = 0; i < threads; ++i) {
      workers_.emplace_back([this, i] { Run(i); });
    }
  }
  ~Traffic() { Stop(); }

  Report Stop() {
    stop_ = true;
    for (auto& t : workers_) {
      if (t.joinable()) t.join();
    }
    std::lock_guard<std::mutex> lock(mu_);
    return report_;
  }

  // Waits until every connection has run at least one full round.
  bool WaitUntilRunning(int timeout_seconds) {
    const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
    while (Clock::now() < deadline) {
      if (rounds_started_ >= static_cast<int>(workers_.size())) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

 private:
  static std::string Id(const char* prefix, int n) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%s%06d", prefix, n);
    return buf;
  }

  void Record(const std::string& name, Clock::time_point start,
              const std::string& error) {
    const double ms =
        std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::lock_guard<std::mutex> lock(mu_);
    ++report_.queries;
    ++report_.per_query[name];
    if (ms > report_.longest_ms) {
      report_.longest_ms = ms;
      report_.longest_query = name;
    }
    if (!error.empty()) {
      ++report_.failures;
      if (report_.errors.size() < 5) {
        report_.errors.push_back(name + ": " + error);
      }
    }
  }

  void Run(int worker) {
    std::mt19937 rng(1234 + worker);
    std::uniform_int_distribution<int> any_user(1, kUsers);
    std::uniform_int_distribution<int> owner(1, kUsers * 6 / 10);
    std::uniform_int_distribution<int> any_business(1, kBusinesses);
    std::unique_ptr<pqxx::connection> conn;
    int round = 0;
    bool counted = false;
    while (!stop_) {
      if (!conn || !conn->is_open()) {
        try {
          conn = std::make_unique<pqxx::connection>(url_);
          pqxx::nontransaction tx(*conn);
          // A hung statement fails the test instead of hanging it.
          tx.exec("SET statement_timeout = '30s'");
        } catch (const std::exception& e) {
          Record("connect", Clock::now(), e.what());
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          continue;
        }
      }
      ++round;
      const std::string user = Id("usr_load_", any_user(rng));
      const std::string business = Id("biz_load_", any_business(rng));
      const std::string new_business = "biz_traffic_" + tag_ + "_" +
                                       std::to_string(worker) + "_" +
                                       std::to_string(round);
      const std::vector<
          std::pair<std::string, std::function<void(pqxx::nontransaction&)>>>
          statements = {
              {"SELECT users by id",
               [&](pqxx::nontransaction& tx) {
                 tx.exec_params(
                     "SELECT id, email, name, status, subscription_tier, "
                     "last_login_at FROM users WHERE id = $1",
                     user);
               }},
              {"SELECT businesses by owner_id",
               [&](pqxx::nontransaction& tx) {
                 tx.exec_params(
                     "SELECT id, title, status, asking_price FROM businesses "
                     "WHERE owner_id = $1 ORDER BY created_at DESC",
                     Id("usr_load_", owner(rng)));
               }},
              {"SELECT latest health_metrics of a business",
               [&](pqxx::nontransaction& tx) {
                 tx.exec_params(
                     "SELECT overall_score, trajectory, calculated_at FROM "
                     "health_metrics WHERE business_id = $1 ORDER BY "
                     "calculated_at DESC LIMIT 1",
                     business);
               }},
              {"UPDATE users SET last_login_at",
               [&](pqxx::nontransaction& tx) {
                 tx.exec_params(
                     "UPDATE users SET last_login_at = now() WHERE id = $1",
                     user);
               }},
              {"INSERT INTO businesses",
               [&](pqxx::nontransaction& tx) {
                 tx.exec_params(
                     "INSERT INTO businesses (id, title, industry, status, "
                     "owner_id) VALUES ($1, 'Traffic test listing', "
                     "'Retail', 'DRAFT', $2)",
                     new_business, Id("usr_load_", owner(rng)));
               }},
              {"INSERT INTO health_metrics (3 rows)",
               [&](pqxx::nontransaction& tx) {
                 tx.exec_params(
                     "INSERT INTO health_metrics (id, business_id, "
                     "overall_score, growth_score, operational_score, "
                     "financial_score, sale_readiness_score, "
                     "confidence_level, calculated_at) SELECT $1 || '_' || "
                     "k, $1, 60 + k, 55, 70, 65, 50, 80, now() - k * "
                     "interval '30 days' FROM generate_series(1, 3) k",
                     new_business);
               }},
          };
      for (const auto& [name, run] : statements) {
        if (stop_) break;
        const auto start = Clock::now();
        std::string error;
        try {
          pqxx::nontransaction tx(*conn);
          run(tx);
        } catch (const std::exception& e) {
          error = e.what();
          if (error.empty()) error = "unknown error";
        }
        Record(name, start, error);
        if (!conn->is_open()) break;
      }
      if (!counted) {
        counted = true;
        ++rounds_started_;
      }
      // A little think time, so 4 clients do not saturate the 2-core
      // machine on their own.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  static inline int runs_ = 0;  // tells the rows of successive runs apart

  const std::string url_;
  const std::string tag_;
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_started_{0};
  std::vector<std::thread> workers_;
  std::mutex mu_;
  Report report_;
};

// Runs `migrate <args>` while Traffic runs on `url`; checks that no query
// failed and none took a second or more.
void MigrateUnderTraffic(const std::string& url,
                         const std::vector<std::string>& args,
                         const std::string& label) {
  Traffic traffic(url, 4);
  ASSERT_TRUE(traffic.WaitUntilRunning(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Child migrate(MigrateArgv(url, args));
  const MigrateResult result = migrate.Wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Traffic::Report report = traffic.Stop();

  std::cout << "[ load ] migrate " << label << " under traffic: " << result.ms
            << " ms, " << report.queries << " queries (";
  bool first = true;
  for (const auto& [name, n] : report.per_query) {
    std::cout << (first ? "" : ", ") << n << " " << name;
    first = false;
  }
  std::cout << "), " << report.failures << " failed, longest "
            << static_cast<int64_t>(report.longest_ms) << " ms ("
            << report.longest_query << ")\n";

  EXPECT_EQ(result.rc, 0) << result.output;
  EXPECT_EQ(report.failures, 0) << ::testing::PrintToString(report.errors);
  EXPECT_LT(report.longest_ms, 1000.0)
      << "the longest query was " << report.longest_query;
  EXPECT_GT(report.queries, 100);
}

TEST_F(MigrationsTest, UpAndDownUnderTrafficFailNoQueryAndBlockNoneForLong) {
  testing::ScratchDatabase db;
  ASSERT_NO_FATAL_FAILURE(BaselineWithBrownfield(db));
  // With every automatic trigger on, the key-query timings included: the
  // traffic must not make the migrator roll back either.
  ASSERT_NO_FATAL_FAILURE(MigrateUnderTraffic(db.url(), {"up"}, "up"));
  EXPECT_EQ(Count(db.url(), "schema_migrations"),
            std::to_string(MigrationCount()));
  EXPECT_EQ(Count(db.url(),
                  "users u WHERE NOT EXISTS (SELECT 1 FROM "
                  "user_subscriptions s WHERE s.user_id = u.id)"),
            "0");
  ASSERT_NO_FATAL_FAILURE(MigrateUnderTraffic(db.url(), {"down"}, "down"));
  EXPECT_EQ(Count(db.url(), "schema_migrations"), "1");
  EXPECT_THAT(PresentAddedRelations(db.url()), ::testing::IsEmpty());
}

// An application transaction that keeps writing users and holds its lock
// for 800 ms at a time (a slow batch job). Phase 5's foreign keys need SHARE
// ROW EXCLUSIVE on users, which waits for it; without a lock timeout every
// later writer of users would queue behind that waiting request.
class LongWriter {
 public:
  explicit LongWriter(const std::string& url)
      : thread_([this, url] {
          pqxx::connection conn(url);
          while (!stop_) {
            pqxx::work tx(conn);
            tx.exec(
                "UPDATE users SET last_login_at = now() WHERE id = "
                "'usr_long_writer'");
            tx.exec("SELECT pg_sleep(0.8)");
            tx.commit();
            ++transactions_;
          }
        }) {}
  ~LongWriter() { Stop(); }
  int Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return transactions_;
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> transactions_{0};
  std::thread thread_;
};

TEST_F(MigrationsTest,
       DdlBacksOffFromALongTransactionInsteadOfQueueingWriters) {
  testing::ScratchDatabase db;
  ASSERT_NO_FATAL_FAILURE(BaselineWithBrownfield(db));
  // The long writer's own user: the traffic's writers must wait only for
  // the migrator, never for that transaction's row lock.
  testing::ExecSql(db.url(),
                   "INSERT INTO users (id, email) VALUES ('usr_long_writer', "
                   "'long-writer@example.com')");
  ASSERT_EQ(Migrate(db.url(), {"up", "--to=phase_4"}).rc, 0);
  LongWriter long_writer(db.url());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Traffic traffic(db.url(), 4);
  ASSERT_TRUE(traffic.WaitUntilRunning(30));
  const MigrateResult result = Migrate(db.url(), {"up"});
  const Traffic::Report report = traffic.Stop();
  const int long_transactions = long_writer.Stop();

  std::cout << "[ load ] migrate up beside an 800 ms writer of users: "
            << result.ms << " ms, " << report.queries << " queries, "
            << report.failures << " failed, longest "
            << static_cast<int64_t>(report.longest_ms) << " ms ("
            << report.longest_query << "), " << long_transactions
            << " long transactions\n";
  EXPECT_EQ(result.rc, 0) << result.output;
  // The fault happened: DDL had to wait for the long transaction.
  EXPECT_THAT(result.output, HasSubstr("lock timeout")) << result.output;
  EXPECT_THAT(result.output, HasSubstr("retrying in"));
  EXPECT_GE(long_transactions, 2);
  // And what survived: every application query, none stalled for long.
  EXPECT_EQ(report.failures, 0) << ::testing::PrintToString(report.errors);
  EXPECT_LT(report.longest_ms, 1000.0)
      << "the longest query was " << report.longest_query;
}

// --- c. two migrators -----------------------------------------------------

TEST_F(MigrationsTest, TwoMigratorsAtOnceApplyEveryMigrationOnce) {
  testing::ScratchDatabase db;
  Child first(MigrateArgv(db.url(), {"up"}));
  Child second(MigrateArgv(db.url(), {"up"}));
  const MigrateResult a = first.Wait();
  const MigrateResult b = second.Wait();
  EXPECT_EQ(a.rc, 0) << a.output;
  EXPECT_EQ(b.rc, 0) << b.output;
  // One applied everything, the other waited and found nothing to do.
  const std::string both = a.output + b.output;
  EXPECT_THAT(both, HasSubstr("applied " + std::to_string(MigrationCount()) +
                              " migration(s)"));
  EXPECT_THAT(both, HasSubstr("nothing to do"));
  EXPECT_THAT(both, HasSubstr("holds the migration lock; waiting up to"));

  EXPECT_EQ(Count(db.url(), "schema_migrations"),
            std::to_string(MigrationCount()));
  EXPECT_EQ(testing::QueryValue(db.url(),
                                "SELECT count(DISTINCT version) FROM "
                                "schema_migrations"),
            std::to_string(MigrationCount()));
  // Exactly one up/applied row per migration, no trigger or rollback.
  EXPECT_EQ(testing::QueryValue(
                db.url(),
                "SELECT string_agg(version || '=' || n, ',' ORDER BY version) "
                "FROM (SELECT version, count(*) AS n FROM schema_migration_log "
                "WHERE action = 'up' AND outcome = 'applied' GROUP BY "
                "version) c"),
            EachVersionOnce());
  EXPECT_EQ(Count(db.url(), "schema_migration_log WHERE action <> 'up'"), "0");
  const MigrateResult validate = Migrate(db.url(), {"validate"});
  EXPECT_EQ(validate.rc, 0) << validate.output;
}

TEST_F(MigrationsTest, SecondMigratorWithoutWaitingGivesUpAndChangesNothing) {
  testing::ScratchDatabase db;
  // The test plays the first migrator: it holds the migration lock.
  pqxx::connection holder(db.url());
  pqxx::nontransaction tx(holder);
  tx.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
  const std::string holder_pid = tx.exec1("SELECT pg_backend_pid()")[0].c_str();

  const MigrateResult r = Migrate(db.url(), {"up", "--lock_wait_s=0"}, 60);
  EXPECT_EQ(r.rc, 1) << r.output;
  EXPECT_THAT(r.output,
              AllOf(HasSubstr("analysis-server: migrate up on "),
                    HasSubstr("another migrator (database backend pid " +
                              holder_pid + ")"),
                    HasSubstr("nothing was changed")));
  EXPECT_LT(r.ms, 30000);
  EXPECT_EQ(testing::QueryValue(db.url(),
                                "SELECT count(*) FROM pg_class WHERE "
                                "relnamespace = 'public'::regnamespace"),
            "0")
      << "the database is no longer empty";

  // Once the lock is free the same command goes through.
  tx.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) +
          ")");
  const MigrateResult after =
      Migrate(db.url(), {"up", "--to=baseline", "--lock_wait_s=0"});
  EXPECT_EQ(after.rc, 0) << after.output;
}

// --- d. bad input ---------------------------------------------------------

TEST_F(MigrationsTest, NoDatabaseIsOneClearError) {
  std::string output;
  const int rc =
      testing::RunCommand({"env", "-u", "DATABASE_URL", GOODBUY_SERVER_BIN,
                           "migrate", "up", "--sql_dir=" + testing::SqlDir()},
                          &output, 60);
  EXPECT_EQ(rc, 1) << output;
  EXPECT_THAT(output, HasSubstr("analysis-server: no database"));
  EXPECT_EQ(std::count(output.begin(), output.end(), '\n'), 1) << output;
}

TEST_F(MigrationsTest, UnreachableDatabaseIsOneClearError) {
  // Port 1 on loopback: nothing listens there.
  const MigrateResult r =
      Migrate("postgresql://postgres@127.0.0.1:1/goodbuy", {"up"}, 60);
  EXPECT_EQ(r.rc, 1) << r.output;
  EXPECT_THAT(r.output, AllOf(HasSubstr("analysis-server: migrate up on "
                                        "127.0.0.1:1/goodbuy: "),
                              HasSubstr("cannot connect")));
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
}

TEST_F(MigrationsTest, UnknownPhaseIsAUsageErrorAndChangesNothing) {
  testing::ScratchDatabase db;
  const MigrateResult setup = Migrate(db.url(), {"up", "--to=phase_2"});
  ASSERT_EQ(setup.rc, 0) << setup.output;
  const Snapshot before = TakeSnapshot(db.url());

  for (const char* verb : {"up", "down", "plan"}) {
    const MigrateResult r = Migrate(db.url(), {verb, "--to=phase_9"}, 60);
    EXPECT_EQ(r.rc, 2) << verb << ": " << r.output;
    EXPECT_THAT(r.output, AllOf(HasSubstr("phase_9"), HasSubstr("baseline"),
                                HasSubstr("phase_1"), HasSubstr("phase_5"),
                                HasSubstr("orchestrator")))
        << verb;
  }
  const Snapshot after = TakeSnapshot(db.url());
  EXPECT_TRUE(after == before) << FirstDifference(before.schema, after.schema);
  EXPECT_EQ(after.rows, before.rows);
}

TEST_F(MigrationsTest, UnknownCommandOrLevelIsAUsageError) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"upgrade"}, {"rollback", "--level=4"}, {"up", "extra"}}) {
    const MigrateResult r =
        Migrate("postgresql://postgres@127.0.0.1:1/x", args, 60);
    EXPECT_EQ(r.rc, 2) << args[0] << ": " << r.output;
    EXPECT_THAT(r.output, HasSubstr("analysis-server: ")) << args[0];
    EXPECT_THAT(r.output, Not(HasSubstr("cannot connect"))) << args[0];
  }
  const MigrateResult r =
      Migrate("postgresql://postgres@127.0.0.1:1/x", {"upgrade"}, 60);
  EXPECT_THAT(r.output, HasSubstr("unknown migrate command 'upgrade'"));
}

// A copy of sql/ applied to a fresh database, then 004_phase_3.sql edited.
class MigrationsEditedFileTest : public MigrationsTest {
 protected:
  void SetUp() override {
    MigrationsTest::SetUp();
    char tmpl[] = "/tmp/goodbuy-sql-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::string output;
    ASSERT_EQ(testing::RunCommand({"cp", "-r", testing::SqlDir() + "/.", dir_},
                                  &output),
              0)
        << output;
    const MigrateResult setup = Migrate(db_.url(), {"up", SqlDirFlag()});
    ASSERT_EQ(setup.rc, 0) << setup.output;
    std::ofstream edit(dir_ + "/004_phase_3.sql", std::ios::app);
    edit << "\n-- an innocent-looking comment added after it was applied\n";
  }
  void TearDown() override {
    std::string output;
    if (!dir_.empty()) testing::RunCommand({"rm", "-rf", dir_}, &output);
  }
  std::string SqlDirFlag() const { return "--sql_dir=" + dir_; }

  // `migrate <verb>` from the edited copy: one clear error, nothing changed.
  void ExpectRefused(const std::string& verb) {
    const Snapshot before = TakeSnapshot(db_.url());
    const MigrateResult r = Migrate(db_.url(), {verb, SqlDirFlag()}, 120);
    EXPECT_EQ(r.rc, 1) << r.output;
    EXPECT_THAT(r.output, AllOf(HasSubstr("004_phase_3"), HasSubstr("edited"),
                                HasSubstr("nothing was changed")));
    const Snapshot after = TakeSnapshot(db_.url());
    EXPECT_TRUE(after.schema == before.schema)
        << verb << " changed the schema: "
        << FirstDifference(before.schema, after.schema);
    EXPECT_EQ(after.rows, before.rows);
  }

  testing::ScratchDatabase db_;
  std::string dir_;
};

TEST_F(MigrationsEditedFileTest, UpRefusesAndChangesNothing) {
  ExpectRefused("up");
}

TEST_F(MigrationsEditedFileTest, DownRefusesAndChangesNothing) {
  ExpectRefused("down");
}

TEST_F(MigrationsTest, DatabaseNewerThanTheBinaryStopsUpAndChangesNothing) {
  testing::ScratchDatabase db;
  const MigrateResult setup = Migrate(db.url(), {"up", "--to=phase_1"});
  ASSERT_EQ(setup.rc, 0) << setup.output;
  testing::ExecSql(db.url(),
                   "INSERT INTO schema_migrations (version, name, checksum) "
                   "VALUES ('999', 'phase_99', md5('from the future'))");
  const Snapshot before = TakeSnapshot(db.url());

  for (const char* verb : {"up", "down"}) {
    const MigrateResult r = Migrate(db.url(), {verb}, 120);
    EXPECT_EQ(r.rc, 1) << verb << ": " << r.output;
    EXPECT_THAT(r.output,
                AllOf(HasSubstr("999_phase_99"), HasSubstr("does not know"),
                      HasSubstr("nothing was changed")))
        << verb;
  }
  const Snapshot after = TakeSnapshot(db.url());
  EXPECT_TRUE(after.schema == before.schema)
      << FirstDifference(before.schema, after.schema);
  EXPECT_EQ(after.rows, before.rows);
}

}  // namespace
}  // namespace goodbuy
