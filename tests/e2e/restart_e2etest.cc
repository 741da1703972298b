// The server against a PostgreSQL that restarts under load, and a server
// that is told to stop under load: no accepted session is lost, the server
// process survives the database going away, and a watcher's stream resumes
// with after_sequence and ends with every event exactly once.
//
// The restart test runs its own PostgreSQL cluster (deploy/lib/common.sh's
// pg_start / pg_stop, as the test script does), so restarting it disturbs
// no other test.
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "client/analysis_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;

using ::testing::HasSubstr;

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A throwaway cluster of our own on a free port.
class PrivatePostgres {
 public:
  PrivatePostgres() : port_(FreePort()) {
    char tmpl[] = "/tmp/goodbuy-pgrestart-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Shell("pg_start " + data() + " " + std::to_string(port_));
  }
  ~PrivatePostgres() {
    Shell("pg_stop " + data());
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void Stop() { Shell("pg_stop " + data()); }
  void Start() { Shell("pg_start " + data() + " " + std::to_string(port_)); }
  std::string Url(const std::string& db) const {
    return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" +
           db;
  }

 private:
  std::string data() const { return dir_ + "/pg"; }
  void Shell(const std::string& command) {
    std::string output;
    const int rc = testing::RunCommand(
        {"bash", "-c",
         "source '" + testing::SourceDir() +
             "/deploy/lib/common.sh' && PG_FAST=1 " + command},
        &output, 120);
    ASSERT_EQ(rc, 0) << command << ":\n" << output;
  }

  int port_;
  std::string dir_;
};

std::string Row(const std::string& url, const std::string& sql) {
  return testing::QueryValue(url, sql);
}

v1::CreateSessionRequest Request(int i) {
  static const char* const kBusinesses[] = {"biz_demo_cafe", "biz_demo_retail",
                                            "biz_demo_restaurant",
                                            "biz_demo_agency"};
  static const v1::SessionType kTypes[] = {v1::SESSION_TYPE_HEALTH_ANALYSIS,
                                           v1::SESSION_TYPE_VALUATION,
                                           v1::SESSION_TYPE_FORECAST};
  v1::CreateSessionRequest request;
  request.set_business_id(kBusinesses[i % 4]);
  request.set_session_type(kTypes[i % 3]);
  return request;
}

// Waits until no session is pending or running; returns false on timeout.
bool AllTerminal(const std::string& url, int timeout_s) {
  for (int i = 0; i < timeout_s * 10; ++i) {
    if (Row(url,
            "SELECT count(*) FROM ai_analysis_sessions WHERE status IN "
            "('pending', 'running')") == "0") {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

TEST(RestartTest, PostgresRestartUnderLoadLosesNoSessionAndStreamsResume) {
  PrivatePostgres pg;
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  testing::ExecSql(pg.Url("postgres"), "CREATE DATABASE goodbuy");
  const std::string url = pg.Url("goodbuy");
  std::string output;
  ASSERT_EQ(testing::RunCommand(
                {GOODBUY_SERVER_BIN, "migrate", "up", "--database_url=" + url,
                 "--sql_dir=" + testing::SqlDir(), "--key_query_runs=0"},
                &output),
            0)
      << output;
  testing::ExecSqlFile(url, testing::SqlDir() + "/demo/demo_data.sql");

  testing::ServerProcess server(
      url, {"--min_stage_ms=60", "--lease_ms=2000", "--max_attempts=5",
            "--max_running_per_user=10"});
  client::AnalysisClient client(server.target(), testing::ClientOptions());
  std::vector<std::string> accepted;
  for (int i = 0; i < 16; ++i) {
    auto s = client.CreateSession(Request(i));
    ASSERT_TRUE(s.ok()) << s.status();
    accepted.push_back(s->session_id());
  }
  // A watcher on the last session, through the client library, which
  // resumes with after_sequence when the stream breaks.
  std::vector<v1::SessionEvent> watched;
  absl::Status watch_status;
  std::thread watcher([&] {
    watch_status =
        client.Watch(accepted.back(), 0, [&](const v1::SessionEvent& e) {
          watched.push_back(e);
          return true;
        });
  });

  // The fault: PostgreSQL goes away for a second while jobs run.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  pg.Stop();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  auto during = client.GetSession(accepted.front());
  EXPECT_FALSE(during.ok());  // the database is down: an error, not a hang
  EXPECT_EQ(kill(server.pid(), 0), 0) << "the server died:\n" << server.Log();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  pg.Start();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());

  // What survived: every accepted session ends, completed, with its usage
  // recorded once; the server is the same process.
  ASSERT_TRUE(AllTerminal(url, 90)) << server.Log();
  EXPECT_EQ(kill(server.pid(), 0), 0);
  EXPECT_EQ(Row(url,
                "SELECT count(*) FROM ai_analysis_sessions WHERE status = "
                "'completed'"),
            std::to_string(accepted.size()))
      << Row(url,
             "SELECT string_agg(status || ':' || coalesce(error_message, ''), "
             "'; ') FROM ai_analysis_sessions WHERE status <> 'completed'");
  EXPECT_EQ(Row(url,
                "SELECT count(*) FROM usage_metrics WHERE metric_type = "
                "'ai_analysis'"),
            std::to_string(accepted.size()));
  EXPECT_EQ(Row(url,
                "SELECT count(*) FROM session_attempts a JOIN "
                "session_attempts b ON b.session_id = a.session_id AND "
                "b.attempt > a.attempt WHERE a.ended_at IS NULL OR "
                "b.claimed_at < a.ended_at"),
            "0");

  watcher.join();
  EXPECT_TRUE(watch_status.ok()) << watch_status;
  ASSERT_FALSE(watched.empty());
  EXPECT_EQ(watched.back().status(), v1::SESSION_STATUS_COMPLETED);
  for (size_t i = 1; i < watched.size(); ++i) {
    EXPECT_EQ(watched[i].sequence(), watched[i - 1].sequence() + 1)
        << "gap or duplicate at " << i;
  }
  EXPECT_EQ(watched.front().sequence(), 1);
}

TEST(RestartTest, SigtermUnderLoadDrainsWithinGraceAndLosesNothing) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  auto a = std::make_unique<testing::ServerProcess>(
      db.url(),
      std::vector<std::string>{"--min_stage_ms=100", "--shutdown_grace_s=1",
                               "--max_running_per_user=10"});
  client::AnalysisClient via_a(a->target(), testing::ClientOptions());
  std::vector<std::string> accepted;
  for (int i = 0; i < 12; ++i) {
    auto s = via_a.CreateSession(Request(i));
    ASSERT_TRUE(s.ok()) << s.status();
    accepted.push_back(s->session_id());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const absl::Time stop_start = absl::Now();
  const int status = a->Stop();
  const absl::Duration drain = absl::Now() - stop_start;
  // The fault happened mid-load, and the drain kept to the grace period
  // (plus the stream close and the server's own 2 s shutdown bound).
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << a->Log();
  EXPECT_LT(drain, absl::Seconds(4)) << a->Log();
  EXPECT_NE(Row(db.url(),
                "SELECT count(*) FROM ai_analysis_sessions WHERE status = "
                "'pending'"),
            "0");
  EXPECT_EQ(Row(db.url(),
                "SELECT count(*) FROM ai_analysis_sessions WHERE status = "
                "'running'"),
            "0");  // nothing left holding a lease

  auto b = std::make_unique<testing::ServerProcess>(
      db.url(), std::vector<std::string>{"--max_running_per_user=10"});
  ASSERT_TRUE(AllTerminal(db.url(), 60)) << b->Log();
  EXPECT_EQ(Row(db.url(),
                "SELECT count(*) FROM ai_analysis_sessions WHERE status = "
                "'completed'"),
            std::to_string(accepted.size()));
  EXPECT_EQ(Row(db.url(),
                "SELECT count(*) FROM usage_metrics WHERE metric_type = "
                "'ai_analysis'"),
            std::to_string(accepted.size()));
  std::cout << "[ drain ] SIGTERM to exit: " << absl::FormatDuration(drain)
            << "\n";
}

}  // namespace
}  // namespace goodbuy
