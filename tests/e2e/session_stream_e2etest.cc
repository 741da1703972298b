// End to end: a real analysis-server process on a loopback port, a scratch
// PostgreSQL database with the demo data, and real clients (the C++ client
// library, analysisctl and buf curl).
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/analysis_client.h"
#include "client/status_convert.h"
#include "gmock/gmock.h"
#include "goodbuy/analysis/v1/analysis_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/e2e/watch_all.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using ::goodbuy::e2e::WatchAll;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::HasSubstr;

class SessionStreamTest : public testing::DemoServerTest {
 protected:
  static void SetUpTestSuite() {
    // Stages held 40 ms so watchers can join while a job is in flight.
    StartSuite({"--min_stage_ms=40"});
  }

  static v1::CreateSessionRequest Request(const std::string& business,
                                          v1::SessionType type) {
    v1::CreateSessionRequest request;
    request.set_business_id(business);
    request.set_session_type(type);
    return request;
  }
};

TEST_F(SessionStreamTest, HealthSessionStreamsToCompletionAndPersists) {
  client::AnalysisClient c(server_->target(), testing::ClientOptions());
  auto session = c.CreateSession(
      Request("biz_demo_cafe", v1::SESSION_TYPE_HEALTH_ANALYSIS));
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->status(), v1::SESSION_STATUS_PENDING);
  EXPECT_EQ(session->business_id(), "biz_demo_cafe");
  EXPECT_FALSE(session->user_id().empty());

  auto events = WatchAll(c, session->session_id());
  ASSERT_FALSE(events.empty());
  int last_progress = 0;
  int64_t last_sequence = 0;
  int partials = 0;
  for (const auto& e : events) {
    EXPECT_GT(e.sequence(), last_sequence);
    EXPECT_GE(e.progress_percentage(), last_progress) << e.DebugString();
    if (e.status() != v1::SESSION_STATUS_COMPLETED) {
      EXPECT_LT(e.progress_percentage(), 100);
    }
    last_progress = e.progress_percentage();
    last_sequence = e.sequence();
    if (e.has_partial_result()) ++partials;
  }
  EXPECT_EQ(events.front().sequence(), 1);
  EXPECT_EQ(events.front().status(), v1::SESSION_STATUS_PENDING);
  const v1::SessionEvent& last = events.back();
  ASSERT_EQ(last.status(), v1::SESSION_STATUS_COMPLETED) << last.DebugString();
  EXPECT_EQ(last.progress_percentage(), 100);
  ASSERT_TRUE(last.has_result());
  ASSERT_TRUE(last.result().has_health());
  EXPECT_EQ(partials, 5) << "one partial result per health pillar";

  // GetSession returns the same result the stream carried.
  auto done = c.GetSession(session->session_id());
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(done->progress_percentage(), 100);
  EXPECT_TRUE(
      MessageDifferencer::ApproximatelyEquals(done->result(), last.result()));
  EXPECT_EQ(done->last_sequence(), last.sequence());

  // The row's results column is the streamed result as proto3 JSON.
  const std::string json = testing::QueryValue(
      db_->url(),
      "SELECT results::text FROM ai_analysis_sessions WHERE id = '" +
          session->session_id() + "'");
  v1::AnalysisResult from_row;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &from_row).ok())
      << json;
  EXPECT_TRUE(MessageDifferencer::ApproximatelyEquals(from_row, last.result()));
  EXPECT_EQ(testing::QueryValue(db_->url(),
                                "SELECT json_array_length(streaming_data) FROM "
                                "ai_analysis_sessions WHERE id = '" +
                                    session->session_id() + "'"),
            "5");
  EXPECT_EQ(testing::QueryValue(db_->url(),
                                "SELECT completed_at IS NOT NULL AND "
                                "processing_time_ms >= 0 FROM "
                                "ai_analysis_sessions WHERE id = '" +
                                    session->session_id() + "'"),
            "t");
  // Write-back: the application sees a new health_metrics row.
  EXPECT_EQ(
      testing::QueryValue(db_->url(),
                          "SELECT overall_score FROM health_metrics WHERE "
                          "data_sources->>'session_id' = '" +
                              session->session_id() + "'"),
      std::to_string(last.result().health().overall_score()));
}

