// Two analysis-server processes on one database, as stateless replicas: a
// session runs on one and is cancelled and watched through the other.
#include <google/protobuf/util/message_differencer.h>
#include <sys/wait.h>

#include <algorithm>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "client/analysis_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/watch_all.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;

using ::goodbuy::e2e::WatchAll;

class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.MigrateAndLoadDemo();
    // A runs jobs slowly enough to be cancelled mid-way. B starts only once
    // A holds the session, so B cannot be the one running it.
    a_ = std::make_unique<testing::ServerProcess>(
        db_.url(), std::vector<std::string>{"--min_stage_ms=150"});
  }

  testing::ScratchDatabase db_;
  std::unique_ptr<testing::ServerProcess> a_;
  std::unique_ptr<testing::ServerProcess> b_;
};

TEST_F(ReplicasTest, CancelThroughAnotherReplicaStopsTheJob) {
  client::AnalysisClient via_a(a_->target(), testing::ClientOptions());
  v1::CreateSessionRequest request;
  request.set_business_id("biz_demo_retail");
  request.set_session_type(v1::SESSION_TYPE_FORECAST);
  auto session = via_a.CreateSession(request);
  ASSERT_TRUE(session.ok()) << session.status();

  std::vector<v1::SessionEvent> on_a;
  std::thread watcher([&] { on_a = WatchAll(via_a, session->session_id()); });
  // Wait until A is running it, then start B and cancel through B, which
  // does not run it: only the database connects the two.
  for (int i = 0; i < 100; ++i) {
    auto now = via_a.GetSession(session->session_id());
    ASSERT_TRUE(now.ok()) << now.status();
    if (now->status() == v1::SESSION_STATUS_RUNNING &&
        now->progress_percentage() > 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  b_ = std::make_unique<testing::ServerProcess>(db_.url());
  client::AnalysisClient via_b(b_->target(), testing::ClientOptions());
  auto cancel = via_b.CancelSession(session->session_id(), "through B");
  ASSERT_TRUE(cancel.ok()) << cancel.status();
  watcher.join();

  ASSERT_FALSE(on_a.empty());
  EXPECT_EQ(on_a.back().status(), v1::SESSION_STATUS_CANCELLED)
      << on_a.back().DebugString();
  auto row = via_b.GetSession(session->session_id());
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->status(), v1::SESSION_STATUS_CANCELLED);
  EXPECT_LT(row->progress_percentage(), 100);

  // B never ran it, yet its watchers get the same history from the table,
  // ending with the same terminal event.
  auto on_b = WatchAll(via_b, session->session_id());
  ASSERT_FALSE(on_b.empty());
  EXPECT_EQ(on_b.back().sequence(), on_a.back().sequence());
  EXPECT_EQ(on_b.back().status(), v1::SESSION_STATUS_CANCELLED);

  // A watch whose cursor is already at the end closes at once, empty.
  auto none = WatchAll(via_b, session->session_id(), on_b.back().sequence());
  EXPECT_TRUE(none.empty());
  auto none_a = WatchAll(via_a, session->session_id(), on_a.back().sequence());
  EXPECT_TRUE(none_a.empty());
}

TEST_F(ReplicasTest,
       SigtermReleasesARunningSessionAndAnotherReplicaFinishesIt) {
  // A holds each stage for 150 ms and gets no grace period, so SIGTERM
  // lands mid-job.
  a_ = std::make_unique<testing::ServerProcess>(
      db_.url(),
      std::vector<std::string>{"--min_stage_ms=150", "--shutdown_grace_s=0"});
  client::AnalysisClient via_a(a_->target(), testing::ClientOptions());
  v1::CreateSessionRequest request;
  request.set_business_id("biz_demo_agency");
  request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  auto session = via_a.CreateSession(request);
  ASSERT_TRUE(session.ok()) << session.status();
  const std::string id = session->session_id();
  const std::string row_sql =
      "SELECT status || '/' || attempt FROM ai_analysis_sessions WHERE id = '" +
      id + "'";
  // Wait until A runs it and has written a partial result.
  const std::string partials_sql =
      "SELECT count(*) FROM session_events WHERE kind = 'partial' AND "
      "session_id = '" +
      id + "'";
  for (int i = 0;
       i < 200 && testing::QueryValue(db_.url(), partials_sql) == "0"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(testing::QueryValue(db_.url(), row_sql), "running/1");
  ASSERT_NE(testing::QueryValue(db_.url(), partials_sql), "0");

  // The fault: A is told to stop while the job runs.
  const int status = a_->Stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << a_->Log();
  EXPECT_THAT(a_->Log(), ::testing::HasSubstr("released at shutdown"));
  // What survived: the session, back in the queue, with its events so far.
  EXPECT_EQ(testing::QueryValue(db_.url(), row_sql), "pending/1");
  const std::string events_before = testing::QueryValue(
      db_.url(),
      "SELECT count(*) FROM session_events WHERE session_id = '" + id + "'");
  EXPECT_GE(std::stoi(events_before), 3);

  // B picks it up from the queue and runs it to the end.
  b_ = std::make_unique<testing::ServerProcess>(db_.url());
  client::AnalysisClient via_b(b_->target(), testing::ClientOptions());
  auto events = WatchAll(via_b, id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().sequence(), 1);
  EXPECT_EQ(events.back().status(), v1::SESSION_STATUS_COMPLETED);
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_GT(events[i].sequence(), events[i - 1].sequence());
    EXPECT_GE(events[i].progress_percentage(),
              events[i - 1].progress_percentage());
  }
  EXPECT_EQ(testing::QueryValue(db_.url(), row_sql), "completed/2");
  EXPECT_EQ(testing::QueryValue(db_.url(),
                                "SELECT count(*) FROM health_metrics WHERE "
                                "data_sources->>'session_id' = '" +
                                    id + "'"),
            "1");
}

// Create on A, watch on B, which does not run the session: B wakes on A's
// NOTIFY rather than its poll, so each partial result and the terminal event
// (written as they happen) reach B's watcher within a few tens of
// milliseconds, identical and in order. The latency from the event's
// creation on A to its arrival on B is printed for the closing note.
TEST_F(ReplicasTest, WatchOnAnotherReplicaIsIdenticalAndWokenByNotify) {
  b_ = std::make_unique<testing::ServerProcess>(db_.url());
  client::AnalysisClient via_a(a_->target(), testing::ClientOptions());
  client::AnalysisClient via_b(b_->target(), testing::ClientOptions());
  v1::CreateSessionRequest request;
  request.set_business_id("biz_demo_retail");
  request.set_session_type(v1::SESSION_TYPE_FORECAST);
  auto session = via_a.CreateSession(request);
  ASSERT_TRUE(session.ok()) << session.status();
  // A claims its own new session at once; B only reads the table.
  std::vector<v1::SessionEvent> on_b;
  std::vector<absl::Duration> latency;
  std::thread watcher([&] {
    auto status =
        via_b.Watch(session->session_id(), 0, [&](const v1::SessionEvent& e) {
          on_b.push_back(e);
          if (e.has_partial_result() ||
              e.status() != v1::SESSION_STATUS_RUNNING) {
            latency.push_back(
                absl::Now() -
                absl::FromUnixNanos(e.event_time().seconds() * 1000000000LL +
                                    e.event_time().nanos()));
          }
          return true;
        });
    EXPECT_TRUE(status.ok()) << status;
  });
  watcher.join();
  auto on_a = WatchAll(via_a, session->session_id());
  ASSERT_FALSE(on_b.empty());
  EXPECT_EQ(on_b.back().status(), v1::SESSION_STATUS_COMPLETED);
  ASSERT_EQ(on_a.size(), on_b.size());
  for (size_t i = 0; i < on_a.size(); ++i) {
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(on_a[i], on_b[i]))
        << i << ":\n"
        << on_a[i].DebugString() << on_b[i].DebugString();
  }
  EXPECT_THAT(testing::QueryValue(db_.url(),
                                  "SELECT lease_owner FROM session_attempts "
                                  "WHERE session_id = '" +
                                      session->session_id() + "'"),
              ::testing::Not(::testing::HasSubstr(std::to_string(b_->pid()))));
  // Events B saw while the session was live (the first may precede the
  // watch): with NOTIFY they arrive well inside the 1 s fallback poll.
  std::vector<absl::Duration> live(latency.begin() + 1, latency.end());
  ASSERT_FALSE(live.empty());
  std::sort(live.begin(), live.end());
  const absl::Duration p50 = live[live.size() / 2];
  const absl::Duration max = live.back();
  std::cout << "[ cross-replica ] " << live.size()
            << " partial/terminal events, delivery p50 "
            << absl::FormatDuration(p50) << ", max "
            << absl::FormatDuration(max) << "\n";
  EXPECT_LT(p50, absl::Milliseconds(250));
  EXPECT_THAT(b_->Log(), ::testing::Not(::testing::HasSubstr(
                             "event listener lost its connection")));
}

}  // namespace
}  // namespace goodbuy
