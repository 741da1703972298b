// Bad input against a real server: the right status code, a human message,
// google.rpc.BadRequest field details, no SQL in the text, and nothing
// written for a rejected request.
#include <grpcpp/grpcpp.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "client/status_convert.h"
#include "gmock/gmock.h"
#include "goodbuy/analysis/v1/analysis_service.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/test_env.h"

namespace goodbuy {
namespace {

namespace v1 = ::goodbuy::analysis::v1;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;

class BadInputTest : public testing::DemoServerTest {
 protected:
  void SetUp() override {
    stub_ =
        v1::AnalysisService::NewStub(testing::TestChannel(server_->target()));
    rows_before_ = SessionRows();
  }
  // Every test here is rejected: not one row may appear.
  void TearDown() override { EXPECT_EQ(SessionRows(), rows_before_); }

  static std::string SessionRows() {
    return testing::QueryValue(
        db_->url(),
        "SELECT (SELECT count(*) FROM ai_analysis_sessions) || '/' || "
        "(SELECT count(*) FROM session_events)");
  }

  absl::Status Create(const v1::CreateSessionRequest& request) {
    grpc::ClientContext context;
    v1::Session response;
    return client::FromGrpcStatus(
        stub_->CreateSession(&context, request, &response));
  }

  static v1::CreateSessionRequest ValidRequest() {
    v1::CreateSessionRequest request;
    request.set_business_id("biz_demo_cafe");
    request.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
    return request;
  }

  static v1::CreateSessionRequest WithHistory(int months) {
    v1::CreateSessionRequest request = ValidRequest();
    for (int i = 0; i < months; ++i) {
      auto* p = request.mutable_history()->add_periods();
      p->set_month("2023-" + std::string(i < 9 ? "0" : "") +
                   std::to_string(i + 1));
      p->set_revenue(10000 + 100 * i);
      p->set_operating_expenses(6000);
      p->set_cash(20000);
    }
    return request;
  }

  static void ExpectHuman(const absl::Status& status) {
    EXPECT_FALSE(status.message().empty());
    for (const char* sql :
         {"SELECT", "INSERT", "UPDATE", "SQLSTATE", "ERROR:"}) {
      EXPECT_THAT(std::string(status.message()), Not(HasSubstr(sql)));
    }
  }

