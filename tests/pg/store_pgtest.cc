// PgSessionStore and PgBusinessStore against a real PostgreSQL database,
// migrated and loaded with the demo data (one database for the suite; each
// test makes its own sessions and reads only those).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/analysis/ttm.h"
#include "server/common/time_util.h"
#include "server/store/pg/pg_business_store.h"
#include "server/store/pg/pg_pool.h"
#include "server/store/pg/pg_session_store.h"
#include "server/store/tenant_scope.h"
#include "tests/testing/test_env.h"

namespace goodbuy::store::pg {
namespace {

using ::goodbuy::testing::QueryValue;
using ::goodbuy::testing::ScratchDatabase;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kCafe[] = "biz_demo_cafe";
constexpr char kCafeOwner[] = "usr_demo_owner1";

std::string Quote(const std::string& s) { return "'" + s + "'"; }

v1::SessionEvent EventTemplate(v1::SessionStatus status,
                               const std::string& stage) {
  v1::SessionEvent e;
  e.set_status(status);
  e.set_stage(stage);
  *e.mutable_event_time() = ToProtoTime(absl::Now());
  return e;
}

NewSession MakeNew(const std::string& request_id,
                   v1::SessionType type = v1::SESSION_TYPE_HEALTH_ANALYSIS,
                   const std::string& business = kCafe,
                   const std::string& user = kCafeOwner) {
  NewSession s;
  s.request_id = request_id;
  s.user_id = user;
  s.business_id = business;
  s.session_type = type;
  s.options.set_forecast_horizon_months(12);
  s.created_event = EventTemplate(v1::SESSION_STATUS_PENDING, "queued");
  s.created_event.set_sequence(1);
  return s;
}

class PgStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new ScratchDatabase();
    db_->MigrateAndLoadDemo();
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }

  void SetUp() override {
    ASSERT_FALSE(HasFatalFailure());
    PgPoolOptions options;
    options.url = db_->url();
    options.size = 2;
    options.application_name = "store-pgtest";
    pool_ = std::make_unique<PgPool>(options);
    sessions_ = std::make_unique<PgSessionStore>(pool_.get());
    businesses_ = std::make_unique<PgBusinessStore>(pool_.get());
  }

  std::string Sql(const std::string& sql) { return QueryValue(url(), sql); }
  static const std::string& url() { return db_->url(); }

  // A created and claimed session; returns the claim.
  ClaimedSession CreateAndClaim(const std::string& request_id,
                                v1::SessionType type) {
    auto created = sessions_->CreateSession(MakeNew(request_id, type));
    EXPECT_TRUE(created.ok()) << created.status();
    if (!created.ok()) return {};
    auto claimed = sessions_->ClaimSession(
        created->session.session_id(), "replica-a", absl::Seconds(60),
        EventTemplate(v1::SESSION_STATUS_RUNNING, "started"));
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    if (!claimed.ok()) return {};
    // The claim writes no event; a job persists it with its first write.
    ProgressUpdate first;
    first.session_id = claimed->session.session_id();
    first.attempt = claimed->attempt;
    first.events = {claimed->claim_event};
    first.progress_percentage = claimed->session.progress_percentage();
    first.stage = claimed->session.stage();
    first.last_sequence = claimed->claim_event.sequence();
    auto written = sessions_->RecordProgress(first);
    EXPECT_TRUE(written.ok()) << written.status();
    return *claimed;
  }

  v1::SessionEvent RunningEvent(const std::string& id, int64_t seq,
                                int percent) {
    v1::SessionEvent e = EventTemplate(v1::SESSION_STATUS_RUNNING, "work");
    e.set_session_id(id);
    e.set_sequence(seq);
    e.set_progress_percentage(percent);
    return e;
  }

  Completion MakeCompletion(const ClaimedSession& claimed, int64_t sequence,
                            v1::AnalysisResult result) {
    Completion c;
    c.session_id = claimed.session.session_id();
    c.attempt = claimed.attempt;
    c.result = std::move(result);
    c.processing_time_ms = 1234;
    c.final_event = EventTemplate(v1::SESSION_STATUS_COMPLETED, "completed");
    c.final_event.set_session_id(c.session_id);
    c.final_event.set_sequence(sequence);
    c.final_event.set_progress_percentage(100);
    *c.final_event.mutable_result() = c.result;
    c.streaming_data_json = "[{\"key\":\"pillar/growth\"}]";
    return c;
  }

  static ScratchDatabase* db_;
  std::unique_ptr<PgPool> pool_;
  std::unique_ptr<PgSessionStore> sessions_;
  std::unique_ptr<PgBusinessStore> businesses_;
};

ScratchDatabase* PgStoreTest::db_ = nullptr;

v1::AnalysisResult HealthResult() {
  v1::AnalysisResult r;
  auto* h = r.mutable_health();
  h->set_overall_score(81);
  h->set_growth_score(85);
  h->set_operational_score(78);
  h->set_financial_score(80);
  h->set_sale_readiness_score(76);
  h->set_confidence_level(88);
  h->set_trajectory(v1::TRAJECTORY_IMPROVING);
  h->set_band("strong");
  r.set_confidence_score(88);
  return r;
}

v1::AnalysisResult ForecastResult(int months) {
  v1::AnalysisResult r;
  auto* f = r.mutable_forecast();
  f->set_model_used("holt_winters_additive");
  f->set_horizon_months(months);
  for (int i = 0; i < months; ++i) {
    auto* p = f->add_points();
    p->set_month(analysis::FormatMonthIndex(2030 * 12 + i));
    p->set_value(50000 + 100 * i + 0.123);
    p->set_lower_95(45000 + 100 * i);
    p->set_upper_95(55000 + 100 * i);
  }
  r.set_confidence_score(64);
  return r;
}

