// The store's durability primitives against a real PostgreSQL: fair, capped,
// batched claims that concurrent claimers never share; one-statement lease
// heartbeats that report lost leases; the reaper's compare-and-set re-queue
// with backoff and its give-up after the last attempt; the attempt history;
// and per-user idempotent creates under concurrency. Each test has its own
// database, so counts are exact.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "server/common/time_util.h"
#include "server/store/pg/pg_pool.h"
#include "server/store/pg/pg_session_store.h"
#include "server/store/request_deadline.h"
#include "tests/testing/test_env.h"

namespace goodbuy::store::pg {
namespace {

using ::goodbuy::testing::ExecSql;
using ::goodbuy::testing::QueryValue;
using ::goodbuy::testing::ScratchDatabase;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

v1::SessionEvent Template(v1::SessionStatus status, const std::string& stage) {
  v1::SessionEvent e;
  e.set_status(status);
  e.set_stage(stage);
  *e.mutable_event_time() = ToProtoTime(absl::Now());
  return e;
}

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.MigrateAndLoadDemo();
    ASSERT_FALSE(HasFatalFailure());
    sessions_ = Store();
  }

  std::unique_ptr<PgSessionStore> Store() {
    PgPoolOptions options;
    options.url = db_.url();
    options.size = 2;
    options.application_name = "durability-pgtest";
    pools_.push_back(std::make_unique<PgPool>(options));
    return std::make_unique<PgSessionStore>(pools_.back().get());
  }

  // A pending session of `user` (on one of the demo businesses).
  std::string Create(const std::string& user, const std::string& request_id) {
    NewSession s;
    s.request_id = request_id;
    s.user_id = user;
    s.business_id = "biz_demo_cafe";
    s.session_type = v1::SESSION_TYPE_HEALTH_ANALYSIS;
    s.created_event = Template(v1::SESSION_STATUS_PENDING, "queued");
    s.created_event.set_sequence(1);
    auto created = sessions_->CreateSession(s);
    EXPECT_TRUE(created.ok()) << created.status();
    // Distinct creation times keep "oldest first" well defined.
    absl::SleepFor(absl::Milliseconds(2));
    return created.ok() ? created->session.session_id() : "";
  }

  std::vector<ClaimedSession> Claim(PgSessionStore& store, int limit, int cap,
                                    absl::Duration lease = absl::Seconds(60),
                                    const std::string& owner = "replica-a") {
    auto claimed =
        store.ClaimPending(owner, limit, cap, lease,
                           Template(v1::SESSION_STATUS_RUNNING, "started"));
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    return claimed.ok() ? *claimed : std::vector<ClaimedSession>{};
  }

  std::string Sql(const std::string& sql) { return QueryValue(db_.url(), sql); }
  std::string Column(const std::string& id, const std::string& expr) {
    return Sql("SELECT " + expr + " FROM ai_analysis_sessions WHERE id = '" +
               id + "'");
  }

  ScratchDatabase db_;
  std::vector<std::unique_ptr<PgPool>> pools_;
  std::unique_ptr<PgSessionStore> sessions_;
};

std::vector<std::string> Ids(const std::vector<ClaimedSession>& claimed) {
  std::vector<std::string> ids;
  for (const auto& c : claimed) ids.push_back(c.session.session_id());
  return ids;
}

TEST_F(DurabilityTest, ClaimIsFairAcrossUsersAndCappedPerUser) {
  const std::string a1 = Create("usr_demo_owner1", "a1");
  const std::string a2 = Create("usr_demo_owner1", "a2");
  const std::string a3 = Create("usr_demo_owner1", "a3");
  const std::string a4 = Create("usr_demo_owner1", "a4");
  const std::string b1 = Create("usr_demo_owner2", "b1");

  // Every user's oldest before anyone's second: a1, b1, then a2.
  auto first = Claim(*sessions_, 3, /*cap=*/2);
  EXPECT_THAT(Ids(first), UnorderedElementsAre(a1, b1, a2));
  for (const auto& c : first) {
    EXPECT_EQ(c.attempt, 1);
    EXPECT_EQ(c.claim_event.sequence(), 2);
    EXPECT_EQ(c.claim_event.session_id(), c.session.session_id());
  }
  // User 1 runs two sessions: at the cap, the rest wait however much room.
  EXPECT_TRUE(Claim(*sessions_, 10, /*cap=*/2).empty());
  EXPECT_EQ(Column(a3, "status"), "pending");
  // Each claim opened an attempt; its RUNNING event is left to the job's
  // first write (so the claim is one statement).
  EXPECT_EQ(Sql("SELECT count(*) FROM session_attempts WHERE attempt = 1 AND "
                "lease_owner = 'replica-a' AND ended_at IS NULL"),
            "3");
  EXPECT_EQ(Sql("SELECT count(*) FROM session_events WHERE sequence = 2"), "0");
  (void)a4;
}