  std::unique_ptr<v1::AnalysisService::Stub> stub_;
  std::string rows_before_;
};

auto Violation(const std::string& field) {
  return Contains(Field(&client::FieldViolation::field, field));
}

TEST_F(BadInputTest, UnknownSessionType) {
  for (int type : {0, 99}) {
    auto request = ValidRequest();
    request.set_session_type(static_cast<v1::SessionType>(type));
    auto status = Create(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << type;
    EXPECT_THAT(client::FieldViolations(status), Violation("session_type"));
    ExpectHuman(status);
  }
}

TEST_F(BadInputTest, EmptyOrMalformedBusinessId) {
  for (const std::string& id :
       std::vector<std::string>{"", "../etc/passwd", std::string(200, 'x'),
                                "biz'; DROP TABLE users; --"}) {
    auto request = ValidRequest();
    request.set_business_id(id);
    auto status = Create(request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_THAT(client::FieldViolations(status), Violation("business_id"));
    ExpectHuman(status);
  }
}

TEST_F(BadInputTest, BusinessThatDoesNotExist) {
  auto request = ValidRequest();
  request.set_business_id("biz_missing");
  auto status = Create(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()), HasSubstr("biz_missing"));
  EXPECT_THAT(client::FieldViolations(status), Violation("business_id"));
  ExpectHuman(status);
}

TEST_F(BadInputTest, UserThatDoesNotExist) {
  auto request = ValidRequest();
  request.set_user_id("usr_missing");
  auto status = Create(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(client::FieldViolations(status), Violation("user_id"));
}

TEST_F(BadInputTest, HistoryWithNanNegativeAndMalformedMonths) {
  auto request = WithHistory(12);
  auto* periods = request.mutable_history()->mutable_periods();
  periods->Mutable(2)->set_revenue(std::numeric_limits<double>::quiet_NaN());
  periods->Mutable(4)->set_revenue(-5);
  periods->Mutable(6)->set_month("2023-13");
  periods->Mutable(7)->set_cash(std::numeric_limits<double>::infinity());
  auto status = Create(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  auto violations = client::FieldViolations(status);
  EXPECT_THAT(violations, Violation("history.periods[2].revenue"));
  EXPECT_THAT(violations, Violation("history.periods[4].revenue"));
  EXPECT_THAT(violations, Violation("history.periods[6].month"));
  EXPECT_THAT(violations, Violation("history.periods[7].cash"));
  ExpectHuman(status);
}

TEST_F(BadInputTest, HistoryTooShortForAForecast) {
  auto request = WithHistory(2);
  request.set_session_type(v1::SESSION_TYPE_FORECAST);
  auto status = Create(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client::FieldViolations(status), Violation("history.periods"));
}

TEST_F(BadInputTest, OptionsOutOfRange) {
  auto request = ValidRequest();
  request.mutable_options()->set_forecast_horizon_months(37);
  request.mutable_options()->set_discount_rate(-1);
  auto status = Create(request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  auto violations = client::FieldViolations(status);
  EXPECT_THAT(violations, Violation("options.forecast_horizon_months"));
  EXPECT_THAT(violations, Violation("options.discount_rate"));
}

TEST_F(BadInputTest, MalformedAndUnknownSessionIds) {
  grpc::ClientContext c1;
  v1::GetSessionRequest get;
  get.set_session_id("not/an id");
  v1::Session session;
  auto status = client::FromGrpcStatus(stub_->GetSession(&c1, get, &session));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client::FieldViolations(status), Violation("session_id"));

  grpc::ClientContext c2;
  get.set_session_id("00000000-0000-0000-0000-000000000000");
  status = client::FromGrpcStatus(stub_->GetSession(&c2, get, &session));
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  ExpectHuman(status);

  grpc::ClientContext c3;
  v1::CancelSessionRequest cancel;
  status = client::FromGrpcStatus(stub_->CancelSession(&c3, cancel, &session));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BadInputTest, WatchErrorsEndTheStream) {
  {
    grpc::ClientContext context;
    v1::WatchSessionRequest request;
    request.set_session_id("00000000-0000-0000-0000-000000000000");
    auto reader = stub_->WatchSession(&context, request);
    v1::SessionEvent event;
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    v1::WatchSessionRequest request;
    request.set_session_id("abc");
    request.set_after_sequence(-1);
    auto reader = stub_->WatchSession(&context, request);
    v1::SessionEvent event;
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_EQ(reader->Finish().error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_F(BadInputTest, RunSessionRejectsWithPrefixedFields) {
  grpc::ClientContext context;
  v1::RunSessionRequest request;
  request.mutable_session()->set_business_id("biz_demo_cafe");
  auto reader = stub_->RunSession(&context, request);
  v1::SessionEvent event;
  EXPECT_FALSE(reader->Read(&event));
  auto status = client::FromGrpcStatus(reader->Finish());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client::FieldViolations(status),
              Violation("session.session_type"));
}

TEST_F(BadInputTest, BadPageTokenAndPageSize) {
  grpc::ClientContext c1;
  v1::ListSessionsRequest request;
  request.set_page_token("garbage!");
  v1::ListSessionsResponse response;
  auto status =
      client::FromGrpcStatus(stub_->ListSessions(&c1, request, &response));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client::FieldViolations(status), Violation("page_token"));

  grpc::ClientContext c2;
  request.set_page_token("");
  request.set_page_size(-3);
  status = client::FromGrpcStatus(stub_->ListSessions(&c2, request, &response));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(client::FieldViolations(status), Violation("page_size"));
}

}  // namespace
}  // namespace goodbuy
