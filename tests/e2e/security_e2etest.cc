// Identity and tenant isolation through a real server process and real
// clients: every AnalysisService call needs a verified caller; a user
// reaches only their own businesses and sessions (another tenant's answer
// NOT_FOUND, byte for byte like a missing one); plans gate session types and
// cap analyses per period exactly, even with two replicas racing; callers
// are rate limited; and no error message carries SQL, a token or another
// tenant's ids.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/analysis_client.h"
#include "client/status_convert.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "server/auth/token_signer.h"
#include "tests/e2e/watch_all.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;

using ::goodbuy::e2e::WatchAll;
using ::testing::HasSubstr;
using ::testing::Not;

// biz_demo_cafe is owner 1's, biz_demo_retail owner 2's (sql/demo).
constexpr char kOwner1[] = "usr_demo_owner1";
constexpr char kOwner2[] = "usr_demo_owner2";

v1::CreateSessionRequest Health(const std::string& business) {
  v1::CreateSessionRequest request;
  request.set_business_id(business);
  request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  return request;
}

client::AnalysisClientOptions NoRetry(const std::string& token) {
  client::AnalysisClientOptions options = testing::ClientOptions(token);
  options.retry.max_attempts = 1;
  options.reconnect_timeout = absl::Seconds(2);
  return options;
}

// The status's message and every detail's text, for "never leaks" checks.
std::string Everything(const absl::Status& status) {
  std::string all(status.message());
  status.ForEachPayload([&all](absl::string_view url, const absl::Cord& p) {
    absl::StrAppend(&all, " ", url, " ", std::string(p));
  });
  return all;
}

void ExpectNoLeak(const absl::Status& status, const std::string& token = "") {
  const std::string all = Everything(status);
  for (const char* sql : {"SELECT", "INSERT", "UPDATE", "ai_analysis_sessions",
                          "pqxx", "ERROR:", "row-level"}) {
    EXPECT_THAT(all, Not(HasSubstr(sql))) << status;
  }
  for (absl::string_view part : absl::StrSplit(token, '.')) {
    if (part.size() >= 4) {
      EXPECT_THAT(all, Not(HasSubstr(std::string(part))));
    }
  }
}

template <typename T>
T ParsePayload(const absl::Status& status, const std::string& type) {
  T detail;
  auto payload = status.GetPayload("type.googleapis.com/google.rpc." + type);
  EXPECT_TRUE(payload.has_value()) << type << " missing from " << status;
  if (payload.has_value()) detail.ParseFromString(std::string(*payload));
  return detail;
}

class SecurityTest : public testing::DemoServerTest {
 protected:
  static void SetUpTestSuite() { StartSuite({"--workers=1"}); }

  static std::string Url() { return db_->url(); }
  static std::string Target() { return server_->target(); }
  static int Count(const std::string& sql) {
    return std::stoi(testing::QueryValue(Url(), sql));
  }
};

