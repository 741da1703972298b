#include "server/core/request_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "server/analysis/history.h"
#include "server/analysis/ttm.h"
#include "server/common/errors.h"

namespace goodbuy::core {
namespace {

using ::testing::Contains;
using ::testing::UnorderedElementsAre;

v1::FinancialHistory Contiguous(int n) {
  v1::FinancialHistory h;
  for (int i = 0; i < n; ++i) {
    v1::MonthlyPeriod* p = h.add_periods();
    p->set_month(analysis::FormatMonthIndex(2021 * 12 + i));
    p->set_revenue(10000 + 100 * i);
    p->set_cost_of_goods_sold(4000);
    p->set_operating_expenses(3000);
  }
  return h;
}

v1::CreateSessionRequest Valid() {
  v1::CreateSessionRequest r;
  r.set_request_id("req-1");
  r.set_business_id("biz_demo_cafe");
  r.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  return r;
}

// Field paths of the BadRequest details; fails the test when there are none.
std::vector<std::string> Fields(const absl::Status& status) {
  google::rpc::BadRequest bad_request;
  if (!GetBadRequest(status, &bad_request)) {
    ADD_FAILURE() << "no BadRequest details in " << status;
    return {};
  }
  std::vector<std::string> fields;
  for (const auto& v : bad_request.field_violations()) {
    EXPECT_FALSE(v.description().empty()) << v.field();
    fields.push_back(v.field());
  }
  return fields;
}

TEST(RequestValidationTest, ValidRequestsPass) {
  EXPECT_TRUE(ValidateCreate(Valid()).ok());
  v1::CreateSessionRequest forecast = Valid();
  forecast.set_session_type(v1::SESSION_TYPE_FORECAST);
  *forecast.mutable_history() = Contiguous(analysis::kMinForecastMonths);
  forecast.mutable_options()->set_forecast_horizon_months(12);
  EXPECT_TRUE(ValidateCreate(forecast).ok()) << ValidateCreate(forecast);
  v1::CreateSessionRequest no_request_id = Valid();
  no_request_id.clear_request_id();
  EXPECT_TRUE(ValidateCreate(no_request_id).ok());
}

TEST(RequestValidationTest, UnknownSessionTypeIsRejected) {
  for (int type : {0, 99}) {
    SCOPED_TRACE(type);
    v1::CreateSessionRequest r = Valid();
    r.set_session_type(static_cast<v1::SessionType>(type));
    const absl::Status status = ValidateCreate(r);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Fields(status), UnorderedElementsAre("session_type"));
  }
}

TEST(RequestValidationTest, BusinessIdMustBePresentAndWellFormed) {
  for (const std::string& id :
       {std::string(), std::string("../x"), std::string(200, 'a'),
        std::string("biz demo"), std::string("biz/1"), std::string("é")}) {
    SCOPED_TRACE(id);
    v1::CreateSessionRequest r = Valid();
    r.set_business_id(id);
    const absl::Status status = ValidateCreate(r);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Fields(status), UnorderedElementsAre("business_id"));
  }
  v1::CreateSessionRequest longest = Valid();
  longest.set_business_id(std::string(kMaxIdLength, 'b'));
  EXPECT_TRUE(ValidateCreate(longest).ok());
}

TEST(RequestValidationTest, MalformedUserIdAndLongRequestIdAreRejected) {
  v1::CreateSessionRequest r = Valid();
  r.set_user_id("bob;drop");
  r.set_request_id(std::string(kMaxIdLength + 1, 'r'));
  const absl::Status status = ValidateCreate(r);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), UnorderedElementsAre("user_id", "request_id"));
}

TEST(RequestValidationTest, InlineHistoryValuesAreCheckedWithIndexedPaths) {
  v1::CreateSessionRequest r = Valid();
  *r.mutable_history() = Contiguous(6);
  r.mutable_history()->mutable_periods(1)->set_revenue(
      std::numeric_limits<double>::quiet_NaN());
  r.mutable_history()->mutable_periods(2)->set_revenue(-5);
  const absl::Status status = ValidateCreate(r);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status),
              UnorderedElementsAre("history.periods[1].revenue",
                                   "history.periods[2].revenue"));
}

