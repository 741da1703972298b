// SessionService against gMock stores: what it writes, what it refuses to
// write, and that a created session runs to a COMPLETED event on a watcher.
#include "server/core/session_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "server/analysis/ttm.h"
#include "server/common/errors.h"
#include "server/core/page_token.h"
#include "tests/unit/core_test_util.h"

namespace goodbuy::core {
namespace {

using core_testing::Promise;
using core_testing::RecordingSink;
using ::testing::_;
using ::testing::AnyNumber;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Invoke;
using ::testing::Return;
using ::testing::StrictMock;

// The service's own rules for users are covered by the e2e security tests;
// these tests act as an operator, who sees every tenant.
const Caller kOperator{CallerRole::kAdmin, "test-operator", "jwt"};

class MockSessionStore : public store::SessionStore {
 public:
  MOCK_METHOD(absl::StatusOr<store::CreatedSession>, CreateSession,
              (const store::NewSession&), (override));
  MOCK_METHOD(absl::StatusOr<v1::Session>, GetSession, (const std::string&),
              (override));
  MOCK_METHOD(absl::StatusOr<store::PlanUsage>, GetPlanUsage,
              (const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<store::SessionPage>, ListSessions,
              (const store::SessionFilter&, int,
               const std::optional<store::ListCursor>&),
              (override));
  MOCK_METHOD(absl::StatusOr<store::ClaimedSession>, ClaimSession,
              (const std::string&, const std::string&, absl::Duration,
               const v1::SessionEvent&),
              (override));
  MOCK_METHOD(absl::StatusOr<std::vector<store::ClaimedSession>>, ClaimPending,
              (const std::string&, int, int, absl::Duration,
               const v1::SessionEvent&),
              (override));
  MOCK_METHOD(absl::StatusOr<std::vector<std::string>>, Heartbeat,
              ((const std::string&),
               (const std::vector<std::pair<std::string, int>>&),
               absl::Duration),
              (override));
  MOCK_METHOD(absl::StatusOr<std::vector<v1::SessionEvent>>, ReapExpired,
              (const store::SessionStore::ReapPolicy&), (override));
  MOCK_METHOD(absl::StatusOr<store::CancelOutcome>, RequestCancel,
              (const std::string&, const std::string&, const v1::SessionEvent&),
              (override));
  MOCK_METHOD(absl::Status, ReleaseSession,
              (const std::string&, int, absl::Duration), (override));
  MOCK_METHOD(absl::StatusOr<bool>, RecordProgress,
              (const store::ProgressUpdate&), (override));
  MOCK_METHOD(absl::Status, CompleteSession, (const store::Completion&),
              (override));
  MOCK_METHOD(absl::Status, FinishUnsuccessfully, (const store::Failure&),
              (override));
  MOCK_METHOD(absl::StatusOr<std::vector<v1::SessionEvent>>, ListEvents,
              (const std::string&, int64_t), (override));
  MOCK_METHOD(absl::StatusOr<int64_t>, PruneEvents, (absl::Duration, int),
              (override));
  MOCK_METHOD(absl::StatusOr<store::QueueStats>, ReadQueueStats, (),
              (override));
  MOCK_METHOD(absl::StatusOr<std::vector<v1::SessionEvent>>, ListEventsAfter,
              ((const std::vector<std::pair<std::string, int64_t>>&)),
              (override));
};

class MockBusinessStore : public store::BusinessStore {
 public:
  MOCK_METHOD(absl::StatusOr<store::BusinessInfo>, GetBusiness,
              (const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<analysis::v1::FinancialHistory>, LoadHistory,
              (const std::string&), (override));
  MOCK_METHOD(absl::StatusOr<bool>, UserExists, (const std::string&),
              (override));
};

constexpr char kBusiness[] = "biz_demo_cafe";
constexpr char kOwner[] = "usr_demo_owner1";
constexpr char kSession[] = "11111111-2222-3333-4444-555555555555";
const absl::Duration kWait = absl::Seconds(20);

store::BusinessInfo Business(int months) {
  return store::BusinessInfo{kBusiness, kOwner, "Harbor Lane Cafe", months};
}

analysis::v1::FinancialHistory History(int months) {
  analysis::v1::FinancialHistory h;
  for (int i = 0; i < months; ++i) {
    auto* p = h.add_periods();
    p->set_month(analysis::FormatMonthIndex(2021 * 12 + i));
    p->set_revenue(40000 + 500 * i + (i % 12 == 6 ? 8000 : 0));
    p->set_cost_of_goods_sold(14000 + 150 * i);
    p->set_operating_expenses(12000);
    p->set_owner_compensation(5000);
    p->set_interest_expense(300);
    p->set_debt_principal_paid(1000);
    p->set_cash(30000 + 400 * i);
    p->set_total_debt(60000 - 1000 * i);
    p->set_customers(1200 + 10 * i);
    p->set_new_customers(60);
    p->set_churned_customers(40);
  }
  return h;
}

v1::CreateSessionRequest HealthRequest() {
  v1::CreateSessionRequest r;
  r.set_request_id("req-1");
  r.set_business_id(kBusiness);
  r.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  return r;
}

v1::Session PendingRow() {
  v1::Session s;
  s.set_session_id(kSession);
  s.set_user_id(kOwner);
  s.set_business_id(kBusiness);
  s.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  s.set_status(v1::SESSION_STATUS_PENDING);
  s.set_stage("queued");
  s.set_last_sequence(1);
  return s;
}

// What a successful claim returns: the row running at `attempt`, and the
// caller's claim event as sequence 2.
auto ClaimAsAttempt(int attempt) {
  return [attempt](const std::string&, int, int, absl::Duration,
                   const v1::SessionEvent& event) {
    store::ClaimedSession claimed;
    claimed.session = PendingRow();
    claimed.session.set_status(v1::SESSION_STATUS_RUNNING);
    claimed.session.set_stage("started");
    claimed.session.set_last_sequence(2);
    claimed.attempt = attempt;
    claimed.claim_event = event;
    claimed.claim_event.set_session_id(claimed.session.session_id());
    claimed.claim_event.set_sequence(2);
    return std::vector<store::ClaimedSession>{claimed};
  };
}

class SessionServiceTest : public ::testing::Test {
 protected:
  SessionServiceTest() : db_pool_("db-test", 2, 64) {}
  ~SessionServiceTest() override {
    // Tasks on the DB pool call into the service: drain them first.
    db_pool_.Shutdown();
    service_.reset();
  }