TEST_F(SecurityTest, EveryCallWithoutATokenIsUnauthenticated) {
  auto channel =
      grpc::CreateChannel(Target(), grpc::InsecureChannelCredentials());
  auto stub = v1::AnalysisService::NewStub(channel);
  const int rows = Count("SELECT count(*) FROM ai_analysis_sessions");
  auto expect_unauthenticated = [](const grpc::Status& status) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << status.error_message();
    EXPECT_THAT(status.error_message(), HasSubstr("authorization"));
  };
  {
    grpc::ClientContext context;
    v1::Session session;
    expect_unauthenticated(
        stub->CreateSession(&context, Health("biz_demo_cafe"), &session));
    EXPECT_TRUE(session.session_id().empty());
  }
  {
    grpc::ClientContext context;
    v1::ListSessionsResponse response;
    expect_unauthenticated(
        stub->ListSessions(&context, v1::ListSessionsRequest(), &response));
    EXPECT_EQ(response.sessions_size(), 0);
  }
  {
    grpc::ClientContext context;
    v1::GetSessionRequest request;
    request.set_session_id("11111111-2222-3333-4444-555555555555");
    v1::Session session;
    expect_unauthenticated(stub->GetSession(&context, request, &session));
  }
  {
    grpc::ClientContext context;
    v1::CancelSessionRequest request;
    request.set_session_id("11111111-2222-3333-4444-555555555555");
    v1::Session session;
    expect_unauthenticated(stub->CancelSession(&context, request, &session));
  }
  {
    grpc::ClientContext context;
    v1::Usage usage;
    expect_unauthenticated(
        stub->GetUsage(&context, v1::GetUsageRequest(), &usage));
  }
  {
    grpc::ClientContext context;
    v1::RunSessionRequest request;
    *request.mutable_session() = Health("biz_demo_cafe");
    auto reader = stub->RunSession(&context, request);
    v1::SessionEvent event;
    EXPECT_FALSE(reader->Read(&event));
    expect_unauthenticated(reader->Finish());
  }
  {
    grpc::ClientContext context;
    v1::WatchSessionRequest request;
    request.set_session_id("11111111-2222-3333-4444-555555555555");
    auto reader = stub->WatchSession(&context, request);
    v1::SessionEvent event;
    EXPECT_FALSE(reader->Read(&event));
    expect_unauthenticated(reader->Finish());
  }
  EXPECT_EQ(Count("SELECT count(*) FROM ai_analysis_sessions"), rows);
}

