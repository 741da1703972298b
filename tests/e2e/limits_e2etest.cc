// Per-session limits enforced by a real server: a job that runs past its
// maximum run time fails with DEADLINE_EXCEEDED (and is not retried), and a
// user's running sessions never exceed the per-user cap, so another user's
// session still gets a worker. A server that may open more connections than
// PostgreSQL accepts says so when it starts.
#include <string>
#include <thread>
#include <vector>

#include "client/analysis_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/watch_all.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;

using ::goodbuy::e2e::WatchAll;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(LimitsTest, JobPastItsMaximumRunTimeFailsWithDeadlineExceeded) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  // Every stage is held 400 ms; the whole job may take 1 s.
  testing::ServerProcess server(db.url(),
                                {"--min_stage_ms=400", "--max_run_s=1"});
  client::AnalysisClient client(server.target(), testing::ClientOptions());
  v1::CreateSessionRequest request;
  request.set_business_id("biz_demo_cafe");
  request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  auto session = client.CreateSession(request);
  ASSERT_TRUE(session.ok()) << session.status();

  auto events = WatchAll(client, session->session_id());
  ASSERT_FALSE(events.empty());
  const v1::SessionEvent& last = events.back();
  EXPECT_EQ(last.status(), v1::SESSION_STATUS_FAILED) << last.DebugString();
  EXPECT_EQ(last.error().code(), 4);  // DEADLINE_EXCEEDED
  EXPECT_THAT(last.error().message(), HasSubstr("maximum of 1s"));
  EXPECT_EQ(testing::QueryValue(db.url(),
                                "SELECT attempt || '/' || error_code FROM "
                                "ai_analysis_sessions WHERE id = '" +
                                    session->session_id() + "'"),
            "1/4");  // failed at once, not retried
}

TEST(LimitsTest, MoreThreadsThanConnectionsIsWarnedAtStart) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  const int max_connections = std::stoi(testing::QueryValue(
      db.url(), "SELECT current_setting('max_connections')"));
  {
    testing::ServerProcess fits(db.url(), {"--workers=2"});
    EXPECT_THAT(fits.Log(), Not(HasSubstr("PostgreSQL accepts only")));
  }
  testing::ServerProcess over(
      db.url(), {"--workers=" + std::to_string(max_connections + 10)});
  EXPECT_THAT(over.Log(), HasSubstr("PostgreSQL accepts only"));
  EXPECT_THAT(over.Log(),
              HasSubstr("lower --workers or raise max_connections"));
  // It still serves: the warning names a risk, not a failure.
  client::AnalysisClient client(over.target(), testing::ClientOptions());
  EXPECT_TRUE(client.ListSessions(v1::ListSessionsRequest()).ok());
}

TEST(LimitsTest, PerUserCapLeavesWorkersForOtherUsers) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  testing::ServerProcess server(db.url(), {"--min_stage_ms=150", "--workers=3",
                                           "--max_running_per_user=1"});
  client::AnalysisClient client(server.target(), testing::ClientOptions());
  // Owner 1 queues four sessions; owner 2 (biz_demo_retail's) one.
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    v1::CreateSessionRequest request;
    request.set_business_id("biz_demo_cafe");
    request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
    auto s = client.CreateSession(request);
    ASSERT_TRUE(s.ok()) << s.status();
    ids.push_back(s->session_id());
  }
  v1::CreateSessionRequest other;
  other.set_business_id("biz_demo_retail");
  other.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  auto other_session = client.CreateSession(other);
  ASSERT_TRUE(other_session.ok()) << other_session.status();

  // Sample while they run: owner 1 never has two running at once.
  int max_running = 0;
  bool other_ran = false;
  for (int i = 0; i < 400; ++i) {
    const std::string row = testing::QueryValue(
        db.url(),
        "SELECT count(*) FILTER (WHERE status = 'running' AND user_id = "
        "(SELECT owner_id FROM businesses WHERE id = 'biz_demo_cafe')) || '/' "
        "|| count(*) FILTER (WHERE status IN ('pending', 'running')) FROM "
        "ai_analysis_sessions");
    max_running =
        std::max(max_running, std::stoi(row.substr(0, row.find('/'))));
    other_ran =
        other_ran ||
        testing::QueryValue(db.url(),
                            "SELECT status FROM ai_analysis_sessions "
                            "WHERE id = '" +
                                other_session->session_id() + "'") != "pending";
    if (row.substr(row.find('/') + 1) == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(max_running, 1);
  EXPECT_TRUE(other_ran);
  EXPECT_EQ(testing::QueryValue(db.url(),
                                "SELECT count(*) FROM ai_analysis_sessions "
                                "WHERE status = 'completed'"),
            "5");
}

}  // namespace
}  // namespace goodbuy