  SessionService& service() {
    if (!service_) {
      ServiceOptions options;
      options.replica_id = "test-replica";
      options.job_threads = 2;
      service_ = std::make_unique<SessionService>(options, &sessions_,
                                                  &businesses_, &db_pool_);
    }
    return *service_;
  }

  absl::StatusOr<v1::Session> CreateAndWait(
      const v1::CreateSessionRequest& request) {
    Promise<absl::StatusOr<v1::Session>> result;
    service().Create(kOperator, request, [&](absl::StatusOr<v1::Session> s) {
      result.Set(std::move(s));
    });
    auto value = result.Wait(kWait);
    if (!value.has_value()) return absl::DeadlineExceededError("no callback");
    return *value;
  }

  // The table as a claim leaves it: the created and the claim events. A
  // watcher that arrives before the claim reads it (and polls) until the
  // channel opens; ListEvents honours its cursor like the real store.
  void ExpectClaimedTable() {
    v1::Session running_row = PendingRow();
    running_row.set_status(v1::SESSION_STATUS_RUNNING);
    running_row.set_last_sequence(2);
    EXPECT_CALL(sessions_, GetSession(kSession))
        .Times(AnyNumber())
        .WillRepeatedly(Return(running_row));
    EXPECT_CALL(sessions_, ListEvents(kSession, _))
        .Times(AnyNumber())
        .WillRepeatedly(Invoke([](const std::string&, int64_t after) {
          std::vector<v1::SessionEvent> table;
          for (auto [seq, status] :
               {std::pair{1, v1::SESSION_STATUS_PENDING},
                std::pair{2, v1::SESSION_STATUS_RUNNING}}) {
            if (seq <= after) continue;
            v1::SessionEvent e;
            e.set_session_id(kSession);
            e.set_sequence(seq);
            e.set_status(status);
            table.push_back(e);
          }
          return table;
        }));
    // The follower reads the table for channels no local job feeds yet.
    EXPECT_CALL(sessions_, ListEventsAfter(_))
        .Times(AnyNumber())
        .WillRepeatedly(Return(std::vector<v1::SessionEvent>{}));
  }

