#include "server/store/plan_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "server/common/errors.h"

namespace goodbuy::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kErrorInfoUrl[] = "type.googleapis.com/google.rpc.ErrorInfo";
constexpr char kQuotaFailureUrl[] =
    "type.googleapis.com/google.rpc.QuotaFailure";

PlanUsage Usage(const std::string& features_json = "{}") {
  PlanUsage usage;
  usage.user_id = "u-42";
  usage.plan_name = "Starter";
  absl::Time start;
  absl::Time end;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, "2024-02-01T00:00:00Z",
                              &start, &error))
      << error;
  EXPECT_TRUE(
      absl::ParseTime(absl::RFC3339_full, "2024-03-01T00:00:00Z", &end, &error))
      << error;
  usage.period_start = start;
  usage.period_end = end;
  const absl::Status parsed = ParsePlanFeatures(features_json, &usage);
  EXPECT_TRUE(parsed.ok()) << parsed;
  return usage;
}

template <typename Detail>
bool GetDetail(const absl::Status& status, const char* url, Detail* out) {
  auto payload = status.GetPayload(url);
  if (!payload.has_value()) {
    ADD_FAILURE() << "no " << url << " in " << status;
    return false;
  }
  if (!out->ParseFromString(std::string(*payload))) {
    ADD_FAILURE() << url << " does not parse";
    return false;
  }
  return true;
}

void ExpectFeatureMissing(const absl::Status& status,
                          const std::string& session_type) {
  ASSERT_EQ(status.code(), absl::StatusCode::kPermissionDenied) << status;
  EXPECT_THAT(status.message(), HasSubstr("Starter plan"));
  EXPECT_THAT(status.message(), HasSubstr(session_type));
  google::rpc::ErrorInfo info;
  ASSERT_TRUE(GetDetail(status, kErrorInfoUrl, &info));
  EXPECT_EQ(info.reason(), "PLAN_FEATURE_MISSING");
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_THAT(info.metadata(),
              UnorderedElementsAre(Pair("plan", "Starter"),
                                   Pair("session_type", session_type)));
  EXPECT_FALSE(status.GetPayload(kQuotaFailureUrl).has_value());
}

TEST(PlanRulesTest, SessionTypesListExcludingValuationDeniesIt) {
  PlanUsage usage = Usage(
      R"({"ai_analysis": true, "session_types": ["health_analysis", "forecast"]})");
  EXPECT_THAT(usage.session_types, ElementsAre("health_analysis", "forecast"));
  EXPECT_TRUE(usage.analyses_enabled);
  ExpectFeatureMissing(CheckPlanAllows(usage, v1::SESSION_TYPE_VALUATION),
                       "valuation");
  EXPECT_TRUE(CheckPlanAllows(usage, v1::SESSION_TYPE_HEALTH_ANALYSIS).ok());
  EXPECT_TRUE(CheckPlanAllows(usage, v1::SESSION_TYPE_FORECAST).ok());
}

TEST(PlanRulesTest, AiAnalysisFalseDeniesEveryType) {
  PlanUsage usage = Usage(R"({"ai_analysis": false})");
  EXPECT_FALSE(usage.analyses_enabled);
  ExpectFeatureMissing(CheckPlanAllows(usage, v1::SESSION_TYPE_HEALTH_ANALYSIS),
                       "health_analysis");
  ExpectFeatureMissing(CheckPlanAllows(usage, v1::SESSION_TYPE_VALUATION),
                       "valuation");
  ExpectFeatureMissing(CheckPlanAllows(usage, v1::SESSION_TYPE_FORECAST),
                       "forecast");
}

TEST(PlanRulesTest, NoSessionTypesKeyAllowsEveryType) {
  for (const char* json :
       {"{}", R"({"ai_analysis": true})", R"({"exports": ["pdf"]})"}) {
    SCOPED_TRACE(json);
    PlanUsage usage = Usage(json);
    EXPECT_TRUE(usage.session_types.empty());
    EXPECT_TRUE(usage.analyses_enabled);
    EXPECT_TRUE(CheckPlanAllows(usage, v1::SESSION_TYPE_HEALTH_ANALYSIS).ok());
    EXPECT_TRUE(CheckPlanAllows(usage, v1::SESSION_TYPE_VALUATION).ok());
    EXPECT_TRUE(CheckPlanAllows(usage, v1::SESSION_TYPE_FORECAST).ok());
  }
}

TEST(PlanRulesTest, EmptySessionTypesListAllowsNothing) {
  PlanUsage usage = Usage(R"({"session_types": []})");
  EXPECT_FALSE(usage.analyses_enabled);
  ExpectFeatureMissing(CheckPlanAllows(usage, v1::SESSION_TYPE_FORECAST),
                       "forecast");
}

