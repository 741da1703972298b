#include "server/analysis/history.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "server/analysis/ttm.h"
#include "server/common/errors.h"

namespace goodbuy::analysis {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::SizeIs;

v1::FinancialHistory Months(const std::vector<std::string>& months) {
  v1::FinancialHistory h;
  for (const auto& m : months) {
    v1::MonthlyPeriod* p = h.add_periods();
    p->set_month(m);
    p->set_revenue(1000);
  }
  return h;
}

v1::FinancialHistory Contiguous(int n) {
  v1::FinancialHistory h;
  for (int i = 0; i < n; ++i) {
    v1::MonthlyPeriod* p = h.add_periods();
    p->set_month(FormatMonthIndex(2020 * 12 + i));
    p->set_revenue(1000 + i);
  }
  return h;
}

struct Violation {
  std::string field;
  std::string description;
};

std::vector<Violation> Violations(const absl::Status& status) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  google::rpc::BadRequest br;
  EXPECT_TRUE(GetBadRequest(status, &br)) << status;
  std::vector<Violation> out;
  for (const auto& v : br.field_violations()) {
    out.push_back({v.field(), v.description()});
  }
  return out;
}

std::vector<std::string> Fields(const absl::Status& status) {
  std::vector<std::string> fields;
  for (const auto& v : Violations(status)) fields.push_back(v.field);
  return fields;
}

absl::Status Check(const v1::FinancialHistory& h,
                   const v1::AnalysisOptions& o = {}) {
  return PrepareHistory(h, o).status();
}

TEST(PrepareHistoryTest, SortsValidHistoryAndKeepsOptions) {
  v1::FinancialHistory h = Months({"2024-03", "2024-01", "2024-02"});
  h.mutable_periods(0)->set_revenue(3);
  h.mutable_periods(1)->set_revenue(1);
  h.mutable_periods(2)->set_revenue(2);
  v1::AnalysisOptions o;
  o.set_forecast_horizon_months(24);
  absl::StatusOr<AnalysisInput> in = PrepareHistory(h, o);
  ASSERT_TRUE(in.ok()) << in.status();
  ASSERT_THAT(in->periods, SizeIs(3));
  EXPECT_EQ(in->periods[0].month(), "2024-01");
  EXPECT_EQ(in->periods[1].month(), "2024-02");
  EXPECT_EQ(in->periods[2].month(), "2024-03");
  EXPECT_EQ(in->periods[2].revenue(), 3);
  EXPECT_EQ(in->options.forecast_horizon_months(), 24);
}

TEST(PrepareHistoryTest, AcceptsYearBoundaryAndNegativeEquity) {
  v1::FinancialHistory h = Months({"2023-12", "2024-01"});
  h.mutable_periods(0)->set_retained_earnings(-5000);
  h.mutable_periods(0)->set_equity(-100);
  EXPECT_TRUE(Check(h).ok());
}

TEST(PrepareHistoryTest, RejectsMalformedMonths) {
  const std::vector<std::string> bad = {
      "2024-13", "24-01",   "",        "2024-00", "2024-1",
      "2024/01", "1899-12", "2201-01", "abcd-ef", "2024-011"};
  for (const std::string& month : bad) {
    v1::FinancialHistory h = Months({"2024-01", month});
    absl::Status s = Check(h);
    EXPECT_THAT(Fields(s), Contains("history.periods[1].month"))
        << "month \"" << month << "\": " << s;
  }
  EXPECT_TRUE(Check(Months({"1900-01"})).ok());
  EXPECT_TRUE(Check(Months({"2200-12"})).ok());
}

TEST(PrepareHistoryTest, RejectsDuplicateMonths) {
  absl::Status s = Check(Months({"2024-01", "2024-02", "2024-01"}));
  std::vector<Violation> v = Violations(s);
  ASSERT_THAT(v, SizeIs(1));
  EXPECT_EQ(v[0].field, "history.periods[2].month");
  EXPECT_THAT(v[0].description,
              AllOf(HasSubstr("duplicate"), HasSubstr("history.periods[0]")));
}