  StrictMock<MockSessionStore> sessions_;
  StrictMock<MockBusinessStore> businesses_;
  ThreadPool db_pool_;
  std::unique_ptr<SessionService> service_;
};

std::vector<std::string> Fields(const absl::Status& status) {
  google::rpc::BadRequest bad_request;
  std::vector<std::string> fields;
  if (!GetBadRequest(status, &bad_request)) return fields;
  for (const auto& v : bad_request.field_violations()) {
    fields.push_back(v.field());
  }
  return fields;
}

TEST_F(SessionServiceTest, InvalidRequestTouchesNoStore) {
  v1::CreateSessionRequest request = HealthRequest();
  request.set_session_type(v1::SESSION_TYPE_UNSPECIFIED);
  auto result = CreateAndWait(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(result.status()), ::testing::ElementsAre("session_type"));
  // StrictMock: any store call would have failed the test.
}

TEST_F(SessionServiceTest, UnknownBusinessIsNotFoundAndNothingIsWritten) {
  EXPECT_CALL(businesses_, GetBusiness(kBusiness))
      .WillOnce(Return(absl::NotFoundError("no such business")));
  EXPECT_CALL(sessions_, CreateSession(_)).Times(0);
  auto result = CreateAndWait(HealthRequest());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Fields(result.status()), ::testing::ElementsAre("business_id"));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(kBusiness));
}

TEST_F(SessionServiceTest, UnknownUserIsNotFound) {
  v1::CreateSessionRequest request = HealthRequest();
  request.set_user_id("usr_nobody");
  EXPECT_CALL(businesses_, GetBusiness(kBusiness))
      .WillOnce(Return(Business(48)));
  EXPECT_CALL(businesses_, UserExists("usr_nobody")).WillOnce(Return(false));
  auto result = CreateAndWait(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Fields(result.status()), ::testing::ElementsAre("user_id"));
}

TEST_F(SessionServiceTest, TooLittleStoredHistoryIsFailedPrecondition) {
  v1::CreateSessionRequest request = HealthRequest();
  request.set_session_type(v1::SESSION_TYPE_FORECAST);
  EXPECT_CALL(businesses_, GetBusiness(kBusiness))
      .WillOnce(Return(Business(5)));  // forecast needs 6
  EXPECT_CALL(sessions_, CreateSession(_)).Times(0);
  auto result = CreateAndWait(request);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("5 months"));
}

TEST_F(SessionServiceTest, DatabaseUnavailablePassesThrough) {
  EXPECT_CALL(businesses_, GetBusiness(kBusiness))
      .WillOnce(Return(absl::UnavailableError("read business: down")));
  auto result = CreateAndWait(HealthRequest());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(SessionServiceTest, FullDbPoolAnswersUnavailable) {
  ThreadPool full("full", 1, 0);  // rejects every Post
  SessionService service(ServiceOptions{}, &sessions_, &businesses_, &full);
  Promise<absl::StatusOr<v1::Session>> result;
  service.Create(
      kOperator, HealthRequest(),
      [&](absl::StatusOr<v1::Session> s) { result.Set(std::move(s)); });
  auto value = result.Wait(kWait);
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(SessionServiceTest, IdempotentReplayDoesNotStartASecondJob) {
  EXPECT_CALL(businesses_, GetBusiness(kBusiness))
      .WillOnce(Return(Business(48)));
  store::CreatedSession existing{PendingRow(), /*inserted=*/false};
  EXPECT_CALL(sessions_, CreateSession(_)).WillOnce(Return(existing));
  EXPECT_CALL(sessions_, ClaimPending(_, _, _, _, _)).Times(0);
  auto result = CreateAndWait(HealthRequest());
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->session_id(), kSession);
  db_pool_.Shutdown();  // the claim would have happened on the pool
  EXPECT_EQ(service().broker().ChannelCount(), 0u);
}

TEST_F(SessionServiceTest, ValidCreateRunsToCompletedEventOnAWatcher) {
  EXPECT_CALL(businesses_, GetBusiness(kBusiness))
      .WillOnce(Return(Business(24)));
  store::NewSession written;
  EXPECT_CALL(sessions_, CreateSession(_))
      .WillOnce(Invoke([&](const store::NewSession& s) {
        written = s;
        return store::CreatedSession{PendingRow(), true};
      }));
  EXPECT_CALL(sessions_, ClaimPending("test-replica", _, _, _, _))
      .WillOnce(Invoke(ClaimAsAttempt(1)))
      // A finished job looks for the next pending session at once.
      .WillRepeatedly(Return(std::vector<store::ClaimedSession>{}));
  ExpectClaimedTable();
  EXPECT_CALL(businesses_, LoadHistory(kBusiness))
      .WillOnce(Return(History(24)));
  std::vector<store::ProgressUpdate> progress;
  std::mutex progress_mu;
  EXPECT_CALL(sessions_, RecordProgress(_))
      .Times(AnyNumber())
      .WillRepeatedly(Invoke([&](const store::ProgressUpdate& u) {
        std::lock_guard<std::mutex> lock(progress_mu);
        progress.push_back(u);
        return false;
      }));
  store::Completion completion;
  EXPECT_CALL(sessions_, CompleteSession(_))
      .WillOnce(Invoke([&](const store::Completion& c) {
        completion = c;
        return absl::OkStatus();
      }));

  auto sink = std::make_shared<RecordingSink>();
  Promise<absl::StatusOr<v1::Session>> created;
  service().Create(kOperator, HealthRequest(),
                   [&](absl::StatusOr<v1::Session> s) {
                     // Watch from the callback: the job has not been claimed
                     // yet.
                     if (s.ok()) {
                       v1::WatchSessionRequest watch;
                       watch.set_session_id(s->session_id());
                       service().Watch(kOperator, watch, sink);
                     }
                     created.Set(std::move(s));
                   });
  auto session = created.Wait(kWait);
  ASSERT_TRUE(session.has_value());
  ASSERT_TRUE(session->ok()) << session->status();
  ASSERT_TRUE(sink->WaitForEnd(kWait));

  // What was written.
  EXPECT_EQ(written.user_id, kOwner);  // defaulted to the owner
  EXPECT_EQ(written.business_id, kBusiness);
  EXPECT_EQ(written.request_id, "req-1");
  EXPECT_EQ(written.session_type, v1::SESSION_TYPE_HEALTH_ANALYSIS);
  EXPECT_FALSE(written.inline_history.has_value());
  EXPECT_EQ(written.created_event.sequence(), 1);
  EXPECT_EQ(written.created_event.status(), v1::SESSION_STATUS_PENDING);

  // What the watcher saw: 1, 2, ... strictly ascending, ending COMPLETED.
  EXPECT_TRUE(sink->errors().empty());
  const auto events = sink->events();
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].sequence(), 1);
  EXPECT_EQ(events[0].status(), v1::SESSION_STATUS_PENDING);
  EXPECT_EQ(events[1].sequence(), 2);
  EXPECT_EQ(events[1].status(), v1::SESSION_STATUS_RUNNING);
  int partials = 0;
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].sequence(), events[i - 1].sequence() + 1);
    EXPECT_GE(events[i].progress_percentage(),
              events[i - 1].progress_percentage());
    EXPECT_EQ(events[i].session_id(), kSession);
    if (events[i].has_partial_result()) ++partials;
  }
  EXPECT_GT(partials, 0);
  const v1::SessionEvent& last = events.back();
  EXPECT_EQ(last.status(), v1::SESSION_STATUS_COMPLETED);
  EXPECT_EQ(last.progress_percentage(), 100);
  ASSERT_TRUE(last.has_result());
  EXPECT_TRUE(last.result().has_health());

  // The completion carried the same result, sequence and attempt.
  EXPECT_EQ(completion.session_id, kSession);
  EXPECT_EQ(completion.attempt, 1);
  EXPECT_EQ(completion.final_event.sequence(), last.sequence());
  EXPECT_TRUE(completion.result.has_health());
  EXPECT_EQ(completion.result.health().overall_score(),
            last.result().health().overall_score());
  EXPECT_NE(completion.streaming_data_json, "[]");
  // Every watched event from the claim's on is persisted exactly once by
  // the job: in a progress batch or (a fast job: all of them) in the
  // completion's statement; the terminal event only as the final event.
  std::lock_guard<std::mutex> lock(progress_mu);
  std::vector<int64_t> persisted;
  for (const auto& u : progress) {
    EXPECT_EQ(u.attempt, 1);
    for (const auto& e : u.events) persisted.push_back(e.sequence());
  }
  for (const auto& e : completion.events) persisted.push_back(e.sequence());
  std::vector<int64_t> watched;
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    watched.push_back(events[i].sequence());
  }
  EXPECT_EQ(persisted, watched);
}