TEST_F(SessionStreamTest, TwoWatchersSeeIdenticalEvents) {
  client::AnalysisClient c(server_->target(), testing::ClientOptions());
  auto session =
      c.CreateSession(Request("biz_demo_retail", v1::SESSION_TYPE_FORECAST));
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<v1::SessionEvent> a, b;
  std::thread ta([&] { a = WatchAll(c, session->session_id()); });
  std::thread tb([&] { b = WatchAll(c, session->session_id()); });
  ta.join();
  tb.join();
  ASSERT_FALSE(a.empty());
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(MessageDifferencer::Equals(a[i], b[i])) << i;
  }
  EXPECT_EQ(a.back().status(), v1::SESSION_STATUS_COMPLETED);
  ASSERT_TRUE(a.back().result().has_forecast());
  EXPECT_EQ(a.back().result().forecast().points_size(), 12);
}

TEST_F(SessionStreamTest, LateWatcherGetsEveryPartialAndTheEnd) {
  client::AnalysisClient c(server_->target(), testing::ClientOptions());
  auto session =
      c.CreateSession(Request("biz_demo_agency", v1::SESSION_TYPE_VALUATION));
  ASSERT_TRUE(session.ok()) << session.status();
  // An early watcher sees everything as it happens.
  std::vector<v1::SessionEvent> early;
  std::thread t([&] { early = WatchAll(c, session->session_id()); });
  // A watcher that joins mid-run, and one that joins after the end.
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  auto mid = WatchAll(c, session->session_id());
  t.join();
  auto late = WatchAll(c, session->session_id());
  auto partial_keys = [](const std::vector<v1::SessionEvent>& events) {
    std::vector<std::string> keys;
    for (const auto& e : events) {
      if (e.has_partial_result()) keys.push_back(e.partial_result().key());
    }
    return keys;
  };
  ASSERT_FALSE(partial_keys(early).empty());
  EXPECT_EQ(partial_keys(mid), partial_keys(early));
  EXPECT_EQ(partial_keys(late), partial_keys(early));
  EXPECT_EQ(mid.back().status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(late.back().status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_TRUE(MessageDifferencer::Equals(late.back(), early.back()));

  // Resume: only what follows the cursor.
  const int64_t cursor = early[early.size() / 2].sequence();
  auto resumed = WatchAll(c, session->session_id(), cursor);
  ASSERT_FALSE(resumed.empty());
  EXPECT_EQ(resumed.front().sequence(), early[early.size() / 2 + 1].sequence());
}

TEST_F(SessionStreamTest, RunSessionCreatesAndStreams) {
  client::AnalysisClient c(server_->target(), testing::ClientOptions());
  auto request = Request("biz_demo_cafe", v1::SESSION_TYPE_VALUATION);
  std::vector<v1::SessionEvent> events;
  auto status = c.Run(request, [&](const v1::SessionEvent& e) {
    events.push_back(e);
    return true;
  });
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().sequence(), 1);
  EXPECT_EQ(events.back().status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_TRUE(events.back().result().has_valuation());
}

TEST_F(SessionStreamTest, CancelStopsARunningSession) {
  client::AnalysisClient c(server_->target(), testing::ClientOptions());
  auto session = c.CreateSession(
      Request("biz_demo_restaurant", v1::SESSION_TYPE_FORECAST));
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<v1::SessionEvent> events;
  std::thread t([&] { events = WatchAll(c, session->session_id()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto cancelled = c.CancelSession(session->session_id(), "test cancel");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  t.join();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().status(), v1::SESSION_STATUS_CANCELLED);
  auto row = c.GetSession(session->session_id());
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->status(), v1::SESSION_STATUS_CANCELLED);
  EXPECT_LT(row->progress_percentage(), 100);
  // A finished session cannot be cancelled again.
  auto again = c.CancelSession(session->session_id());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SessionStreamTest, ListSessionsPagesAndFilters) {
  client::AnalysisClient c(server_->target(), testing::ClientOptions());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.CreateSession(Request("biz_demo_agency",
                                        v1::SESSION_TYPE_HEALTH_ANALYSIS))
                    .ok());
  }
  v1::ListSessionsRequest request;
  request.set_business_id("biz_demo_agency");
  request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  request.set_page_size(2);
  std::vector<std::string> ids;
  for (int page = 0; page < 10; ++page) {
    auto response = c.ListSessions(request);
    ASSERT_TRUE(response.ok()) << response.status();
    for (const auto& s : response->sessions()) {
      EXPECT_EQ(s.business_id(), "biz_demo_agency");
      EXPECT_EQ(s.session_type(), v1::SESSION_TYPE_HEALTH_ANALYSIS);
      ids.push_back(s.session_id());
    }
    if (response->next_page_token().empty()) break;
    request.set_page_token(response->next_page_token());
  }
  EXPECT_EQ(ids.size(), 3u);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(std::unique(ids.begin(), ids.end()), ids.end());

  // A token from one filter is refused for another.
  v1::ListSessionsRequest first;
  first.set_page_size(1);
  auto one = c.ListSessions(first);
  ASSERT_TRUE(one.ok());
  ASSERT_FALSE(one->next_page_token().empty());
  v1::ListSessionsRequest other;
  other.set_business_id("biz_demo_cafe");
  other.set_page_token(one->next_page_token());
  EXPECT_EQ(c.ListSessions(other).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(SessionStreamTest, BufCurlThroughReflection) {
  const std::string buf = testing::SourceDir() + "/tools/node_modules/.bin/buf";
  std::string output;
  const int rc = testing::RunCommand(
      {buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H",
       "authorization: Bearer " + testing::AdminToken(), "-d",
       R"({"businessId":"biz_demo_cafe","sessionType":"SESSION_TYPE_HEALTH_ANALYSIS"})",
       "http://" + server_->target() +
           "/goodbuy.analysis.v1.AnalysisService/CreateSession"},
      &output);
  ASSERT_EQ(rc, 0) << output;
  EXPECT_THAT(output, HasSubstr("\"sessionId\""));
  EXPECT_THAT(output, HasSubstr("SESSION_STATUS_PENDING"));
  const int health = testing::RunCommand(
      {buf, "curl", "--protocol", "grpc", "--http2-prior-knowledge",
       "http://" + server_->target() + "/grpc.health.v1.Health/Check"},
      &output);
  ASSERT_EQ(health, 0) << output;
  EXPECT_THAT(output, HasSubstr("SERVING"));
}

TEST_F(SessionStreamTest, AnalysisctlRunPrintsJsonEventsAndExitsZero) {
  std::string output;
  const int rc = testing::RunCommand(
      {GOODBUY_CTL_BIN, "--server=" + server_->target(), "--json", "run",
       "--business=biz_demo_cafe", "--type=health"},
      &output);
  ASSERT_EQ(rc, 0) << output;
  EXPECT_THAT(output, HasSubstr("SESSION_STATUS_COMPLETED"));
  EXPECT_THAT(output, HasSubstr("\"partialResult\""));
}

TEST_F(SessionStreamTest, StoredHistoryThatCannotBeAnalysedFailsTheSession) {
  // A business whose stored months have a hole (no July): accepted at
  // create (enough months), then the job finds the gap and fails.
  testing::ExecSql(db_->url(), R"sql(
    INSERT INTO users (id, email) VALUES ('usr_gappy', 'gappy@example.com')
      ON CONFLICT DO NOTHING;
    INSERT INTO businesses (id, title, owner_id)
      VALUES ('biz_gappy', 'Gappy Goods', 'usr_gappy') ON CONFLICT DO NOTHING;
    INSERT INTO business_financial_periods (business_id, month, revenue,
                                            operating_expenses, cash)
    SELECT 'biz_gappy', make_date(2024, m, 1), 10000 + 100 * m, 7000, 20000
    FROM generate_series(1, 12) AS m WHERE m <> 7
    ON CONFLICT DO NOTHING;
  )sql");
  std::string output;
  const int rc =
      testing::RunCommand({GOODBUY_CTL_BIN, "--server=" + server_->target(),
                           "run", "--business=biz_gappy", "--type=health"},
                          &output);
  EXPECT_EQ(rc, 1) << output;  // a failed session is a non-zero exit
  EXPECT_THAT(output, HasSubstr("failed"));
  EXPECT_THAT(output, HasSubstr("2024-07"));
  EXPECT_EQ(testing::QueryValue(
                db_->url(),
                "SELECT status || '/' || error_code FROM ai_analysis_sessions "
                "WHERE business_id = 'biz_gappy'"),
            "failed/9");  // FAILED_PRECONDITION
  EXPECT_EQ(testing::QueryValue(db_->url(),
                                "SELECT count(*) FROM health_metrics WHERE "
                                "business_id = 'biz_gappy'"),
            "0");
}

}  // namespace
}  // namespace goodbuy