TEST_F(PgStoreTest, CreateInsertsPendingRowAndFirstEvent) {
  auto created = sessions_->CreateSession(MakeNew("create-1"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_TRUE(created->inserted);
  const v1::Session& s = created->session;
  const std::string id = s.session_id();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(s.status(), v1::SESSION_STATUS_PENDING);
  EXPECT_EQ(s.business_id(), kCafe);
  EXPECT_EQ(s.user_id(), kCafeOwner);
  EXPECT_EQ(s.session_type(), v1::SESSION_TYPE_HEALTH_ANALYSIS);
  EXPECT_EQ(s.request_id(), "create-1");
  EXPECT_EQ(s.last_sequence(), 1);
  EXPECT_EQ(s.options().forecast_horizon_months(), 12);
  EXPECT_GT(s.create_time().seconds(), 0);

  EXPECT_EQ(Sql("SELECT status || '/' || session_type || '/' || "
                "history_source FROM ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "pending/health_analysis/stored");
  EXPECT_EQ(Sql("SELECT count(*) FROM session_events WHERE session_id = " +
                Quote(id)),
            "1");
  auto events = sessions_->ListEvents(id, 0);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].session_id(), id);
  EXPECT_EQ((*events)[0].sequence(), 1);
  EXPECT_EQ((*events)[0].status(), v1::SESSION_STATUS_PENDING);
}

TEST_F(PgStoreTest, CreateWithInlineHistoryStoresIt) {
  NewSession n = MakeNew("create-inline");
  v1::FinancialHistory history;
  for (int i = 0; i < 3; ++i) {
    auto* p = history.add_periods();
    p->set_month(analysis::FormatMonthIndex(2024 * 12 + i));
    p->set_revenue(1000 + i);
  }
  n.inline_history = history;
  auto created = sessions_->CreateSession(n);
  ASSERT_TRUE(created.ok()) << created.status();
  auto claimed = sessions_->ClaimSession(
      created->session.session_id(), "replica-a", absl::Seconds(60),
      EventTemplate(v1::SESSION_STATUS_RUNNING, "started"));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_TRUE(claimed->inline_history.has_value());
  ASSERT_EQ(claimed->inline_history->periods_size(), 3);
  EXPECT_EQ(claimed->inline_history->periods(2).revenue(), 1002);
  EXPECT_EQ(Sql("SELECT history_source FROM ai_analysis_sessions WHERE id = " +
                Quote(created->session.session_id())),
            "inline");
}

TEST_F(PgStoreTest, CreateIsIdempotentOnRequestId) {
  auto first = sessions_->CreateSession(MakeNew("idem-1"));
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = sessions_->CreateSession(MakeNew("idem-1"));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(first->inserted);
  EXPECT_FALSE(second->inserted);
  EXPECT_EQ(second->session.session_id(), first->session.session_id());
  EXPECT_EQ(Sql("SELECT count(*) FROM ai_analysis_sessions WHERE request_id "
                "= 'idem-1' AND user_id = 'usr_demo_owner1'"),
            "1");
  EXPECT_EQ(Sql("SELECT count(*) FROM session_events WHERE session_id = " +
                Quote(first->session.session_id())),
            "1");

  // The same key from the same user for something else: refused.
  auto other = sessions_->CreateSession(
      MakeNew("idem-1", v1::SESSION_TYPE_HEALTH_ANALYSIS, "biz_demo_retail"));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists)
      << other.status();
  // Keys are per user: another user's "idem-1" is a session of its own.
  auto other_user = sessions_->CreateSession(
      MakeNew("idem-1", v1::SESSION_TYPE_HEALTH_ANALYSIS, "biz_demo_retail",
              "usr_demo_owner2"));
  ASSERT_TRUE(other_user.ok()) << other_user.status();
  EXPECT_TRUE(other_user->inserted);
  EXPECT_NE(other_user->session.session_id(), first->session.session_id());
  auto other_type =
      sessions_->CreateSession(MakeNew("idem-1", v1::SESSION_TYPE_VALUATION));
  EXPECT_EQ(other_type.status().code(), absl::StatusCode::kAlreadyExists);

  // Without a request id every call inserts.
  auto a = sessions_->CreateSession(MakeNew(""));
  auto b = sessions_->CreateSession(MakeNew(""));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->inserted && b->inserted);
  EXPECT_NE(a->session.session_id(), b->session.session_id());
}

