// --metrics_listen against real parts: a real server's /metrics after real
// sessions, checked by Debian's `promtool check metrics`, and scraped by a
// real `prometheus` process on loopback whose HTTP API reads a counter back.
// promtool and prometheus come from Debian's prometheus package, which
// tests/run.sh installs; without them those two checks are skipped with a
// message.
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/analysis_client.h"
#include "gtest/gtest.h"
#include "tests/e2e/metrics_scrape.h"
#include "tests/e2e/watch_all.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

using ::goodbuy::e2e::MetricsPort;
using ::goodbuy::e2e::Scrape;
using ::goodbuy::e2e::WatchAll;
namespace v1 = ::goodbuy::analysis::v1;

bool OnPath(const std::string& tool) {
  std::string out;
  return testing::RunCommand({"sh", "-c", "command -v " + tool}, &out) == 0;
}

// A TCP port free at the moment of asking.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

class MetricsTest : public testing::DemoServerTest {
 protected:
  static void SetUpTestSuite() { StartSuite({"--metrics_listen=127.0.0.1:0"}); }
};

TEST_F(MetricsTest, CountsSessionsAndCallsInPrometheusFormat) {
  const int port = MetricsPort(*server_);
  ASSERT_GT(port, 0) << server_->Log();
  client::AnalysisClient c(server_->target(), testing::ClientOptions());
  v1::CreateSessionRequest request;
  request.set_business_id("biz_demo_cafe");
  request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  for (int i = 0; i < 3; ++i) {
    auto session = c.CreateSession(request);
    ASSERT_TRUE(session.ok()) << session.status();
    auto events = WatchAll(c, session->session_id());
    ASSERT_FALSE(events.empty());
    ASSERT_EQ(events.back().status(), v1::SESSION_STATUS_COMPLETED);
  }
  EXPECT_FALSE(c.GetSession("00000000-0000-4000-8000-000000000000").ok());

  std::string type;
  const std::string text = Scrape(port, &type);
  ASSERT_FALSE(text.empty());
  EXPECT_TRUE(absl::StartsWith(type, "text/plain; version=0.0.4")) << type;
  for (const char* line : {
           "goodbuy_sessions_created_total{type=\"health_analysis\"} 3\n",
           "goodbuy_sessions_finished_total{type=\"health_analysis\","
           "status=\"completed\"} 3\n",
           "goodbuy_job_duration_seconds_count{type=\"health_analysis\"} 3\n",
           "goodbuy_sessions_claimed_total 3\n",
           "goodbuy_grpc_server_handled_total{method=\"/"
           "goodbuy.analysis.v1.AnalysisService/CreateSession\",code=\"OK\"} "
           "3\n",
           "goodbuy_grpc_server_handled_total{method=\"/"
           "goodbuy.analysis.v1.AnalysisService/GetSession\",code=\"NOT_"
           "FOUND\"} 1\n",
           "goodbuy_jobs_running 0\n",
           "goodbuy_schema_migrations_applied 10\n",
           "goodbuy_watchers_cut_off_total 0\n",
           "# TYPE goodbuy_event_delivery_seconds histogram\n",
           "# TYPE goodbuy_db_pool_wait_seconds histogram\n",
           "# TYPE goodbuy_claim_duration_seconds histogram\n",
           "goodbuy_claim_duration_seconds_bucket{le=\"+Inf\"} ",
       }) {
    EXPECT_TRUE(absl::StrContains(text, line)) << line << "\n" << text;
  }
  // Each session's live events were delivered and timed.
  std::smatch delivered;
  ASSERT_TRUE(std::regex_search(
      text, delivered,
      std::regex(R"(goodbuy_event_delivery_seconds_count (\d+))")))
      << text;
  EXPECT_GE(std::stoi(delivered[1]), 3);
  // No session id (or any other unbounded value) is a label.
  EXPECT_FALSE(std::regex_search(
      text, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}")))
      << text;
  // The API port does not serve them.
  httplib::Client api("127.0.0.1", server_->port());
  auto res = api.Get("/metrics");
  EXPECT_TRUE(!res || res->status != 200);

  if (!OnPath("promtool")) {
    GTEST_SKIP() << "promtool not installed (Debian package prometheus): the "
                    "format was not checked by Prometheus's own linter";
  }
  const std::string file = ::testing::TempDir() + "/metrics.txt";
  std::ofstream(file) << text;
  std::string out;
  EXPECT_EQ(testing::RunCommand(
                {"sh", "-c", "promtool check metrics < " + file}, &out),
            0)
      << out;
}

TEST_F(MetricsTest, RealPrometheusScrapesTheServer) {
  if (!OnPath("prometheus")) {
    GTEST_SKIP() << "prometheus not installed (Debian package prometheus)";
  }
  const int metrics_port = MetricsPort(*server_);
  ASSERT_GT(metrics_port, 0);
  const int prom_port = FreePort();
  ASSERT_GT(prom_port, 0);
  const std::string dir =
      ::testing::TempDir() + "/prometheus-" + std::to_string(getpid());
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  std::ofstream(dir + "/prometheus.yml")
      << "global:\n  scrape_interval: 1s\nscrape_configs:\n"
      << "  - job_name: analysis-server\n    static_configs:\n"
      << "      - targets: ['127.0.0.1:" << metrics_port << "']\n";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string log = dir + "/prometheus.log";
    if (!freopen(log.c_str(), "w", stdout) ||
        !freopen(log.c_str(), "a", stderr)) {
      _exit(126);
    }
    execlp(
        "prometheus", "prometheus",
        ("--config.file=" + dir + "/prometheus.yml").c_str(),
        ("--storage.tsdb.path=" + dir + "/data").c_str(),
        ("--web.listen-address=127.0.0.1:" + std::to_string(prom_port)).c_str(),
        static_cast<char*>(nullptr));
    _exit(127);
  }

  // One analysis, then wait for Prometheus to have scraped it.
  client::AnalysisClient c(server_->target(), testing::ClientOptions());
  v1::CreateSessionRequest request;
  request.set_business_id("biz_demo_cafe");
  request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  auto session = c.CreateSession(request);
  ASSERT_TRUE(session.ok()) << session.status();
  WatchAll(c, session->session_id());
  const std::string expected = Scrape(metrics_port);
  const std::regex kCreated(
      R"(goodbuy_sessions_created_total\{type="health_analysis"\} (\d+))");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(expected, m, kCreated)) << expected;
  const std::string created = m[1];

  httplib::Client prom("127.0.0.1", prom_port);
  std::string body;
  bool found = false;
  for (int i = 0; i < 300 && !found; ++i) {  // up to 30 s
    auto res = prom.Get(
        "/api/v1/query?query=goodbuy_sessions_created_total%7Btype%3D%22health_"
        "analysis%22%7D");
    if (res && res->status == 200) {
      body = res->body;
      found = absl::StrContains(body, "\"" + created + "\"]");
    }
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(found) << "Prometheus never returned " << created
                     << " sessions; last answer: " << body;
  EXPECT_TRUE(absl::StrContains(body, "\"job\":\"analysis-server\"")) << body;
}

TEST(QueueMetricsTest, AnApiOnlyReplicaReportsTheQueueItCannotRun) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  // No job threads: what it creates stays pending.
  testing::ServerProcess api(db.url(),
                             {"--workers=0", "--metrics_listen=127.0.0.1:0"});
  const int port = MetricsPort(api);
  ASSERT_GT(port, 0) << api.Log();
  client::AnalysisClient c(api.target(), testing::ClientOptions());
  v1::CreateSessionRequest request;
  request.set_business_id("biz_demo_cafe");
  request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(c.CreateSession(request).ok());
  // Sampled every 5 s.
  std::string text;
  for (int i = 0; i < 150; ++i) {
    text = Scrape(port);
    if (e2e::SampleValue(text, "goodbuy_queue_pending_sessions") == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(e2e::SampleValue(text, "goodbuy_queue_pending_sessions"), 2)
      << text;
  EXPECT_GT(e2e::SampleValue(text, "goodbuy_queue_oldest_pending_age_seconds"),
            0)
      << text;
  EXPECT_EQ(e2e::SampleValue(text, "goodbuy_job_slots"), 0);
}

}  // namespace
}  // namespace goodbuy
