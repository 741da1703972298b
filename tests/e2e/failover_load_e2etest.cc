// The multi-replica topology on one machine: an API-only replica takes every
// create and watch, three worker replicas share the queue through one
// PostgreSQL, and one worker is killed (SIGKILL) while it runs sessions.
// Nothing is lost: every session completes once, the dead worker's sessions
// are re-queued by a surviving reaper and finished elsewhere, attempts never
// overlap, and the survivors' metrics show the failover.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/analysis_client.h"
#include "gtest/gtest.h"
#include "tests/e2e/metrics_scrape.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using ::goodbuy::e2e::MetricsPort;
using ::goodbuy::e2e::SampleValue;
using ::goodbuy::e2e::Scrape;

int Count(const std::string& url, const std::string& sql) {
  return std::stoi(testing::QueryValue(url, sql));
}

TEST(FailoverLoadTest, KilledWorkerLosesNoSession) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  const std::string url = db.url();
  testing::ServerProcess api(
      url, {"--workers=0", "--replica_id=api", "--metrics_listen=127.0.0.1:0"});
  std::vector<std::unique_ptr<testing::ServerProcess>> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(std::make_unique<testing::ServerProcess>(
        url, std::vector<std::string>{"--workers=2",
                                      absl::StrCat("--replica_id=worker-", i),
                                      "--min_stage_ms=40", "--lease_ms=1500",
                                      "--max_running_per_user=100",
                                      "--metrics_listen=127.0.0.1:0"}));
  }

  // 60 sessions through the API replica, from 4 client threads.
  constexpr int kSessions = 60;
  std::atomic<int> created{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      client::AnalysisClient c(api.target(), testing::ClientOptions());
      v1::CreateSessionRequest request;
      request.set_business_id("biz_demo_cafe");
      request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
      request.set_user_id("usr_demo_broker");  // unlimited plan
      for (int i = 0; i < kSessions / 4; ++i) {
        request.clear_request_id();
        if (c.CreateSession(request).ok()) ++created;
      }
    });
  }
  for (auto& t : clients) t.join();
  ASSERT_EQ(created.load(), kSessions);

  // Kill worker-0 while it runs sessions.
  const absl::Time until = absl::Now() + absl::Seconds(20);
  int held = 0;
  while (absl::Now() < until &&
         (held = Count(url,
                       "SELECT count(*) FROM ai_analysis_sessions WHERE status "
                       "= 'running' AND lease_owner = 'worker-0'")) == 0) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GT(held, 0) << "worker-0 never ran a session";
  const int status = workers[0]->Kill();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

  // Every session ends, completed.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  int done = 0;
  while (absl::Now() < deadline &&
         (done = Count(url,
                       "SELECT count(*) FROM ai_analysis_sessions WHERE status "
                       "IN ('completed', 'failed', 'cancelled')")) <
             kSessions) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(Count(url,
                  "SELECT count(*) FROM ai_analysis_sessions WHERE status = "
                  "'completed'"),
            kSessions);
  // The killed worker's sessions (those it still held when it died; one it
  // was finishing as the signal came may have completed): their attempt
  // there expired and a survivor finished them.
  const int expired = Count(url,
                            "SELECT count(*) FROM session_attempts WHERE "
                            "lease_owner = 'worker-0' AND outcome = 'expired'");
  EXPECT_GE(expired, 1);
  EXPECT_EQ(Count(url,
                  "SELECT count(*) FROM session_attempts WHERE lease_owner = "
                  "'worker-0' AND ended_at IS NULL"),
            0);
  EXPECT_GE(Count(url,
                  "SELECT count(DISTINCT lease_owner) FROM session_attempts "
                  "WHERE outcome = 'completed'"),
            2);  // spread over the workers
  // Exactly once: one completed attempt and one usage row per session, and
  // a session's attempts never overlap in time.
  EXPECT_EQ(Count(url,
                  "SELECT count(*) FROM session_attempts WHERE outcome = "
                  "'completed'"),
            kSessions);
  EXPECT_EQ(Count(url,
                  "SELECT count(*) FROM usage_metrics WHERE metadata->>"
                  "'session_id' IN (SELECT id FROM ai_analysis_sessions)"),
            kSessions);
  EXPECT_EQ(Count(url,
                  "SELECT count(*) FROM session_attempts a JOIN "
                  "session_attempts b ON b.session_id = a.session_id AND "
                  "b.attempt > a.attempt WHERE a.ended_at IS NULL OR "
                  "b.claimed_at < a.ended_at"),
            0);

  // The metrics show it: the API replica created them all and ran none,
  // the survivors re-queued the dead worker's sessions and finished the
  // rest.
  const std::string api_metrics = Scrape(MetricsPort(api));
  EXPECT_EQ(SampleValue(api_metrics,
                        "goodbuy_sessions_created_total{type=\"health_"
                        "analysis\"}"),
            kSessions);
  EXPECT_EQ(SampleValue(api_metrics, "goodbuy_job_slots"), 0);
  // Any replica reaps, the API-only one too.
  double requeued = SampleValue(
      api_metrics, "goodbuy_lease_expiries_total{outcome=\"requeued\"}");
  double completed_by_survivors = 0;
  for (int i = 1; i < 3; ++i) {
    const std::string text = Scrape(MetricsPort(*workers[i]));
    ASSERT_FALSE(text.empty());
    requeued +=
        SampleValue(text, "goodbuy_lease_expiries_total{outcome=\"requeued\"}");
    completed_by_survivors += SampleValue(
        text,
        "goodbuy_sessions_finished_total{type=\"health_analysis\",status="
        "\"completed\"}");
  }
  EXPECT_EQ(requeued, expired);
  EXPECT_EQ(completed_by_survivors,
            Count(url,
                  "SELECT count(*) FROM session_attempts WHERE outcome = "
                  "'completed' AND lease_owner <> 'worker-0'"));
}

}  // namespace
}  // namespace goodbuy