TEST_F(PgStoreTest, CreateSessionsGivesEachCreateItsOwnOutcome) {
  // Group commit is for scopes that see every row (a user's go one by one).
  ScopedTenant system(TenantScope::System());
  auto earlier = sessions_->CreateSession(
      MakeNew("batch-earlier", v1::SESSION_TYPE_HEALTH_ANALYSIS, kCafe,
              "usr_demo_broker"));
  ASSERT_TRUE(earlier.ok()) << earlier.status();

  std::vector<NewSession> batch;
  for (const NewSession& s : {
           // 0, 1: new, on the unlimited Enterprise plan (one statement)
           MakeNew("batch-a", v1::SESSION_TYPE_HEALTH_ANALYSIS, kCafe,
                   "usr_demo_broker"),
           MakeNew("", v1::SESSION_TYPE_FORECAST, "biz_demo_retail",
                   "usr_demo_broker"),
           // 2: the same request id as 0, for the same thing: 0's session
           MakeNew("batch-a", v1::SESSION_TYPE_HEALTH_ANALYSIS, kCafe,
                   "usr_demo_broker"),
           // 3: a request id used before: that session
           MakeNew("batch-earlier", v1::SESSION_TYPE_HEALTH_ANALYSIS, kCafe,
                   "usr_demo_broker"),
           // 4: a request id used before for something else
           MakeNew("batch-earlier", v1::SESSION_TYPE_VALUATION, kCafe,
                   "usr_demo_broker"),
           // 5: a counted (Free) plan: created on its own, still counted
           MakeNew("batch-free", v1::SESSION_TYPE_HEALTH_ANALYSIS,
                   "biz_demo_retail", "usr_demo_owner2"),
       }) {
    batch.push_back(s);
    batch.back().enforce_plan = true;
  }
  auto out = sessions_->CreateSessions(batch);
  ASSERT_EQ(out.size(), batch.size());
  for (int i : {0, 1, 2, 3, 5})
    ASSERT_TRUE(out[i].ok()) << i << out[i].status();
  EXPECT_TRUE(out[0]->inserted);
  EXPECT_TRUE(out[1]->inserted);
  EXPECT_FALSE(out[2]->inserted);
  EXPECT_EQ(out[2]->session.session_id(), out[0]->session.session_id());
  EXPECT_FALSE(out[3]->inserted);
  EXPECT_EQ(out[3]->session.session_id(), earlier->session.session_id());
  EXPECT_EQ(out[4].status().code(), absl::StatusCode::kAlreadyExists)
      << out[4].status();
  EXPECT_TRUE(out[5]->inserted);

  // Each inserted session is a pending row with its first event, as
  // CreateSession writes it.
  for (int i : {0, 1, 5}) {
    const v1::Session& s = out[i]->session;
    EXPECT_EQ(s.status(), v1::SESSION_STATUS_PENDING);
    EXPECT_EQ(s.last_sequence(), 1);
    EXPECT_EQ(s.business_id(), batch[i].business_id);
    EXPECT_EQ(s.session_type(), batch[i].session_type);
    EXPECT_EQ(s.options().forecast_horizon_months(), 12);
    auto events = sessions_->ListEvents(s.session_id(), 0);
    ASSERT_TRUE(events.ok()) << events.status();
    ASSERT_EQ(events->size(), 1u) << i;
    EXPECT_EQ((*events)[0].session_id(), s.session_id());
    EXPECT_EQ((*events)[0].status(), v1::SESSION_STATUS_PENDING);
  }
  EXPECT_EQ(out[1]->session.request_id(), "");
  EXPECT_EQ(Sql("SELECT count(*) FROM ai_analysis_sessions WHERE user_id = "
                "'usr_demo_broker' AND request_id = 'batch-a'"),
            "1");
  EXPECT_EQ(Sql("SELECT history_source FROM ai_analysis_sessions WHERE id = " +
                Quote(out[1]->session.session_id())),
            "stored");

  // Inline histories and stages travel through the lists intact.
  std::vector<NewSession> inline_batch = {
      MakeNew("", v1::SESSION_TYPE_HEALTH_ANALYSIS, kCafe, "usr_demo_broker"),
      MakeNew("", v1::SESSION_TYPE_HEALTH_ANALYSIS, kCafe, "usr_demo_broker")};
  inline_batch[0].inline_history.emplace();
  inline_batch[0].inline_history->add_periods()->set_month("2024-01");
  inline_batch[1].created_event.set_stage("");
  auto inlined = sessions_->CreateSessions(inline_batch);
  ASSERT_TRUE(inlined[0].ok() && inlined[1].ok());
  EXPECT_EQ(Sql("SELECT history_source || ' ' || (inline_history->'periods'->"
                "0->>'month') FROM ai_analysis_sessions WHERE id = " +
                Quote(inlined[0]->session.session_id())),
            "inline 2024-01");
  EXPECT_EQ(Sql("SELECT history_source || ' ' || (inline_history IS NULL) "
                "FROM ai_analysis_sessions WHERE id = " +
                Quote(inlined[1]->session.session_id())),
            "stored true");
  EXPECT_EQ(Sql("SELECT string_agg(coalesce(stage, 'null'), ',' ORDER BY "
                "stage) FROM session_events WHERE session_id IN (" +
                Quote(inlined[0]->session.session_id()) + ", " +
                Quote(inlined[1]->session.session_id()) + ")"),
            ",queued");
}

TEST_F(PgStoreTest, QueueStatsCountPendingSessionsAndTheOldestAge) {
  ScopedTenant system(TenantScope::System());
  auto before = sessions_->ReadQueueStats();
  ASSERT_TRUE(before.ok()) << before.status();
  auto created = sessions_->CreateSession(MakeNew("queue-stats-1"));
  ASSERT_TRUE(created.ok()) << created.status();
  // Backdated, so the oldest age is known to be at least an hour.
  Sql("UPDATE ai_analysis_sessions SET created_at = now() - interval '2 "
      "hours' WHERE id = " +
      Quote(created->session.session_id()));
  auto after = sessions_->ReadQueueStats();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->pending, before->pending + 1);
  EXPECT_GE(after->oldest_pending_age, absl::Hours(1));
  EXPECT_LT(after->oldest_pending_age, absl::Hours(24 * 365));

  // Claimed, it is no longer pending.
  auto claimed = sessions_->ClaimSession(
      created->session.session_id(), "replica-a", absl::Seconds(60),
      EventTemplate(v1::SESSION_STATUS_RUNNING, "started"));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  auto later = sessions_->ReadQueueStats();
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->pending, before->pending);
}

TEST_F(PgStoreTest, GetBusinessesReadsManyInOneCall) {
  auto found = businesses_->GetBusinesses(
      {kCafe, "biz_demo_retail", "biz_missing", kCafe});
  ASSERT_TRUE(found.ok()) << found.status();
  std::vector<std::string> ids;
  for (const auto& b : *found) ids.push_back(b.id + "/" + b.owner_id);
  std::sort(ids.begin(), ids.end());
  EXPECT_THAT(ids, ElementsAre("biz_demo_cafe/usr_demo_owner1",
                               "biz_demo_retail/usr_demo_owner2"));
}