TEST_F(SessionServiceTest, JobThatCannotLoadHistoryFailsWithAnErrorEvent) {
  EXPECT_CALL(businesses_, GetBusiness(kBusiness))
      .WillOnce(Return(Business(24)));
  EXPECT_CALL(sessions_, CreateSession(_))
      .WillOnce(Return(store::CreatedSession{PendingRow(), true}));
  EXPECT_CALL(sessions_, ClaimPending(_, _, _, _, _))
      .WillOnce(Invoke(ClaimAsAttempt(3)))
      // A finished job looks for the next pending session at once.
      .WillRepeatedly(Return(std::vector<store::ClaimedSession>{}));
  ExpectClaimedTable();
  EXPECT_CALL(businesses_, LoadHistory(kBusiness))
      .WillOnce(Return(absl::NotFoundError("business vanished")));
  EXPECT_CALL(sessions_, RecordProgress(_))
      .Times(AnyNumber())
      .WillRepeatedly(Return(false));
  store::Failure failure;
  EXPECT_CALL(sessions_, FinishUnsuccessfully(_))
      .WillOnce(Invoke([&](const store::Failure& f) {
        failure = f;
        return absl::OkStatus();
      }));
  EXPECT_CALL(sessions_, CompleteSession(_)).Times(0);

  auto sink = std::make_shared<RecordingSink>();
  Promise<bool> created;
  service().Create(kOperator, HealthRequest(),
                   [&](absl::StatusOr<v1::Session> s) {
                     v1::WatchSessionRequest watch;
                     watch.set_session_id(kSession);
                     service().Watch(kOperator, watch, sink);
                     created.Set(s.ok());
                   });
  ASSERT_EQ(created.Wait(kWait), std::optional<bool>(true));
  ASSERT_TRUE(sink->WaitForEnd(kWait));
  const v1::SessionEvent last = sink->events().back();
  EXPECT_EQ(last.status(), v1::SESSION_STATUS_FAILED);
  EXPECT_EQ(last.error().code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(failure.status, v1::SESSION_STATUS_FAILED);
  EXPECT_EQ(failure.attempt, 3);
  EXPECT_EQ(failure.final_event.sequence(), last.sequence());
}

TEST_F(SessionServiceTest, CancelOfPendingSessionPublishesTheTerminalEvent) {
  service().broker().Open(kSession, {core_testing::Progress(kSession, 1, 0)});
  auto sink = std::make_shared<RecordingSink>();
  ASSERT_TRUE(service().broker().Subscribe(kSession, 0, sink));
  EXPECT_CALL(sessions_, RequestCancel(kSession, "no longer needed", _))
      .WillOnce(Invoke([](const std::string& id, const std::string&,
                          const v1::SessionEvent& event) {
        store::CancelOutcome outcome;
        outcome.session = PendingRow();
        outcome.session.set_status(v1::SESSION_STATUS_CANCELLED);
        v1::SessionEvent e = event;
        e.set_session_id(id);
        e.set_sequence(2);
        outcome.cancelled_event = e;
        return outcome;
      }));
  v1::CancelSessionRequest request;
  request.set_session_id(kSession);
  request.set_reason("no longer needed");
  Promise<absl::StatusOr<v1::Session>> result;
  service().Cancel(kOperator, request, [&](absl::StatusOr<v1::Session> s) {
    result.Set(std::move(s));
  });
  auto value = result.Wait(kWait);
  ASSERT_TRUE(value.has_value());
  ASSERT_TRUE(value->ok()) << value->status();
  EXPECT_EQ((*value)->status(), v1::SESSION_STATUS_CANCELLED);
  ASSERT_TRUE(sink->WaitForEnd(kWait));
  const auto events = sink->events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].status(), v1::SESSION_STATUS_CANCELLED);
  EXPECT_EQ(events[1].error().code(),
            static_cast<int>(absl::StatusCode::kCancelled));
  EXPECT_EQ(events[1].error().message(), "no longer needed");
}