TEST(PrepareHistoryTest, RejectsGapsNamingTheMissingMonths) {
  absl::Status s = Check(Months({"2024-01", "2024-02", "2024-04", "2024-08"}));
  std::vector<Violation> v = Violations(s);
  ASSERT_THAT(v, SizeIs(2));
  EXPECT_EQ(v[0].field, "history.periods");
  EXPECT_THAT(v[0].description, HasSubstr("month 2024-03"));
  EXPECT_THAT(v[1].description, HasSubstr("2024-05 to 2024-07"));
  // The top-level message names the first problem.
  EXPECT_THAT(std::string(s.message()), HasSubstr("2024-03"));
}

TEST(PrepareHistoryTest, RejectsNonFiniteNumbers) {
  v1::FinancialHistory h = Contiguous(3);
  h.mutable_periods(1)->set_revenue(std::nan(""));
  h.mutable_periods(2)->set_cash(std::numeric_limits<double>::infinity());
  h.mutable_periods(0)->set_equity(-std::numeric_limits<double>::infinity());
  EXPECT_THAT(Fields(Check(h)),
              ::testing::UnorderedElementsAre("history.periods[1].revenue",
                                              "history.periods[2].cash",
                                              "history.periods[0].equity"));
}

TEST(PrepareHistoryTest, RejectsNegativeAmountsAndCounts) {
  v1::FinancialHistory h = Contiguous(2);
  h.mutable_periods(0)->set_revenue(-1);
  h.mutable_periods(1)->set_total_debt(-5);
  h.mutable_periods(1)->set_accounts_receivable(-0.5);
  h.mutable_periods(1)->set_churned_customers(-2);
  h.mutable_periods(1)->set_retained_earnings(-100);  // allowed
  EXPECT_THAT(Fields(Check(h)),
              ::testing::UnorderedElementsAre(
                  "history.periods[0].revenue", "history.periods[1].total_debt",
                  "history.periods[1].accounts_receivable",
                  "history.periods[1].churned_customers"));
}

TEST(PrepareHistoryTest, RejectsEmptyAndTooLongHistories) {
  EXPECT_THAT(Fields(Check(v1::FinancialHistory())),
              ::testing::ElementsAre("history.periods"));
  EXPECT_TRUE(Check(Contiguous(600)).ok());
  EXPECT_THAT(Fields(Check(Contiguous(601))),
              ::testing::ElementsAre("history.periods"));
}

TEST(PrepareHistoryTest, ValidatesOptions) {
  const v1::FinancialHistory h = Contiguous(3);
  v1::AnalysisOptions o;
  for (int bad : {-1, 37}) {
    o.set_forecast_horizon_months(bad);
    EXPECT_THAT(Fields(Check(h, o)),
                ::testing::ElementsAre("options.forecast_horizon_months"));
  }
  for (int good : {0, 1, 36}) {
    o.set_forecast_horizon_months(good);
    EXPECT_TRUE(Check(h, o).ok()) << good;
  }
  o = {};
  for (double bad : {-0.1, 1.5, std::nan("")}) {
    o.set_discount_rate(bad);
    EXPECT_THAT(Fields(Check(h, o)),
                ::testing::ElementsAre("options.discount_rate"));
  }
  o.set_discount_rate(1.0);
  EXPECT_TRUE(Check(h, o).ok());
  o = {};
  for (double bad : {-0.06, 0.11}) {
    o.set_terminal_growth_rate(bad);
    EXPECT_THAT(Fields(Check(h, o)),
                ::testing::ElementsAre("options.terminal_growth_rate"));
  }
  o.set_terminal_growth_rate(0.10);
  EXPECT_TRUE(Check(h, o).ok());  // default r = 0.25 > 0.10
  o.set_discount_rate(0.08);
  EXPECT_THAT(Fields(Check(h, o)),
              ::testing::ElementsAre("options.discount_rate"));
  o.set_terminal_growth_rate(0);  // default g = 0.03 < 0.08
  EXPECT_TRUE(Check(h, o).ok());
}