TEST_F(DurabilityTest, ConcurrentClaimersNeverTakeTheSameSession) {
  std::set<std::string> created;
  for (int i = 0; i < 24; ++i) {
    created.insert(Create(i % 2 ? "usr_demo_owner1" : "usr_demo_owner2",
                          "c" + std::to_string(i)));
  }
  auto other = Store();
  std::vector<std::string> got[2];
  std::thread threads[2];
  PgSessionStore* stores[2] = {sessions_.get(), other.get()};
  for (int t = 0; t < 2; ++t) {
    threads[t] = std::thread([&, t] {
      for (int round = 0; round < 30; ++round) {
        auto claimed = stores[t]->ClaimPending(
            t == 0 ? "replica-a" : "replica-b", 3, /*per_user_cap=*/100,
            absl::Seconds(60), Template(v1::SESSION_STATUS_RUNNING, "s"));
        if (!claimed.ok()) continue;
        for (const auto& c : *claimed) got[t].push_back(c.session.session_id());
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all(got[0].begin(), got[0].end());
  all.insert(got[1].begin(), got[1].end());
  EXPECT_EQ(got[0].size() + got[1].size(), 24u);  // nobody claimed twice
  EXPECT_EQ(all, created);
  EXPECT_EQ(Sql("SELECT count(*) FROM session_attempts"), "24");
}

TEST_F(DurabilityTest, HeartbeatRenewsHeldLeasesAndNamesLostOnes) {
  Create("usr_demo_owner1", "h1");
  Create("usr_demo_owner2", "h2");
  auto claimed = Claim(*sessions_, 2, 10, absl::Seconds(2));
  ASSERT_EQ(claimed.size(), 2u);
  const std::string kept = claimed[0].session.session_id();
  const std::string stale = claimed[1].session.session_id();
  const std::string before = Column(kept, "lease_expires_at");

  auto lost = sessions_->Heartbeat("replica-a",
                                   {{kept, claimed[0].attempt},
                                    {stale, claimed[1].attempt + 1},
                                    {"no-such-session", 1}},
                                   absl::Seconds(60));
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_THAT(*lost, UnorderedElementsAre(stale, "no-such-session"));
  EXPECT_EQ(Column(kept, "lease_expires_at > now() + interval '50 seconds'"),
            "t");
  EXPECT_EQ(Column(stale, "lease_expires_at < now() + interval '5 seconds'"),
            "t");
  // Another owner's heartbeat renews nothing.
  auto foreign = sessions_->Heartbeat("replica-b", {{kept, claimed[0].attempt}},
                                      absl::Seconds(60));
  ASSERT_TRUE(foreign.ok());
  EXPECT_THAT(*foreign, ElementsAre(kept));
  EXPECT_TRUE(sessions_->Heartbeat("replica-a", {}, absl::Seconds(1))->empty());
}

TEST_F(DurabilityTest, ReaperRequeuesWithBackoffThenGivesUpAfterMaxAttempts) {
  const std::string id = Create("usr_demo_owner1", "r1");
  auto first = Claim(*sessions_, 1, 10, absl::Milliseconds(1));
  ASSERT_EQ(first.size(), 1u);
  absl::SleepFor(absl::Milliseconds(30));  // the worker "died"

  SessionStore::ReapPolicy policy;
  policy.max_attempts = 2;
  policy.backoff_base = absl::Seconds(10);
  policy.backoff_cap = absl::Seconds(10);
  auto reaped = sessions_->ReapExpired(policy);
  ASSERT_TRUE(reaped.ok()) << reaped.status();
  ASSERT_EQ(reaped->size(), 1u);
  EXPECT_EQ((*reaped)[0].status(), v1::SESSION_STATUS_PENDING);
  EXPECT_EQ((*reaped)[0].stage(), "requeued");
  // The dead worker may have streamed up to kMaxUnpersistedEvents events
  // it never wrote: the requeue event is numbered after them.
  EXPECT_EQ((*reaped)[0].sequence(), 3 + store::kMaxUnpersistedEvents);
  EXPECT_EQ(Column(id, "status || '/' || (lease_owner IS NULL)"),
            "pending/true");
  EXPECT_EQ(Column(id,
                   "run_after BETWEEN now() AND now() + interval '11 "
                   "seconds'"),
            "t");
  EXPECT_EQ(Sql("SELECT outcome || '/' || (ended_at IS NOT NULL) FROM "
                "session_attempts WHERE session_id = '" +
                id + "' AND attempt = 1"),
            "expired/true");
  // A second reaper finds nothing: the compare-and-set already happened.
  EXPECT_TRUE(sessions_->ReapExpired(policy)->empty());
  // The dead worker's late writes are fenced off.
  ProgressUpdate late;
  late.session_id = id;
  late.attempt = first[0].attempt;
  late.progress_percentage = 50;
  late.stage = "late";
  late.last_sequence = 3;
  EXPECT_EQ(sessions_->RecordProgress(late).status().code(),
            absl::StatusCode::kAborted);

  // Not before run_after; then attempt 2, which also expires: FAILED.
  EXPECT_TRUE(Claim(*sessions_, 1, 10).empty());
  ExecSql(db_.url(), "UPDATE ai_analysis_sessions SET run_after = now()");
  auto second = Claim(*sessions_, 1, 10, absl::Milliseconds(1));
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2);
  absl::SleepFor(absl::Milliseconds(30));
  reaped = sessions_->ReapExpired(policy);
  ASSERT_TRUE(reaped.ok());
  ASSERT_EQ(reaped->size(), 1u);
  EXPECT_EQ((*reaped)[0].status(), v1::SESSION_STATUS_FAILED);
  EXPECT_THAT((*reaped)[0].error().message(),
              HasSubstr("gave up after 2 attempts"));
  EXPECT_EQ(Column(id, "status || '/' || error_code"), "failed/14");
  auto events = sessions_->ListEvents(id, 0);
  ASSERT_TRUE(events.ok());
  // pending, requeued, failed: the claims' RUNNING events were the jobs' to
  // write, and those jobs died before any write.
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ(events->back().status(), v1::SESSION_STATUS_FAILED);
  // The lease history: two attempts, never open at the same time.
  EXPECT_EQ(Sql("SELECT string_agg(attempt || ':' || outcome, ',' ORDER BY "
                "attempt) FROM session_attempts WHERE session_id = '" +
                id + "'"),
            "1:expired,2:expired");
}

TEST_F(DurabilityTest, ExpiredLeaseOfACancelledSessionEndsCancelled) {
  const std::string id = Create("usr_demo_owner1", "x1");
  ASSERT_EQ(Claim(*sessions_, 1, 10, absl::Milliseconds(1)).size(), 1u);
  ExecSql(db_.url(),
          "UPDATE ai_analysis_sessions SET cancel_requested = true WHERE id = "
          "'" +
              id + "'");
  absl::SleepFor(absl::Milliseconds(30));
  auto reaped = sessions_->ReapExpired({});
  ASSERT_TRUE(reaped.ok());
  ASSERT_EQ(reaped->size(), 1u);
  EXPECT_EQ((*reaped)[0].status(), v1::SESSION_STATUS_CANCELLED);
  EXPECT_EQ(Column(id, "status"), "cancelled");
}

TEST_F(DurabilityTest, ConcurrentDuplicateCreatesMakeOneSession) {
  constexpr int kThreads = 8;
  std::vector<std::string> ids(kThreads);
  std::vector<int> inserted(kThreads, 0);
  std::vector<std::unique_ptr<PgSessionStore>> stores;
  for (int i = 0; i < kThreads; ++i) stores.push_back(Store());
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      NewSession s;
      s.request_id = "same-key";
      s.user_id = "usr_demo_owner1";
      s.business_id = "biz_demo_cafe";
      s.session_type = v1::SESSION_TYPE_FORECAST;
      s.created_event = Template(v1::SESSION_STATUS_PENDING, "queued");
      s.created_event.set_sequence(1);
      auto created = stores[i]->CreateSession(s);
      if (created.ok()) {
        ids[i] = created->session.session_id();
        inserted[i] = created->inserted;
      }
    });
  }
  for (auto& t : threads) t.join();
  int inserts = 0;
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(ids[i], ids[0]) << i;
    inserts += inserted[i];
  }
  EXPECT_EQ(inserts, 1);
  EXPECT_EQ(Sql("SELECT count(*) FROM ai_analysis_sessions WHERE request_id "
                "= 'same-key'"),
            "1");
  EXPECT_EQ(Sql("SELECT count(*) FROM session_events e JOIN "
                "ai_analysis_sessions s ON s.id = e.session_id WHERE "
                "s.request_id = 'same-key'"),
            "1");
}