TEST(PlanRulesTest, ParseReplacesEarlierSessionTypes) {
  PlanUsage usage = Usage(R"({"session_types": ["valuation"]})");
  ASSERT_THAT(usage.session_types, ElementsAre("valuation"));
  ASSERT_TRUE(ParsePlanFeatures("{}", &usage).ok());
  EXPECT_TRUE(usage.session_types.empty());
  EXPECT_TRUE(CheckPlanAllows(usage, v1::SESSION_TYPE_FORECAST).ok());
}

TEST(PlanRulesTest, LimitReachedIsResourceExhaustedWithQuotaFailure) {
  PlanUsage usage = Usage();
  usage.limit = 10;
  usage.analyses_used = 10;
  const absl::Status status =
      CheckPlanAllows(usage, v1::SESSION_TYPE_HEALTH_ANALYSIS);
  ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr("Starter plan allows 10 analyses"));
  EXPECT_THAT(status.message(), HasSubstr("2024-03-01T00:00:00Z"));

  google::rpc::QuotaFailure quota;
  ASSERT_TRUE(GetDetail(status, kQuotaFailureUrl, &quota));
  ASSERT_EQ(quota.violations_size(), 1);
  EXPECT_EQ(quota.violations(0).subject(), "user:u-42");
  EXPECT_THAT(quota.violations(0).description(), HasSubstr("allows 10"));
  EXPECT_THAT(quota.violations(0).description(),
              HasSubstr("10 have been used"));
  EXPECT_THAT(quota.violations(0).description(),
              HasSubstr("ends 2024-03-01T00:00:00Z"));

  google::rpc::ErrorInfo info;
  ASSERT_TRUE(GetDetail(status, kErrorInfoUrl, &info));
  EXPECT_EQ(info.reason(), "ANALYSIS_LIMIT_REACHED");
  EXPECT_EQ(info.domain(), kErrorDomain);
  EXPECT_THAT(info.metadata(),
              UnorderedElementsAre(Pair("plan", "Starter"), Pair("limit", "10"),
                                   Pair("period_end", "2024-03-01T00:00:00Z")));
}

TEST(PlanRulesTest, PeriodEndIsFormattedInUtc) {
  PlanUsage usage = Usage();
  usage.period_end = absl::FromUnixSeconds(1'709'251'199);  // 23:59:59Z
  usage.limit = 1;
  usage.analyses_used = 3;
  const absl::Status status = CheckPlanAllows(usage, v1::SESSION_TYPE_FORECAST);
  ASSERT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr("3 have been used"));
  EXPECT_THAT(status.message(), HasSubstr("ends 2024-02-29T23:59:59Z"));
}

TEST(PlanRulesTest, LimitNotReachedOrUnlimitedIsOk) {
  PlanUsage usage = Usage();
  usage.limit = 10;
  usage.analyses_used = 9;
  EXPECT_TRUE(CheckPlanAllows(usage, v1::SESSION_TYPE_VALUATION).ok());
  usage.limit = std::nullopt;
  usage.analyses_used = 1'000'000;
  EXPECT_TRUE(CheckPlanAllows(usage, v1::SESSION_TYPE_VALUATION).ok());
  // A zero limit allows nothing.
  usage.limit = 0;
  usage.analyses_used = 0;
  EXPECT_EQ(CheckPlanAllows(usage, v1::SESSION_TYPE_VALUATION).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(PlanRulesTest, MissingFeatureIsReportedBeforeTheLimit) {
  PlanUsage usage = Usage(R"({"session_types": ["health_analysis"]})");
  usage.limit = 5;
  usage.analyses_used = 5;
  ExpectFeatureMissing(CheckPlanAllows(usage, v1::SESSION_TYPE_VALUATION),
                       "valuation");
  EXPECT_EQ(CheckPlanAllows(usage, v1::SESSION_TYPE_HEALTH_ANALYSIS).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(PlanRulesTest, InvalidJsonIsDataLossAndDisablesAnalyses) {
  for (const char* json :
       {"", "{", "not json", R"({"ai_analysis": })", "[1]"}) {
    SCOPED_TRACE(json);
    PlanUsage usage;
    usage.user_id = "u-42";
    usage.plan_name = "Starter";
    ASSERT_TRUE(usage.analyses_enabled);
    const absl::Status status = ParsePlanFeatures(json, &usage);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
    EXPECT_THAT(status.message(), HasSubstr("Starter plan"));
    EXPECT_THAT(status.message(), Not(HasSubstr("u-42")));
    EXPECT_FALSE(usage.analyses_enabled);
    EXPECT_EQ(CheckPlanAllows(usage, v1::SESSION_TYPE_HEALTH_ANALYSIS).code(),
              absl::StatusCode::kPermissionDenied);
  }
}

}  // namespace
}  // namespace goodbuy::store