TEST(PrepareHistoryTest, ReportsAllViolationsAtOnce) {
  v1::FinancialHistory h = Months({"2024-01", "2024-13", "2024-01"});
  h.mutable_periods(0)->set_revenue(-1);
  v1::AnalysisOptions o;
  o.set_forecast_horizon_months(99);
  absl::Status s = Check(h, o);
  EXPECT_THAT(
      Fields(s),
      ::testing::UnorderedElementsAre(
          "history.periods[0].revenue", "history.periods[1].month",
          "history.periods[2].month", "options.forecast_horizon_months"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("and 3 more"));
}

TEST(PrepareHistoryTest, EffectiveOptionsApplyDefaults) {
  v1::AnalysisOptions o;
  EXPECT_EQ(EffectiveHorizonMonths(o), kDefaultForecastHorizonMonths);
  EXPECT_DOUBLE_EQ(EffectiveDiscountRate(o), 0.25);
  EXPECT_DOUBLE_EQ(EffectiveTerminalGrowthRate(o), 0.03);
  o.set_forecast_horizon_months(7);
  o.set_discount_rate(0.3);
  o.set_terminal_growth_rate(-0.01);
  EXPECT_EQ(EffectiveHorizonMonths(o), 7);
  EXPECT_DOUBLE_EQ(EffectiveDiscountRate(o), 0.3);
  EXPECT_DOUBLE_EQ(EffectiveTerminalGrowthRate(o), -0.01);
}

TEST(RequireMonthsTest, RejectsShortHistoriesOnThePeriodsField) {
  EXPECT_TRUE(RequireMonths(6, kMinValuationMonths, "valuation").ok());
  absl::Status s = RequireMonths(5, kMinValuationMonths, "valuation");
  EXPECT_THAT(Fields(s), ::testing::ElementsAre("history.periods"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("at least 6"));
  EXPECT_EQ(kMinHealthMonths, 3);
  EXPECT_EQ(kMinForecastMonths, 6);
}

TEST(MonthArithmeticTest, AddsAcrossYears) {
  EXPECT_EQ(*AddMonths("2024-11", 3), "2025-02");
  EXPECT_EQ(*AddMonths("2024-01", -1), "2023-12");
  EXPECT_EQ(*AddMonths("1960-12", 36), "1963-12");
  EXPECT_EQ(AddMonths("2024-13", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseMonthIndex("2000-01"), 24000);
  EXPECT_EQ(FormatMonthIndex(24011), "2000-12");
}

TEST(TtmTest, SumsAndAnnualises) {
  std::vector<double> v(18, 1.0);
  for (int i = 12; i < 18; ++i) v[i] = 2;
  bool annualised = true;
  EXPECT_DOUBLE_EQ(TtmSum(v, &annualised), 6 * 1 + 6 * 2);
  EXPECT_FALSE(annualised);
  EXPECT_DOUBLE_EQ(TtmSum({1, 2, 3}, &annualised), 6 * 4);
  EXPECT_TRUE(annualised);
  EXPECT_DOUBLE_EQ(PiecewiseLinear(17, {{7, 0}, {27, 50}, {90, 100}}), 25);
  EXPECT_DOUBLE_EQ(PiecewiseLinear(3, {{7, 0}, {27, 50}}), 0);
  EXPECT_DOUBLE_EQ(PiecewiseLinear(2.0, {{1, 100}, {3, 60}}), 80);
  EXPECT_DOUBLE_EQ(SafeDiv(1, 0, -7), -7);
}

TEST(TtmTest, RecentGrowthUsesYearOverYearWith24Months) {
  std::vector<double> v(24, 100);
  for (int i = 12; i < 24; ++i) v[i] = 110;
  std::optional<Growth> g = RecentGrowth(v);
  ASSERT_TRUE(g.has_value());
  EXPECT_TRUE(g->year_over_year);
  EXPECT_NEAR(g->rate, 0.10, 1e-12);
  std::optional<Growth> half = RecentGrowth({100, 100, 100, 121, 121, 121});
  ASSERT_TRUE(half.has_value());
  EXPECT_FALSE(half->year_over_year);
  EXPECT_EQ(half->window_months, 3);
  EXPECT_NEAR(half->rate, 0.21, 1e-12);
  EXPECT_FALSE(RecentGrowth({0, 0, 5, 5}).has_value());
}

}  // namespace
}  // namespace goodbuy::analysis