// A request's deadline reaches the database: a read stuck behind a lock is
// cancelled by statement_timeout when the deadline passes (DEADLINE_EXCEEDED,
// the connection freed and usable), and a deadline already gone sends no
// query at all.
TEST_F(DurabilityTest, RequestDeadlineBecomesTheStatementTimeout) {
  const std::string id = Create("usr_demo_owner1", "d1");
  pqxx::connection blocker(db_.url());
  pqxx::work lock(blocker);
  lock.exec("LOCK TABLE ai_analysis_sessions IN ACCESS EXCLUSIVE MODE");

  const absl::Time start = absl::Now();
  absl::Status status;
  {
    ScopedRequestDeadline deadline(start + absl::Milliseconds(300));
    status = sessions_->GetSession(id).status();
  }
  const absl::Duration took = absl::Now() - start;
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Seconds(3));  // not the pool's 30 s default
  lock.abort();

  // The same pooled connection serves the next call with the default
  // timeout again.
  auto after = sessions_->GetSession(id);
  EXPECT_TRUE(after.ok()) << after.status();
  {
    ScopedRequestDeadline gone(absl::Now() - absl::Seconds(1));
    EXPECT_EQ(sessions_->GetSession(id).status().code(),
              absl::StatusCode::kDeadlineExceeded);
  }
}

}  // namespace
}  // namespace goodbuy::store::pg