TEST_F(SecurityTest, BadTokensAreRefusedWithoutEchoingThem) {
  struct Case {
    const char* name;
    std::string token;
    const char* reason;
  };
  const std::string valid = testing::TestToken(kOwner1);
  const std::string payload =
      valid.substr(valid.find('.') + 1, valid.rfind('.') - valid.find('.'));
  auth::TokenClaims claims;
  claims.subject = kOwner1;
  auth::TokenClaims foreign_audience = claims;
  foreign_audience.audience = "some-other-service";
  auth::TokenClaims foreign_issuer = claims;
  foreign_issuer.issuer = "someone-else";
  const std::string alg_none =
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."  // {"alg":"none","typ":"JWT"}
      + payload;
  const std::vector<Case> cases = {
      {"expired",
       testing::TestToken(kOwner1, "user", absl::Minutes(1),
                          absl::Now() - absl::Hours(1)),
       "expired"},
      {"alg none", alg_none, "algorithm"},
      {"alg none, signed", alg_none + "c2ln", "algorithm"},
      {"other secret",
       *auth::SignToken(claims, "HS256",
                        "a-secret-this-server-has-never-seen-0123456789"),
       "signature"},
      {"wrong audience",
       *auth::SignToken(foreign_audience, "HS256", testing::TestSecret()),
       "not meant for this service"},
      {"wrong issuer",
       *auth::SignToken(foreign_issuer, "HS256", testing::TestSecret()),
       "issuer"},
      {"garbage", "not-a-jwt", "not a signed JWT"},
      {"tampered", valid.substr(0, valid.size() - 3) + "AAA", "signature"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    client::AnalysisClient client(Target(), NoRetry(c.token));
    auto session = client.CreateSession(Health("biz_demo_cafe"));
    EXPECT_EQ(session.status().code(), absl::StatusCode::kUnauthenticated)
        << session.status();
    EXPECT_THAT(session.status().message(), HasSubstr(c.reason));
    ExpectNoLeak(session.status(), c.token);
  }
}

TEST_F(SecurityTest, UserCannotReachAnotherTenantsSession) {
  const std::string token1 = testing::TestToken(kOwner1);
  const std::string token2 = testing::TestToken(kOwner2);
  client::AnalysisClient owner1(Target(), NoRetry(token1));
  client::AnalysisClient owner2(Target(), NoRetry(token2));

  // Owner 2 runs an analysis of their own business; it is billed to them.
  auto theirs = owner2.CreateSession(Health("biz_demo_retail"));
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  EXPECT_EQ(theirs->user_id(), kOwner2);
  auto mine = owner1.CreateSession(Health("biz_demo_cafe"));
  ASSERT_TRUE(mine.ok()) << mine.status();
  const std::string id = theirs->session_id();
  const std::string missing = "99999999-8888-7777-6666-555555555555";

  // Get: exactly the answer a session that does not exist gets.
  auto got = owner1.GetSession(id);
  auto absent = owner1.GetSession(missing);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kNotFound);
  std::string got_message(got.status().message());
  std::string absent_message(absent.status().message());
  absl::StrReplaceAll({{id, "ID"}}, &got_message);
  absl::StrReplaceAll({{missing, "ID"}}, &absent_message);
  EXPECT_EQ(got_message, absent_message);
  ExpectNoLeak(got.status());
  EXPECT_THAT(Everything(got.status()), Not(HasSubstr(kOwner2)));
  EXPECT_THAT(Everything(got.status()), Not(HasSubstr("biz_demo_retail")));

  // List: only owner 1's own sessions, even when asking for owner 2's
  // business; naming owner 2 is refused.
  v1::ListSessionsRequest all;
  all.set_page_size(500);
  auto listed = owner1.ListSessions(all);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_GE(listed->sessions_size(), 1);
  for (const auto& s : listed->sessions()) {
    EXPECT_EQ(s.business_id(), "biz_demo_cafe") << s.session_id();
    EXPECT_NE(s.session_id(), id);
  }
  v1::ListSessionsRequest by_business = all;
  by_business.set_business_id("biz_demo_retail");
  auto foreign = owner1.ListSessions(by_business);
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  EXPECT_EQ(foreign->sessions_size(), 0);
  v1::ListSessionsRequest by_user = all;
  by_user.set_user_id(kOwner2);
  auto forged_list = owner1.ListSessions(by_user);
  EXPECT_EQ(forged_list.status().code(), absl::StatusCode::kPermissionDenied)
      << forged_list.status();

  // Watch and cancel: NOT_FOUND, and the session is untouched.
  std::vector<v1::SessionEvent> seen;
  auto watched = owner1.Watch(id, 0, [&](const v1::SessionEvent& e) {
    seen.push_back(e);
    return true;
  });
  EXPECT_EQ(watched.code(), absl::StatusCode::kNotFound) << watched;
  EXPECT_TRUE(seen.empty());
  auto cancelled = owner1.CancelSession(id, "not mine");
  EXPECT_EQ(cancelled.status().code(), absl::StatusCode::kNotFound)
      << cancelled.status();
  EXPECT_EQ(testing::QueryValue(Url(),
                                "SELECT cancel_requested::text FROM "
                                "ai_analysis_sessions WHERE id = '" +
                                    id + "'"),
            "false");

  // Its owner still sees all of it.
  auto events = WatchAll(owner2, id);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().status(), v1::SESSION_STATUS_COMPLETED);
  auto own = owner2.GetSession(id);
  ASSERT_TRUE(own.ok()) << own.status();
}