TEST_F(SessionServiceTest, WatchOfUnknownSessionReportsNotFound) {
  EXPECT_CALL(sessions_, GetSession("nope"))
      .WillOnce(Return(absl::NotFoundError("session 'nope' does not exist")));
  auto sink = std::make_shared<RecordingSink>();
  v1::WatchSessionRequest watch;
  watch.set_session_id("nope");
  service().Watch(kOperator, watch, sink);
  ASSERT_TRUE(sink->WaitForEnd(kWait));
  ASSERT_EQ(sink->errors().size(), 1u);
  EXPECT_EQ(sink->errors()[0].code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(sink->events().empty());
}

TEST_F(SessionServiceTest, WatchBeyondTheLastEventIsOutOfRange) {
  // Only a finished session's last_sequence is final: a running one's
  // trails the live stream, so there the watcher waits instead.
  v1::Session row = PendingRow();
  row.set_status(v1::SESSION_STATUS_COMPLETED);
  row.set_last_sequence(4);
  EXPECT_CALL(sessions_, GetSession(kSession)).WillOnce(Return(row));
  EXPECT_CALL(sessions_, ListEvents(kSession, 0))
      .WillOnce(Return(std::vector<v1::SessionEvent>{
          core_testing::Progress(kSession, 1, 0),
          core_testing::Terminal(kSession, 4, v1::SESSION_STATUS_COMPLETED)}));
  auto sink = std::make_shared<RecordingSink>();
  v1::WatchSessionRequest watch;
  watch.set_session_id(kSession);
  watch.set_after_sequence(9);
  service().Watch(kOperator, watch, sink);
  ASSERT_TRUE(sink->WaitForEnd(kWait));
  ASSERT_EQ(sink->errors().size(), 1u);
  EXPECT_EQ(sink->errors()[0].code(), absl::StatusCode::kOutOfRange);
}

TEST_F(SessionServiceTest, WatchOfFinishedSessionBackFillsFromTheStore) {
  v1::Session row = PendingRow();
  row.set_status(v1::SESSION_STATUS_COMPLETED);
  row.set_last_sequence(3);
  EXPECT_CALL(sessions_, GetSession(kSession)).WillOnce(Return(row));
  EXPECT_CALL(sessions_, ListEvents(kSession, 0))
      .WillOnce(Return(std::vector<v1::SessionEvent>{
          core_testing::Progress(kSession, 1, 0),
          core_testing::Progress(kSession, 2, 50),
          core_testing::Terminal(kSession, 3, v1::SESSION_STATUS_COMPLETED)}));
  auto sink = std::make_shared<RecordingSink>();
  v1::WatchSessionRequest watch;
  watch.set_session_id(kSession);
  watch.set_after_sequence(1);
  service().Watch(kOperator, watch, sink);
  ASSERT_TRUE(sink->WaitForEnd(kWait));
  EXPECT_THAT(sink->sequences(), ::testing::ElementsAre(2, 3));
  EXPECT_TRUE(sink->errors().empty());
}

TEST_F(SessionServiceTest, ListRejectsAForeignPageTokenWithoutQuerying) {
  store::SessionFilter other;
  other.business_id = "biz_other";
  v1::ListSessionsRequest request;
  request.set_business_id(kBusiness);
  request.set_page_token(EncodePageToken(
      store::ListCursor{absl::FromUnixSeconds(1700000000), kSession}, other));
  Promise<absl::StatusOr<v1::ListSessionsResponse>> result;
  service().List(kOperator, request,
                 [&](absl::StatusOr<v1::ListSessionsResponse> r) {
                   result.Set(std::move(r));
                 });
  auto value = result.Wait(kWait);
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(value->status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(value->status()), ::testing::ElementsAre("page_token"));
}

TEST_F(SessionServiceTest, ListPassesFilterAndIssuesAUsableNextToken) {
  const store::ListCursor next{absl::FromUnixMicros(1700000000000001), "s-9"};
  EXPECT_CALL(
      sessions_,
      ListSessions(
          ::testing::AllOf(Field(&store::SessionFilter::business_id, kBusiness),
                           Field(&store::SessionFilter::status,
                                 v1::SESSION_STATUS_COMPLETED)),
          2, ::testing::Eq(std::nullopt)))
      .WillOnce(Invoke([&](const store::SessionFilter&, int,
                           const std::optional<store::ListCursor>&) {
        store::SessionPage page;
        page.sessions.push_back(PendingRow());
        page.sessions.push_back(PendingRow());
        page.next = next;
        return page;
      }));
  v1::ListSessionsRequest request;
  request.set_business_id(kBusiness);
  request.set_status(v1::SESSION_STATUS_COMPLETED);
  request.set_page_size(2);
  Promise<absl::StatusOr<v1::ListSessionsResponse>> result;
  service().List(kOperator, request,
                 [&](absl::StatusOr<v1::ListSessionsResponse> r) {
                   result.Set(std::move(r));
                 });
  auto value = result.Wait(kWait);
  ASSERT_TRUE(value.has_value());
  ASSERT_TRUE(value->ok()) << value->status();
  EXPECT_EQ((*value)->sessions_size(), 2);
  store::SessionFilter filter;
  filter.business_id = kBusiness;
  filter.status = v1::SESSION_STATUS_COMPLETED;
  auto cursor = DecodePageToken((*value)->next_page_token(), filter);
  ASSERT_TRUE(cursor.ok()) << cursor.status();
  ASSERT_TRUE(cursor->has_value());
  EXPECT_EQ((*cursor)->session_id, "s-9");
  EXPECT_EQ((*cursor)->create_time, next.create_time);
}

}  // namespace
}  // namespace goodbuy::core