TEST(RequestValidationTest, BadMonthIsRejected) {
  v1::CreateSessionRequest r = Valid();
  v1::MonthlyPeriod* p = r.mutable_history()->add_periods();
  p->set_month("2024-13");
  p->set_revenue(1);
  for (const char* m : {"2025-01", "2025-02", "2025-03"}) {
    v1::MonthlyPeriod* q = r.mutable_history()->add_periods();
    q->set_month(m);
    q->set_revenue(1);
  }
  const absl::Status status = ValidateCreate(r);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), Contains("history.periods[0].month"));
}

TEST(RequestValidationTest, TooShortHistoryForForecastIsRejected) {
  v1::CreateSessionRequest r = Valid();
  r.set_session_type(v1::SESSION_TYPE_FORECAST);
  *r.mutable_history() = Contiguous(analysis::kMinForecastMonths - 1);
  const absl::Status status = ValidateCreate(r);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status), UnorderedElementsAre("history.periods"));
  // The same history is enough for a health analysis.
  r.set_session_type(v1::SESSION_TYPE_HEALTH_ANALYSIS);
  EXPECT_TRUE(ValidateCreate(r).ok()) << ValidateCreate(r);
}

TEST(RequestValidationTest, AllViolationsAreReportedAtOnce) {
  v1::CreateSessionRequest r;
  r.set_business_id("../x");
  r.set_session_type(static_cast<v1::SessionType>(99));
  v1::MonthlyPeriod* p = r.mutable_history()->add_periods();
  p->set_month("2024-13");
  p->set_revenue(std::numeric_limits<double>::quiet_NaN());
  p->set_cost_of_goods_sold(-1);
  const absl::Status status = ValidateCreate(r);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Fields(status),
              UnorderedElementsAre("business_id", "session_type",
                                   "history.periods[0].month",
                                   "history.periods[0].revenue",
                                   "history.periods[0].cost_of_goods_sold"));
  // The message names the first and counts the rest.
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("4 more invalid fields"));
}

TEST(RequestValidationTest, BadOptionIsReportedOnce) {
  v1::CreateSessionRequest r = Valid();
  r.mutable_options()->set_forecast_horizon_months(99);
  EXPECT_THAT(Fields(ValidateCreate(r)),
              UnorderedElementsAre("options.forecast_horizon_months"));
  // With an inline history the option must still be reported exactly once.
  *r.mutable_history() = Contiguous(6);
  EXPECT_THAT(Fields(ValidateCreate(r)),
              UnorderedElementsAre("options.forecast_horizon_months"));
}

TEST(RequestValidationTest, SessionIdListAndWatch) {
  EXPECT_TRUE(ValidateSessionId("6f1c2c8e-5f0b-4a8e-9d4b-0a1b2c3d4e5f").ok());
  EXPECT_THAT(Fields(ValidateSessionId("")),
              UnorderedElementsAre("session_id"));
  EXPECT_THAT(Fields(ValidateSessionId("a'b")),
              UnorderedElementsAre("session_id"));

  v1::ListSessionsRequest list;
  EXPECT_TRUE(ValidateList(list).ok());
  list.set_page_size(-1);
  list.set_status(static_cast<v1::SessionStatus>(42));
  list.set_business_id("x y");
  EXPECT_THAT(Fields(ValidateList(list)),
              UnorderedElementsAre("page_size", "status", "business_id"));

  v1::WatchSessionRequest watch;
  watch.set_session_id("s1");
  EXPECT_TRUE(ValidateWatch(watch).ok());
  watch.set_after_sequence(-1);
  watch.clear_session_id();
  EXPECT_THAT(Fields(ValidateWatch(watch)),
              UnorderedElementsAre("session_id", "after_sequence"));
}

TEST(RequestValidationTest, MinimumMonths) {
  EXPECT_EQ(MinimumMonths(v1::SESSION_TYPE_HEALTH_ANALYSIS),
            analysis::kMinHealthMonths);
  EXPECT_EQ(MinimumMonths(v1::SESSION_TYPE_VALUATION),
            analysis::kMinValuationMonths);
  EXPECT_EQ(MinimumMonths(v1::SESSION_TYPE_FORECAST),
            analysis::kMinForecastMonths);
}

}  // namespace
}  // namespace goodbuy::core