TEST_F(SecurityTest, ForgedUserIdAndForeignBusinessAreRefused) {
  client::AnalysisClient owner1(Target(), NoRetry(testing::TestToken(kOwner1)));
  const int rows = Count("SELECT count(*) FROM ai_analysis_sessions");

  // Billing someone else.
  v1::CreateSessionRequest forged = Health("biz_demo_cafe");
  forged.set_user_id(kOwner2);
  auto billed = owner1.CreateSession(forged);
  EXPECT_EQ(billed.status().code(), absl::StatusCode::kPermissionDenied)
      << billed.status();
  auto fields = client::FieldViolations(billed.status());
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_EQ(fields[0].field, "user_id");

  // Analysing someone else's business: as if it did not exist.
  auto foreign = owner1.CreateSession(Health("biz_demo_retail"));
  auto missing = owner1.CreateSession(Health("biz_no_such_business"));
  EXPECT_EQ(foreign.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  std::string a(foreign.status().message());
  std::string b(missing.status().message());
  absl::StrReplaceAll({{"biz_demo_retail", "X"}}, &a);
  absl::StrReplaceAll({{"biz_no_such_business", "X"}}, &b);
  EXPECT_EQ(a, b);
  EXPECT_THAT(Everything(foreign.status()), Not(HasSubstr(kOwner2)));

  // RunSession takes the same path.
  std::vector<v1::SessionEvent> events;
  v1::CreateSessionRequest run = Health("biz_demo_retail");
  auto ran = owner1.Run(run, [&](const v1::SessionEvent& e) {
    events.push_back(e);
    return true;
  });
  EXPECT_EQ(ran.code(), absl::StatusCode::kNotFound) << ran;
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(Count("SELECT count(*) FROM ai_analysis_sessions"), rows);
}

TEST_F(SecurityTest, ServiceActsForTheUserItNamesAndAdminSeesAll) {
  client::AnalysisClient service(
      Target(), NoRetry(testing::TestToken("billing-worker", "service")));
  // A broker's analysis of owner 1's listing, billed to the broker.
  v1::CreateSessionRequest request = Health("biz_demo_cafe");
  request.set_user_id("usr_demo_broker");
  auto session = service.CreateSession(request);
  ASSERT_TRUE(session.ok()) << session.status();
  EXPECT_EQ(session->user_id(), "usr_demo_broker");

  // The broker sees what they paid for; the business owner sees it too.
  client::AnalysisClient broker(Target(),
                                NoRetry(testing::TestToken("usr_demo_broker")));
  client::AnalysisClient owner1(Target(), NoRetry(testing::TestToken(kOwner1)));
  EXPECT_TRUE(broker.GetSession(session->session_id()).ok());
  EXPECT_TRUE(owner1.GetSession(session->session_id()).ok());
  // Owner 2 does not.
  client::AnalysisClient owner2(Target(), NoRetry(testing::TestToken(kOwner2)));
  EXPECT_EQ(owner2.GetSession(session->session_id()).status().code(),
            absl::StatusCode::kNotFound);

  client::AnalysisClient admin(Target(), NoRetry(testing::AdminToken()));
  v1::ListSessionsRequest list;
  list.set_page_size(500);
  auto everything = admin.ListSessions(list);
  ASSERT_TRUE(everything.ok()) << everything.status();
  EXPECT_EQ(everything->sessions_size(),
            Count("SELECT count(*) FROM ai_analysis_sessions"));
}

TEST_F(SecurityTest, UsageIsTheCallersOwnUnlessAServiceAsks) {
  client::AnalysisClient owner1(Target(), NoRetry(testing::TestToken(kOwner1)));
  auto usage = owner1.GetUsage();
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->user_id(), kOwner1);
  EXPECT_EQ(usage->plan_name(), "Enterprise");  // the fixture's plan
  EXPECT_TRUE(usage->unlimited());
  EXPECT_EQ(usage->analyses_used(),
            Count(absl::StrCat("SELECT count(*) FROM ai_analysis_sessions "
                               "WHERE user_id = '",
                               kOwner1, "' AND status <> 'failed'")));
  auto other = owner1.GetUsage(kOwner2);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kPermissionDenied);
  client::AnalysisClient service(
      Target(), NoRetry(testing::TestToken("billing-worker", "service")));
  auto asked = service.GetUsage(kOwner2);
  ASSERT_TRUE(asked.ok()) << asked.status();
  EXPECT_EQ(asked->user_id(), kOwner2);
  auto nobody = service.GetUsage();
  EXPECT_EQ(nobody.status().code(), absl::StatusCode::kInvalidArgument);
}