TEST_F(PgStoreTest, ClaimMovesToRunningOnceWithALease) {
  auto created = sessions_->CreateSession(MakeNew("claim-1"));
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string id = created->session.session_id();
  auto claimed = sessions_->ClaimSession(
      id, "replica-a", absl::Seconds(60),
      EventTemplate(v1::SESSION_STATUS_RUNNING, "started"));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_EQ(claimed->attempt, 1);
  EXPECT_EQ(claimed->session.status(), v1::SESSION_STATUS_RUNNING);
  EXPECT_EQ(claimed->session.last_sequence(), 2);
  EXPECT_EQ(claimed->claim_event.sequence(), 2);
  EXPECT_EQ(claimed->claim_event.session_id(), id);
  EXPECT_FALSE(claimed->inline_history.has_value());
  EXPECT_EQ(Sql("SELECT status || '/' || attempt || '/' || lease_owner FROM "
                "ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "running/1/replica-a");
  EXPECT_EQ(Sql("SELECT lease_expires_at > now() + interval '30 seconds' FROM "
                "ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "t");
  // The claim writes no event: its job persists the RUNNING event with its
  // first write (one statement per claim, no transaction).
  auto events = sessions_->ListEvents(id, 0);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].sequence(), 1);

  auto again = sessions_->ClaimSession(
      id, "replica-b", absl::Seconds(60),
      EventTemplate(v1::SESSION_STATUS_RUNNING, "started"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Sql("SELECT lease_owner FROM ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "replica-a");
  auto unknown = sessions_->ClaimSession(
      "no-such-session", "replica-a", absl::Seconds(1),
      EventTemplate(v1::SESSION_STATUS_RUNNING, "started"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PgStoreTest, ProgressIsFencedByAttempt) {
  ClaimedSession claimed =
      CreateAndClaim("progress-1", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  const std::string id = claimed.session.session_id();
  ASSERT_FALSE(id.empty());

  ProgressUpdate stale;
  stale.session_id = id;
  stale.attempt = claimed.attempt + 1;
  stale.events = {RunningEvent(id, 3, 10)};
  stale.progress_percentage = 10;
  stale.stage = "work";
  stale.last_sequence = 3;
  EXPECT_EQ(sessions_->RecordProgress(stale).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(Sql("SELECT count(*) FROM session_events WHERE session_id = " +
                Quote(id)),
            "2");

  ProgressUpdate update = stale;
  update.attempt = claimed.attempt;
  update.events = {RunningEvent(id, 3, 10), RunningEvent(id, 4, 20)};
  update.progress_percentage = 20;
  update.last_sequence = 4;
  update.streaming_data_json = "[{\"key\":\"pillar/growth\"}]";
  ASSERT_TRUE(sessions_->RecordProgress(update).ok());
  EXPECT_EQ(Sql("SELECT progress_percentage || '/' || last_sequence || '/' || "
                "stage FROM ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "20/4/work");
  EXPECT_EQ(Sql("SELECT streaming_data::text FROM ai_analysis_sessions WHERE "
                "id = " +
                Quote(id)),
            "[{\"key\":\"pillar/growth\"}]");
  // Progress never goes backwards in the row.
  update.events = {RunningEvent(id, 5, 5)};
  update.progress_percentage = 5;
  update.last_sequence = 5;
  update.streaming_data_json.reset();
  ASSERT_TRUE(sessions_->RecordProgress(update).ok());
  EXPECT_EQ(Sql("SELECT progress_percentage || '/' || last_sequence FROM "
                "ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "20/5");
  EXPECT_EQ(Sql("SELECT streaming_data::text FROM ai_analysis_sessions WHERE "
                "id = " +
                Quote(id)),
            "[{\"key\":\"pillar/growth\"}]");
}

TEST_F(PgStoreTest, CompleteHealthWritesResultsAndWriteBackTogether) {
  ClaimedSession claimed =
      CreateAndClaim("complete-health", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  const std::string id = claimed.session.session_id();
  ASSERT_FALSE(id.empty());
  const std::string health_before =
      Sql("SELECT count(*) FROM health_metrics WHERE business_id = "
          "'biz_demo_cafe'");

  // A stale attempt is refused and writes nothing.
  Completion stale = MakeCompletion(claimed, 3, HealthResult());
  stale.attempt = claimed.attempt + 1;
  EXPECT_EQ(sessions_->CompleteSession(stale).code(),
            absl::StatusCode::kAborted);

  ASSERT_TRUE(
      sessions_->CompleteSession(MakeCompletion(claimed, 3, HealthResult()))
          .ok());
  auto session = sessions_->GetSession(id);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(session->progress_percentage(), 100);
  EXPECT_EQ(session->confidence_score(), 88);
  EXPECT_EQ(session->processing_time_ms(), 1234);
  EXPECT_EQ(session->last_sequence(), 3);
  EXPECT_GT(session->complete_time().seconds(), 0);
  ASSERT_TRUE(session->result().has_health());
  EXPECT_EQ(session->result().health().overall_score(), 81);
  EXPECT_EQ(session->result().health().trajectory(), v1::TRAJECTORY_IMPROVING);
  // results is canonical proto3 JSON.
  EXPECT_EQ(Sql("SELECT results->'health'->>'overallScore' FROM "
                "ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "81");
  EXPECT_EQ(Sql("SELECT lease_owner IS NULL AND completed_at IS NOT NULL FROM "
                "ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "t");

  EXPECT_EQ(std::stoi(Sql("SELECT count(*) FROM health_metrics WHERE "
                          "business_id = 'biz_demo_cafe'")),
            std::stoi(health_before) + 1);
  EXPECT_EQ(Sql("SELECT overall_score || '/' || trajectory FROM health_metrics "
                "WHERE data_sources->>'session_id' = " +
                Quote(id)),
            "81/IMPROVING");
  EXPECT_EQ(Sql("SELECT count(*) FROM usage_metrics WHERE metadata->>"
                "'session_id' = " +
                Quote(id)),
            "1");
  EXPECT_EQ(Sql("SELECT user_id || '/' || metric_type || '/' || "
                "(subscription_id IS NOT NULL) FROM usage_metrics WHERE "
                "metadata->>'session_id' = " +
                Quote(id)),
            std::string(kCafeOwner) + "/ai_analysis/true");

  auto events = sessions_->ListEvents(id, 0);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ(events->back().status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(events->back().result().health().overall_score(), 81);

  // Completing twice is refused.
  EXPECT_EQ(
      sessions_->CompleteSession(MakeCompletion(claimed, 4, HealthResult()))
          .code(),
      absl::StatusCode::kAborted);
}

TEST_F(PgStoreTest, CompleteForecastWritesForecastRows) {
  ClaimedSession claimed =
      CreateAndClaim("complete-forecast", v1::SESSION_TYPE_FORECAST);
  const std::string id = claimed.session.session_id();
  ASSERT_FALSE(id.empty());
  const std::string before =
      Sql("SELECT count(*) FROM forecast_results WHERE business_id = "
          "'biz_demo_cafe'");
  ASSERT_TRUE(
      sessions_->CompleteSession(MakeCompletion(claimed, 3, ForecastResult(6)))
          .ok());
  EXPECT_EQ(std::stoi(Sql("SELECT count(*) FROM forecast_results WHERE "
                          "business_id = 'biz_demo_cafe'")),
            std::stoi(before) + 6);
  EXPECT_EQ(Sql("SELECT string_agg(forecast_period::text, ',' ORDER BY "
                "forecast_period) FROM forecast_results WHERE business_id = "
                "'biz_demo_cafe' AND model_used = 'holt_winters_additive'"),
            "1,2,3,4,5,6");
  EXPECT_EQ(Sql("SELECT predicted_value::text FROM forecast_results WHERE "
                "model_used = 'holt_winters_additive' AND forecast_period = 1"),
            "50000.12");
  EXPECT_EQ(Sql("SELECT count(*) FROM usage_metrics WHERE metadata->>"
                "'session_id' = " +
                Quote(id)),
            "1");
  auto session = sessions_->GetSession(id);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->result().forecast().points_size(), 6);
  EXPECT_EQ(session->confidence_score(), 64);
}

TEST_F(PgStoreTest, FailedWriteBackRollsBackTheWholeCompletion) {
  ClaimedSession claimed =
      CreateAndClaim("complete-rollback", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  const std::string id = claimed.session.session_id();
  ASSERT_FALSE(id.empty());
  // Fault injection: the usage insert (the last write) fails for this session.
  Sql("CREATE FUNCTION fail_usage_for_test() RETURNS trigger LANGUAGE plpgsql "
      "AS $$ BEGIN IF NEW.metadata->>'session_id' = " +
      Quote(id) +
      " THEN RAISE EXCEPTION 'injected'; END IF; RETURN NEW; END $$");
  Sql("CREATE TRIGGER fail_usage_for_test BEFORE INSERT ON usage_metrics FOR "
      "EACH ROW EXECUTE FUNCTION fail_usage_for_test()");
  const absl::Status status =
      sessions_->CompleteSession(MakeCompletion(claimed, 3, HealthResult()));
  Sql("DROP TRIGGER fail_usage_for_test ON usage_metrics");
  Sql("DROP FUNCTION fail_usage_for_test()");

  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("INSERT")));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("injected")));
  EXPECT_EQ(Sql("SELECT status || '/' || last_sequence || '/' || (results IS "
                "NULL) FROM ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "running/2/true");
  EXPECT_EQ(Sql("SELECT count(*) FROM health_metrics WHERE "
                "data_sources->>'session_id' = " +
                Quote(id)),
            "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM session_events WHERE session_id = " +
                Quote(id)),
            "2");
  // The session can still be completed afterwards.
  EXPECT_TRUE(
      sessions_->CompleteSession(MakeCompletion(claimed, 3, HealthResult()))
          .ok());
}

TEST_F(PgStoreTest, ListEventsReturnsParsedEventsInOrder) {
  ClaimedSession claimed =
      CreateAndClaim("events-1", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  const std::string id = claimed.session.session_id();
  ASSERT_FALSE(id.empty());
  ProgressUpdate update;
  update.session_id = id;
  update.attempt = claimed.attempt;
  // Inserted out of order on purpose; the read orders by sequence.
  v1::SessionEvent partial = RunningEvent(id, 4, 40);
  partial.mutable_partial_result()->set_key("pillar/liquidity");
  update.events = {RunningEvent(id, 5, 50), partial, RunningEvent(id, 3, 30)};
  update.progress_percentage = 50;
  update.stage = "work";
  update.last_sequence = 5;
  ASSERT_TRUE(sessions_->RecordProgress(update).ok());
  EXPECT_EQ(Sql("SELECT string_agg(kind, ',' ORDER BY sequence) FROM "
                "session_events WHERE session_id = " +
                Quote(id)),
            "progress,progress,progress,partial,progress");

  auto all = sessions_->ListEvents(id, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<int64_t> sequences;
  for (const auto& e : *all) sequences.push_back(e.sequence());
  EXPECT_THAT(sequences, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_EQ((*all)[3].partial_result().key(), "pillar/liquidity");
  EXPECT_EQ((*all)[4].progress_percentage(), 50);

  auto tail = sessions_->ListEvents(id, 3);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].sequence(), 4);
  auto none = sessions_->ListEvents("no-such-session", 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(PgStoreTest, ListEventsAfterReadsManySessionsInOneStatement) {
  ClaimedSession a =
      CreateAndClaim("after-a", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  ClaimedSession b =
      CreateAndClaim("after-b", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  ASSERT_FALSE(a.session.session_id().empty());
  ASSERT_FALSE(b.session.session_id().empty());
  // a: everything after 0; b: after 1; an unknown id adds nothing.
  auto events = sessions_->ListEventsAfter({{a.session.session_id(), 0},
                                            {b.session.session_id(), 1},
                                            {"no-such-session", 0}});
  ASSERT_TRUE(events.ok()) << events.status();
  std::vector<std::string> got;
  for (const auto& e : *events) {
    got.push_back((e.session_id() == a.session.session_id() ? "a" : "b") +
                  std::to_string(e.sequence()));
  }
  const bool a_first = a.session.session_id() < b.session.session_id();
  EXPECT_THAT(got, a_first ? ElementsAre("a1", "a2", "b2")
                           : ElementsAre("b2", "a1", "a2"));
}

TEST_F(PgStoreTest, PruneEventsKeepsOnlyTheTerminalEventOfOldSessions) {
  ClaimedSession old_one =
      CreateAndClaim("prune-old", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  ClaimedSession recent =
      CreateAndClaim("prune-recent", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  ClaimedSession running =
      CreateAndClaim("prune-running", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  for (const ClaimedSession* c : {&old_one, &recent}) {
    ASSERT_TRUE(
        sessions_->CompleteSession(MakeCompletion(*c, 3, HealthResult())).ok());
  }
  const std::string old_id = old_one.session.session_id();
  Sql("UPDATE ai_analysis_sessions SET completed_at = now() - interval "
      "'40 days' WHERE id = " +
      Quote(old_id));
  const auto count = [&](const ClaimedSession& c) {
    return Sql("SELECT count(*) FROM session_events WHERE session_id = " +
               Quote(c.session.session_id()));
  };
  ASSERT_EQ(count(old_one), "3");

  // In batches: one row, then the rest.
  auto first = sessions_->PruneEvents(absl::Hours(24 * 30), 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 1);
  auto rest = sessions_->PruneEvents(absl::Hours(24 * 30), 1000);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(*rest, 1);

  auto left = sessions_->ListEvents(old_id, 0);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].sequence(), 3);
  EXPECT_EQ((*left)[0].status(), v1::SESSION_STATUS_COMPLETED);
  // Sessions that ended recently, and running ones, keep everything.
  EXPECT_EQ(count(recent), "3");
  EXPECT_EQ(count(running), "2");
}

TEST_F(PgStoreTest, ListSessionsPagesNewestFirstWithFilters) {
  const std::string biz = "biz_demo_agency";
  const std::string user = "usr_demo_owner4";
  std::vector<std::string> ids;  // oldest first
  const v1::SessionType types[] = {
      v1::SESSION_TYPE_HEALTH_ANALYSIS, v1::SESSION_TYPE_FORECAST,
      v1::SESSION_TYPE_VALUATION, v1::SESSION_TYPE_FORECAST,
      v1::SESSION_TYPE_HEALTH_ANALYSIS};
  for (int i = 0; i < 5; ++i) {
    auto created = sessions_->CreateSession(
        MakeNew(absl::StrCat("list-", i), types[i], biz, user));
    ASSERT_TRUE(created.ok()) << created.status();
    ids.push_back(created->session.session_id());
  }

  SessionFilter filter;
  filter.business_id = biz;
  std::vector<std::string> seen;
  std::optional<ListCursor> cursor;
  std::vector<size_t> page_sizes;
  for (int page = 0; page < 10; ++page) {
    auto result = sessions_->ListSessions(filter, 2, cursor);
    ASSERT_TRUE(result.ok()) << result.status();
    page_sizes.push_back(result->sessions.size());
    for (const auto& s : result->sessions) {
      EXPECT_EQ(s.business_id(), biz);
      seen.push_back(s.session_id());
    }
    if (!result->next.has_value()) break;
    cursor = result->next;
  }
  EXPECT_THAT(page_sizes, ElementsAre(2, 2, 1));
  EXPECT_THAT(seen, ElementsAre(ids[4], ids[3], ids[2], ids[1], ids[0]));

  SessionFilter forecasts = filter;
  forecasts.session_type = v1::SESSION_TYPE_FORECAST;
  auto only = sessions_->ListSessions(forecasts, 10, std::nullopt);
  ASSERT_TRUE(only.ok()) << only.status();
  EXPECT_FALSE(only->next.has_value());
  std::vector<std::string> forecast_ids;
  for (const auto& s : only->sessions) forecast_ids.push_back(s.session_id());
  EXPECT_THAT(forecast_ids, ElementsAre(ids[3], ids[1]));

  auto cancelled = sessions_->RequestCancel(
      ids[2], "test", EventTemplate(v1::SESSION_STATUS_CANCELLED, "cancelled"));
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  SessionFilter by_status = filter;
  by_status.status = v1::SESSION_STATUS_CANCELLED;
  by_status.user_id = user;
  auto c = sessions_->ListSessions(by_status, 10, std::nullopt);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->sessions.size(), 1u);
  EXPECT_EQ(c->sessions[0].session_id(), ids[2]);

  SessionFilter other_user = filter;
  other_user.user_id = kCafeOwner;
  auto none = sessions_->ListSessions(other_user, 10, std::nullopt);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->sessions.empty());
}

TEST_F(PgStoreTest, CancelPendingRunningAndFinished) {
  auto created = sessions_->CreateSession(MakeNew("cancel-pending"));
  ASSERT_TRUE(created.ok()) << created.status();
  const std::string id = created->session.session_id();
  v1::SessionEvent tmpl =
      EventTemplate(v1::SESSION_STATUS_CANCELLED, "cancelled");
  tmpl.mutable_error()->set_code(1);
  tmpl.mutable_error()->set_message("changed my mind");
  auto outcome = sessions_->RequestCancel(id, "changed my mind", tmpl);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->session.status(), v1::SESSION_STATUS_CANCELLED);
  EXPECT_EQ(outcome->session.error().message(), "changed my mind");
  ASSERT_TRUE(outcome->cancelled_event.has_value());
  EXPECT_EQ(outcome->cancelled_event->sequence(), 2);
  EXPECT_EQ(outcome->cancelled_event->session_id(), id);
  auto events = sessions_->ListEvents(id, 1);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].status(), v1::SESSION_STATUS_CANCELLED);
  EXPECT_EQ((*events)[0].error().message(), "changed my mind");
  EXPECT_EQ(Sql("SELECT completed_at IS NOT NULL FROM ai_analysis_sessions "
                "WHERE id = " +
                Quote(id)),
            "t");
  // A cancelled session can no longer be claimed or cancelled.
  EXPECT_EQ(sessions_
                ->ClaimSession(id, "replica-a", absl::Seconds(1),
                               EventTemplate(v1::SESSION_STATUS_RUNNING, "s"))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(sessions_->RequestCancel(id, "again", tmpl).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Running: only flagged; the job must stop itself.
  ClaimedSession running =
      CreateAndClaim("cancel-running", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  ASSERT_FALSE(running.session.session_id().empty());
  auto flagged =
      sessions_->RequestCancel(running.session.session_id(), "stop", tmpl);
  ASSERT_TRUE(flagged.ok()) << flagged.status();
  EXPECT_FALSE(flagged->cancelled_event.has_value());
  EXPECT_EQ(flagged->session.status(), v1::SESSION_STATUS_RUNNING);
  EXPECT_EQ(
      Sql("SELECT cancel_requested FROM ai_analysis_sessions WHERE id = " +
          Quote(running.session.session_id())),
      "t");
  // The running job learns of it at its next progress write.
  ProgressUpdate tick;
  tick.session_id = running.session.session_id();
  tick.attempt = running.attempt;
  tick.events = {RunningEvent(tick.session_id, 3, 10)};
  tick.progress_percentage = 10;
  tick.stage = "work";
  tick.last_sequence = 3;
  auto cancel_requested = sessions_->RecordProgress(tick);
  ASSERT_TRUE(cancel_requested.ok()) << cancel_requested.status();
  EXPECT_TRUE(*cancel_requested);

  // Completed: FAILED_PRECONDITION.
  ClaimedSession done =
      CreateAndClaim("cancel-completed", v1::SESSION_TYPE_HEALTH_ANALYSIS);
  ASSERT_TRUE(
      sessions_->CompleteSession(MakeCompletion(done, 3, HealthResult())).ok());
  EXPECT_EQ(sessions_->RequestCancel(done.session.session_id(), "late", tmpl)
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      sessions_->RequestCancel("no-such-session", "x", tmpl).status().code(),
      absl::StatusCode::kNotFound);
}

TEST_F(PgStoreTest, ReleaseAndFinishUnsuccessfully) {
  ClaimedSession claimed =
      CreateAndClaim("release-1", v1::SESSION_TYPE_VALUATION);
  const std::string id = claimed.session.session_id();
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(sessions_->ReleaseSession(id, claimed.attempt + 1).code(),
            absl::StatusCode::kAborted);
  ASSERT_TRUE(sessions_->ReleaseSession(id, claimed.attempt).ok());
  EXPECT_EQ(Sql("SELECT status || '/' || (lease_owner IS NULL) FROM "
                "ai_analysis_sessions WHERE id = " +
                Quote(id)),
            "pending/true");
  auto reclaimed = sessions_->ClaimSession(
      id, "replica-b", absl::Seconds(60),
      EventTemplate(v1::SESSION_STATUS_RUNNING, "started"));
  ASSERT_TRUE(reclaimed.ok()) << reclaimed.status();
  EXPECT_EQ(reclaimed->attempt, 2);
  // A later attempt skips the numbers the previous one may have streamed.
  EXPECT_EQ(reclaimed->claim_event.sequence(),
            3 + store::kMaxUnpersistedEvents);

  Failure failure;
  failure.session_id = id;
  failure.attempt = 1;  // the old owner: fenced off
  failure.error = absl::FailedPreconditionError("not enough data");
  failure.final_event = EventTemplate(v1::SESSION_STATUS_FAILED, "failed");
  failure.final_event.set_session_id(id);
  failure.final_event.set_sequence(4);
  EXPECT_EQ(sessions_->FinishUnsuccessfully(failure).code(),
            absl::StatusCode::kAborted);
  failure.attempt = 2;
  ASSERT_TRUE(sessions_->FinishUnsuccessfully(failure).ok());
  auto session = sessions_->GetSession(id);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->status(), v1::SESSION_STATUS_FAILED);
  EXPECT_EQ(session->error().code(),
            static_cast<int>(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(session->error().message(), "not enough data");
  EXPECT_EQ(session->last_sequence(), 4);
}

TEST_F(PgStoreTest, GetUnknownSessionIsNotFound) {
  auto s = sessions_->GetSession("00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(PgStoreTest, BusinessStoreReadsDemoBusiness) {
  auto info = businesses_->GetBusiness(kCafe);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->id, kCafe);
  EXPECT_EQ(info->owner_id, kCafeOwner);
  EXPECT_EQ(info->title, "Harbor Lane Cafe");
  EXPECT_GE(info->stored_months, 36);

  auto history = businesses_->LoadHistory(kCafe);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->periods_size(), info->stored_months);
  std::optional<int> previous;
  for (const auto& p : history->periods()) {
    auto month = analysis::ParseMonthIndex(p.month());
    ASSERT_TRUE(month.has_value()) << p.month();
    if (previous.has_value()) {
      EXPECT_EQ(*month, *previous + 1) << p.month();
    }
    previous = month;
    EXPECT_GT(p.revenue(), 0) << p.month();
  }

  EXPECT_EQ(businesses_->GetBusiness("biz_nope").status().code(),
            absl::StatusCode::kNotFound);
  auto empty = businesses_->LoadHistory("biz_nope");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->periods_size(), 0);
  EXPECT_EQ(businesses_->UserExists(kCafeOwner).value_or(false), true);
  EXPECT_EQ(businesses_->UserExists("usr_nope").value_or(true), false);
}

TEST_F(PgStoreTest, StoredHistoryReachesTheJobExactly) {
  // Values a decimal-to-binary round trip could get wrong, and a period
  // without its balance sheet.
  Sql("INSERT INTO businesses (id, title, owner_id) VALUES "
      "('biz_exact', 'Exact Values', 'usr_demo_broker')");
  Sql("INSERT INTO business_financial_periods (business_id, month, revenue, "
      "cost_of_goods_sold, operating_expenses, cash, total_debt, customers, "
      "current_assets, equity) VALUES "
      "('biz_exact', '2024-02-01', 1234567890123.45, 0.10, 33.33, -7.50, "
      "0.01, 12, 98765.43, -0.01), "
      "('biz_exact', '2024-01-01', 0.07, 0, 0, 0, 0, 0, NULL, NULL)");
  auto loaded = businesses_->LoadHistory("biz_exact");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->periods_size(), 2);
  EXPECT_EQ(loaded->periods(0).month(), "2024-01");
  EXPECT_EQ(loaded->periods(0).revenue(), 0.07);
  EXPECT_EQ(loaded->periods(0).current_assets(), 0);
  const auto& feb = loaded->periods(1);
  EXPECT_EQ(feb.revenue(), 1234567890123.45);
  EXPECT_EQ(feb.cost_of_goods_sold(), 0.10);
  EXPECT_EQ(feb.operating_expenses(), 33.33);
  EXPECT_EQ(feb.cash(), -7.50);
  EXPECT_EQ(feb.total_debt(), 0.01);
  EXPECT_EQ(feb.customers(), 12);
  EXPECT_EQ(feb.current_assets(), 98765.43);
  EXPECT_EQ(feb.equity(), -0.01);

  // The claim returns the same history, so the job reads nothing back.
  auto created = sessions_->CreateSession(
      MakeNew("exact-1", v1::SESSION_TYPE_HEALTH_ANALYSIS, "biz_exact",
              "usr_demo_broker"));
  ASSERT_TRUE(created.ok()) << created.status();
  auto claimed = sessions_->ClaimSession(
      created->session.session_id(), "replica-a", absl::Seconds(60),
      EventTemplate(v1::SESSION_STATUS_RUNNING, "started"));
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  ASSERT_TRUE(claimed->stored_history.has_value());
  EXPECT_EQ(claimed->stored_history->SerializeAsString(),
            loaded->SerializeAsString());

  // A business without periods: an empty history, still not read back.
  Sql("INSERT INTO businesses (id, title, owner_id) VALUES "
      "('biz_blank', 'No Periods', 'usr_demo_broker')");
  auto blank = sessions_->CreateSession(
      MakeNew("exact-2", v1::SESSION_TYPE_HEALTH_ANALYSIS, "biz_blank",
              "usr_demo_broker"));
  ASSERT_TRUE(blank.ok()) << blank.status();
  auto blank_claim = sessions_->ClaimSession(
      blank->session.session_id(), "replica-a", absl::Seconds(60),
      EventTemplate(v1::SESSION_STATUS_RUNNING, "started"));
  ASSERT_TRUE(blank_claim.ok()) << blank_claim.status();
  ASSERT_TRUE(blank_claim->stored_history.has_value());
  EXPECT_EQ(blank_claim->stored_history->periods_size(), 0);
}

TEST(PgUnavailableTest, DroppedDatabaseIsUnavailableWithoutSql) {
  ScratchDatabase db;
  db.MigrateAndLoadDemo();
  ASSERT_FALSE(::testing::Test::HasFatalFailure());
  PgPoolOptions options;
  options.url = db.url();
  options.size = 1;
  PgPool pool(options);
  PgSessionStore sessions(&pool);
  PgBusinessStore businesses(&pool);
  // Prove the pooled connection works, so the failure below is the drop.
  ASSERT_TRUE(businesses.GetBusiness(kCafe).ok());
  db.Drop();

  const auto check = [](const absl::Status& status) {
    EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    const std::string message(status.message());
    for (const char* sql : {"SELECT", "INSERT", "FROM", "WHERE",
                            "ai_analysis_sessions", "businesses", "$1"}) {
      EXPECT_THAT(message, Not(HasSubstr(sql))) << message;
    }
  };
  // The pooled connection was terminated by the drop...
  check(businesses.GetBusiness(kCafe).status());
  // ...and a new one cannot be opened.
  check(sessions.GetSession("x").status());
  check(sessions.CreateSession(MakeNew("after-drop")).status());
  check(pool.CheckConnection());
}

}  // namespace
}  // namespace goodbuy::store::pg