// Plans: a small plan, a feature it lacks, the limit under a race across two
// replicas, and what a failed or cancelled session gives back.
class PlanLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.MigrateAndLoadDemo();
    testing::ExecSql(
        db_.url(),
        "INSERT INTO subscription_plans (id, name, price, billing_period, "
        "ai_analysis_limit, features) VALUES ('plan_tiny', 'Tiny', 1, "
        "'monthly', 3, '{\"ai_analysis\": true, \"session_types\": "
        "[\"health_analysis\", \"forecast\"]}'); "
        "UPDATE user_subscriptions SET plan_id = 'plan_tiny', "
        "current_period_start = date_trunc('month', now()), "
        "current_period_end = date_trunc('month', now()) + interval '1 month' "
        "WHERE user_id = 'usr_demo_owner2'");
  }
  int Sessions() {
    return std::stoi(testing::QueryValue(
        db_.url(),
        "SELECT count(*) FROM ai_analysis_sessions WHERE user_id = "
        "'usr_demo_owner2'"));
  }
  testing::ScratchDatabase db_;
};

TEST_F(PlanLimitTest, TwoReplicasRacingForTheLastAnalysisOneWins) {
  // API-only replicas: the sessions stay pending (and counted).
  testing::ServerProcess a(db_.url(), {"--workers=0"});
  testing::ServerProcess b(db_.url(), {"--workers=0"});
  const std::string token = testing::TestToken(kOwner2);
  client::AnalysisClient via_a(a.target(), NoRetry(token));
  client::AnalysisClient via_b(b.target(), NoRetry(token));
  ASSERT_TRUE(via_a.CreateSession(Health("biz_demo_retail")).ok());
  ASSERT_TRUE(via_b.CreateSession(Health("biz_demo_retail")).ok());

  // Ten creates at once, five through each replica, for the one left.
  constexpr int kRacers = 10;
  std::vector<absl::Status> statuses(kRacers);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRacers; ++i) {
    threads.emplace_back([&, i] {
      client::AnalysisClient c(i % 2 ? a.target() : b.target(), NoRetry(token));
      while (!go.load()) std::this_thread::yield();
      statuses[i] = c.CreateSession(Health("biz_demo_retail")).status();
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  int won = 0;
  for (const auto& status : statuses) {
    if (status.ok()) {
      ++won;
      continue;
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
    EXPECT_THAT(status.message(), HasSubstr("Tiny plan allows 3 analyses"));
    auto quota =
        ParsePayload<google::rpc::QuotaFailure>(status, "QuotaFailure");
    ASSERT_EQ(quota.violations_size(), 1);
    EXPECT_EQ(quota.violations(0).subject(), "user:usr_demo_owner2");
    EXPECT_THAT(quota.violations(0).description(), HasSubstr("period ends"));
    ExpectNoLeak(status);
  }
  EXPECT_EQ(won, 1);
  EXPECT_EQ(Sessions(), 3);

  // The usage both replicas report is the database's.
  auto usage = via_b.GetUsage();
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_EQ(usage->plan_name(), "Tiny");
  EXPECT_EQ(usage->analyses_used(), 3);
  EXPECT_EQ(usage->analyses_limit(), 3);
  EXPECT_FALSE(usage->unlimited());

  // A session cancelled before it ran is given back: one more fits.
  v1::ListSessionsRequest list;
  auto listed = via_a.ListSessions(list);
  ASSERT_TRUE(listed.ok() && listed->sessions_size() == 3);
  ASSERT_TRUE(via_a.CancelSession(listed->sessions(0).session_id()).ok());
  EXPECT_TRUE(via_b.CreateSession(Health("biz_demo_retail")).ok());
  EXPECT_EQ(via_b.CreateSession(Health("biz_demo_retail")).status().code(),
            absl::StatusCode::kResourceExhausted);

  // A repeated request_id still returns its session at the limit.
  v1::CreateSessionRequest again = Health("biz_demo_retail");
  again.set_request_id(listed->sessions(1).request_id());
  auto repeated = via_a.CreateSession(again);
  ASSERT_TRUE(repeated.ok()) << repeated.status();
  EXPECT_EQ(repeated->session_id(), listed->sessions(1).session_id());
}

TEST_F(PlanLimitTest, PlanWithoutValuationRefusesItByName) {
  testing::ServerProcess server(db_.url(), {"--workers=0"});
  client::AnalysisClient owner2(server.target(),
                                NoRetry(testing::TestToken(kOwner2)));
  v1::CreateSessionRequest request = Health("biz_demo_retail");
  request.set_session_type(v1::SESSION_TYPE_VALUATION);
  auto refused = owner2.CreateSession(request);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied)
      << refused.status();
  EXPECT_THAT(refused.status().message(),
              HasSubstr("Tiny plan does not include valuation"));
  auto info =
      ParsePayload<google::rpc::ErrorInfo>(refused.status(), "ErrorInfo");
  EXPECT_EQ(info.reason(), "PLAN_FEATURE_MISSING");
  EXPECT_EQ(Sessions(), 0);
}

TEST(RateLimitTest, CallerOverTheRateGetsRetryInfoOthersDoNot) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  testing::ServerProcess server(
      db.url(), {"--rate_limit_rps=1", "--rate_limit_burst=3", "--workers=0"});
  client::AnalysisClient owner1(server.target(),
                                NoRetry(testing::TestToken(kOwner1)));
  v1::ListSessionsRequest list;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(owner1.ListSessions(list).ok()) << i;
  }
  auto limited = owner1.ListSessions(list);
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted)
      << limited.status();
  auto delay = client::RetryDelay(limited.status());
  ASSERT_TRUE(delay.has_value());
  EXPECT_GT(*delay, absl::Milliseconds(100));
  EXPECT_LE(*delay, absl::Seconds(1));
  // Another tenant is not held back by owner 1's burst.
  client::AnalysisClient owner2(server.target(),
                                NoRetry(testing::TestToken(kOwner2)));
  EXPECT_TRUE(owner2.ListSessions(list).ok());
  // And owner 1 is served again once a token has refilled.
  absl::SleepFor(*delay + absl::Milliseconds(50));
  EXPECT_TRUE(owner1.ListSessions(list).ok());
}

TEST(StreamCapTest, OneUserCannotHoldMoreStreamsThanTheirShare) {
  testing::ScratchDatabase db;
  db.MigrateAndLoadDemo();
  testing::ServerProcess server(db.url(),
                                {"--max_streams_per_user=2", "--workers=0"});
  const std::string token = testing::TestToken(kOwner1);
  client::AnalysisClient owner1(server.target(), NoRetry(token));
  auto session = owner1.CreateSession(Health("biz_demo_cafe"));
  ASSERT_TRUE(session.ok()) << session.status();

  auto channel = testing::TestChannel(server.target(), {}, token);
  auto stub = v1::AnalysisService::NewStub(channel);
  v1::WatchSessionRequest watch;
  watch.set_session_id(session->session_id());
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::SessionEvent>>> readers;
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    readers.push_back(stub->WatchSession(contexts.back().get(), watch));
    v1::SessionEvent first;
    ASSERT_TRUE(readers.back()->Read(&first)) << i;  // open and streaming
  }
  grpc::ClientContext third;
  auto refused = stub->WatchSession(&third, watch);
  v1::SessionEvent event;
  EXPECT_FALSE(refused->Read(&event));
  const grpc::Status status = refused->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("2 open streams"));

  // Another user may still watch (an admin here: the global cap is far).
  client::AnalysisClient admin(server.target(), NoRetry(testing::AdminToken()));
  std::atomic<int> seen{0};
  std::thread watcher([&] {
    (void)admin.Watch(session->session_id(), 0, [&](const v1::SessionEvent&) {
      ++seen;
      return false;  // one event is enough
    });
  });
  watcher.join();
  EXPECT_EQ(seen.load(), 1);
  for (auto& context : contexts) context->TryCancel();
  for (auto& reader : readers) (void)reader->Finish();
}

}  // namespace
}  // namespace goodbuy
